"""Stored rows of one fact class built straight from its field values, for hot paths.

The application's mapper turns a fact into its row by building the event object, copying its
`__dict__` and running the JSON transcoder, whose per-object callback handles datetimes: about
30 µs per decision record on the token endpoint's event loop (issue 8's profile). `FactRows`
builds the same row from the field values with one C-level JSON encoding, and checks once, when
made, that its bytes equal the mapper's for a sample fact. If they differ (a compressor or a
cipher configured, another transcoder, a library upgrade that changes the format) it says so in
`fast` and falls back to the mapper, so what is stored never depends on which path wrote it:
every reader (projections, Merkle tree, bundles, time travel) decodes it with the mapper as
before.

`FactRows.template` goes one step further for facts written over and over with mostly the same
values (a token decision repeated for the same user, service and scopes): the fixed fields are
encoded once, and each row encodes only the fields that vary (a few C-level string escapes),
around 3 µs per decision record instead of 9 µs on the token endpoint's event loop. The bytes
are the same as `row`'s.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.utils import get_topic

from domain.facts import Fact
from domain.ids import time_ordered_id

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Fact)

_ENVELOPE = ("originator_id", "originator_version")


class FactRows(Generic[F]):
    """Rows of `fact_class` for `app`'s log. Values must be JSON primitives (str, int, lists,
    dicts of them) or, at the top level, a type the transcoder knows (datetime, UUID)."""

    def __init__(self, app: Application[UUID], fact_class: type[F], sample: F) -> None:
        self._class = fact_class
        self._mapper = app.mapper
        self.topic = get_topic(fact_class)
        self._names = tuple(f.name for f in fields(fact_class) if f.name not in _ENVELOPE)
        transcoder = app.mapper.transcoder
        self._wrappers: dict[type, Callable[[Any], dict[str, Any]]] = {}
        if isinstance(transcoder, JSONTranscoder):
            for kind, transcoding in transcoder.types.items():
                self._wrappers[kind] = _wrapper(transcoding.name, transcoding.encode)
        # The mapper's own settings (JSONTranscoder: compact, not ASCII-escaped).
        self._encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        self._prefixes: dict[type, tuple[str, Callable[[Any], Any]]] = {}
        if isinstance(transcoder, JSONTranscoder):
            for kind, transcoding in transcoder.types.items():
                self._prefixes[kind] = (
                    f'{{"_type_":{self._encode(transcoding.name)},"_data_":', transcoding.encode)
        self.fast = False
        """True when rows are built here; False when they go through the mapper."""
        values = {name: getattr(sample, name) for name in self._names}
        expected = app.mapper.to_stored_event(sample)
        try:
            built = self._build(sample.originator_id, values)
        except (TypeError, ValueError) as e:
            built = None
            log.warning("fast rows for %s disabled: %s", self.topic, e)
        if built is not None and built.state == expected.state and built.topic == expected.topic:
            self.fast = True
        elif built is not None:
            log.warning("fast rows for %s disabled: they differ from the mapper's", self.topic)

    def row(self, *, fact_id: UUID | None = None, timestamp: datetime | None = None,
            **values: Any) -> StoredEvent:
        """The stored row of a new fact, with `fact_id` or a fresh id (`Fact.new`'s
        defaults)."""
        values["timestamp"] = timestamp or datetime.now(UTC)
        if not self.fast:
            fact = self._class.new(fact_id=fact_id, **values)
            return self._mapper.to_stored_event(fact)
        if len(values) != len(self._names):
            missing = set(self._names) - set(values)
            raise TypeError(f"{self._class.__name__} needs {sorted(missing or values)}")
        return self._build(fact_id or time_ordered_id(), values)

    def template(self, **fixed: Any) -> RowTemplate[F]:
        """Rows whose fields in `fixed` always have these values: they are encoded once here.
        Keep a template as long as its values hold (e.g. with a memoized decision)."""
        return RowTemplate(self, fixed)

    def encode_value(self, value: Any) -> str:
        """The JSON text of one field's value, as it appears in a row's state."""
        if type(value) is str:
            return encode_basestring(value)
        prefix = self._prefixes.get(type(value))
        if prefix is None:
            return self._encode(value)
        return f"{prefix[0]}{self.encode_value(prefix[1](value))}}}"

    def _build(self, fact_id: UUID, values: dict[str, Any]) -> StoredEvent:
        wrappers = self._wrappers
        state = {}
        for name in self._names:
            value = values[name]
            wrap = wrappers.get(type(value))
            state[name] = value if wrap is None else wrap(value)
        return StoredEvent(originator_id=fact_id, originator_version=1, topic=self.topic,
                           state=self._encode(state).encode("utf8"))


class RowTemplate(Generic[F]):
    """Rows of one fact class with some fields fixed (FactRows.template): the state's JSON text
    is the fixed fields' text, encoded once, with each varying field's value encoded between.
    Falls back to `FactRows.row` when the rows do not take the fast path."""

    __slots__ = ("_chunks", "_fixed", "_last", "_names", "_rows", "_tail")

    def __init__(self, rows: FactRows[F], fixed: dict[str, Any]) -> None:
        unknown = set(fixed) - set(rows._names) - {"timestamp"}
        if unknown or "timestamp" in fixed:
            raise TypeError(f"{rows._class.__name__} has no fixed field {sorted(unknown)}"
                            if unknown else "the timestamp is never fixed")
        self._rows = rows
        self._fixed = dict(fixed)
        # ("text before the value", field name) per varying field, in the state's order.
        chunks: list[tuple[str, str]] = []
        text = "{"
        for name in rows._names:
            key = f"{',' if text != '{' else ''}{encode_basestring(name)}:"
            if name in fixed:
                text += key + rows.encode_value(fixed[name])
            else:
                chunks.append((text + key, name))
                text = ""
        self._chunks = tuple(chunks)
        self._last: list[tuple[object, str]] = [(None, "null")] * len(chunks)
        """Each varying field's last non-string value and its text: a value that repeats as
        the same object (a token's expiry, the same for a second) is encoded once."""
        self._names = frozenset(name for _, name in chunks) - {"timestamp"}
        self._tail = text + "}"

    def row(self, *, fact_id: UUID | None = None, timestamp: datetime | None = None,
            **values: Any) -> StoredEvent:
        """The stored row of a new fact with the template's fixed values and these."""
        rows = self._rows
        if not rows.fast:
            return rows.row(fact_id=fact_id, timestamp=timestamp, **self._fixed, **values)
        if values.keys() != self._names:
            raise TypeError(f"{rows._class.__name__} needs {sorted(self._names)}, "
                            f"not {sorted(values)}")
        values["timestamp"] = timestamp or datetime.now(UTC)
        encode, last = rows.encode_value, self._last
        parts: list[str] = []
        for i, (text, name) in enumerate(self._chunks):
            value = values[name]
            seen = last[i]
            if seen[0] is value:
                parts += (text, seen[1])
                continue
            encoded = encode(value)
            if type(value) is not str:
                last[i] = (value, encoded)  # one assignment: safe between threads
            parts += (text, encoded)
        parts.append(self._tail)
        return StoredEvent(originator_id=fact_id or time_ordered_id(), originator_version=1,
                           topic=rows.topic, state="".join(parts).encode("utf8"))


def _wrapper(name: str, encode: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    # The JSONTranscoder's envelope for a registered type (eventsourcing.persistence).
    return lambda value: {"_type_": name, "_data_": encode(value)}
