"""What every in-memory read model is: a fold that applies logged events in log order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from eventstore.reader import LoggedEvent


class Fold(Protocol):
    def apply(self, logged: LoggedEvent) -> None: ...


def fan_out(folds: Sequence[Fold]) -> Callable[[LoggedEvent], None]:
    """One `apply` feeding every fold, so one follower keeps them all current."""
    applies = [fold.apply for fold in folds]

    def apply(logged: LoggedEvent) -> None:
        for each in applies:
            each(logged)

    return apply
