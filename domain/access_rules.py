"""The record of the access rules in force: configuration switches that change decisions."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.events import Created, Event
from domain.values import AccessRules, PushPolicy

ACCESS_RULES_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/access-rules")


class AccessRulesRecord(Aggregate):
    """A singleton whose events say when the push policy or delete switches changed."""

    class Recorded(Created):
        push_policy: str
        delete_enabled: bool
        delete_contributors: bool

        def apply(self, record: AccessRulesRecord) -> None:
            record.rules = rules_of(self)

    class Changed(Event):
        push_policy: str
        delete_enabled: bool
        delete_contributors: bool

        def apply(self, record: AccessRulesRecord) -> None:
            record.rules = rules_of(self)

    def __init__(self) -> None:
        self.rules = AccessRules()

    @classmethod
    def record(cls, rules: AccessRules) -> AccessRulesRecord:
        return cls._create(cls.Recorded, id=ACCESS_RULES_ID, **_fields(rules))

    def change(self, rules: AccessRules) -> None:
        if rules != self.rules:
            self.trigger_event(self.Changed, **_fields(rules))


def rules_of(event: AccessRulesRecord.Recorded | AccessRulesRecord.Changed) -> AccessRules:
    return AccessRules(PushPolicy(event.push_policy), event.delete_enabled,
                       event.delete_contributors)


def _fields(rules: AccessRules) -> dict[str, object]:
    return {"push_policy": rules.push_policy.value, "delete_enabled": rules.delete_enabled,
            "delete_contributors": rules.delete_contributors}
