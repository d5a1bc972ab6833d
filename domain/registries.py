"""The Registry aggregate: the one Docker Distribution registry Wharfinger authorizes for."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import Aggregate

from domain.events import Created, Event

REGISTRY_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/registry")
"""One registry per installation (Portus F17): a second registration fails on this id."""

ADMINS_TEAM_ID = uuid5(NAMESPACE_URL, "https://wharfinger.dev/ids/admins-team")
GLOBAL_NAMESPACE_NAME = "portus_global_namespace_1"
"""Portus's name for the global namespace, kept so API clients see the same names."""
ADMINS_TEAM_NAME = "portus_global_team_1"


class Registry(Aggregate):
    class Registered(Created):
        name: str
        hostname: str
        external_hostname: str
        use_ssl: bool

        def apply(self, registry: Registry) -> None:
            registry.name, registry.hostname = self.name, self.hostname
            registry.external_hostname, registry.use_ssl = self.external_hostname, self.use_ssl

    class Updated(Event):
        name: str
        hostname: str
        external_hostname: str
        use_ssl: bool

        def apply(self, registry: Registry) -> None:
            registry.name, registry.hostname = self.name, self.hostname
            registry.external_hostname, registry.use_ssl = self.external_hostname, self.use_ssl

    class NamespacePopulated(Event):
        """A namespace got its first repository holding tags: the registry is not empty."""

        namespace_id: str

        def apply(self, registry: Registry) -> None:
            if self.namespace_id not in registry.populated:
                registry.populated.append(self.namespace_id)

    class NamespaceEmptied(Event):
        namespace_id: str

        def apply(self, registry: Registry) -> None:
            if self.namespace_id in registry.populated:
                registry.populated.remove(self.namespace_id)

    def __init__(self) -> None:
        self.name = ""
        self.hostname = ""
        self.external_hostname = ""
        self.use_ssl = False
        self.populated: list[str] = []
        """Ids of the namespaces holding repositories. Recorded here, in the push's save, so a
        hostname change racing with the first push conflicts on this aggregate (F17)."""

    def namespace_populated(self, namespace_id: str) -> None:
        if namespace_id not in self.populated:
            self.trigger_event(self.NamespacePopulated, namespace_id=namespace_id)

    def namespace_emptied(self, namespace_id: str) -> None:
        if namespace_id in self.populated:
            self.trigger_event(self.NamespaceEmptied, namespace_id=namespace_id)

    @classmethod
    def register(cls, *, name: str, hostname: str, external_hostname: str,
                 use_ssl: bool) -> Registry:
        return cls._create(cls.Registered, id=REGISTRY_ID, name=name, hostname=hostname,
                           external_hostname=external_hostname, use_ssl=use_ssl)

    def update(self, *, name: str, hostname: str, external_hostname: str, use_ssl: bool) -> None:
        if (name, hostname, external_hostname, use_ssl) != (
                self.name, self.hostname, self.external_hostname, self.use_ssl):
            self.trigger_event(self.Updated, name=name, hostname=hostname,
                               external_hostname=external_hostname, use_ssl=use_ssl)
