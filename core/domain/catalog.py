"""An org's scheduling configuration as one immutable value: settings, providers, services, hours.

Phase 1 and availability read it on every call, so processes keep it cached (`CatalogCache` in
`core.services.scheduling`) instead of asking Postgres for it each time. `version` is the org's
`config_version`, which the database bumps on every change to what is here; the booking
statement refuses a stale version, and the cache then reloads. A request the cached
configuration would refuse (a provider it does not know) checks the version before it is
refused (`CatalogCache.resolve`).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from core.domain.availability import OpeningHours, SchedulingRules
from core.domain.language import N_, quoting_input
from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: UUID
    name: str
    calendar_id: str


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    id: UUID
    name: str
    duration: timedelta
    buffer: timedelta


_Named = TypeVar("_Named", ProviderInfo, ServiceInfo)


@dataclass(frozen=True, slots=True)
class Offering:
    """A provider's service in an org, and the rules a booking of it follows."""

    provider: ProviderInfo
    service: ServiceInfo
    rules: SchedulingRules


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgCatalog:
    """Providers and services are in the org's order: the first is the default."""

    org_id: UUID
    slug: str
    name: str
    time_zone: ZoneInfo
    default_region: str
    # BCP 47 (core.domain.language): the locale answers are phrased in.
    locale: str
    slot_step: timedelta
    min_notice: timedelta
    horizon: timedelta
    version: int
    providers: tuple[ProviderInfo, ...]
    services: tuple[ServiceInfo, ...]
    hours: tuple[OpeningHours, ...]

    def provider(self, name: str | None) -> ProviderInfo:
        """The provider named (case-insensitive, or by id), else the first; InvalidInput."""
        return _named(self.providers, name, kind="provider")

    def service(self, name: str | None) -> ServiceInfo:
        """The service named (case-insensitive, or by id), else the first; InvalidInput."""
        return _named(self.services, name, kind="service")

    def provider_by_id(self, provider_id: UUID) -> ProviderInfo:
        return _by_id(self.providers, provider_id, kind="provider")

    def service_by_id(self, service_id: UUID) -> ServiceInfo:
        return _by_id(self.services, service_id, kind="service")

    def offering(self, provider: str | None, service: str | None) -> Offering:
        """What a caller asks for by name (None: the first); InvalidInput for an unknown one."""
        return self._offering(self.provider(provider), self.service(service))

    def booked_offering(self, provider_id: UUID, service_id: UUID) -> Offering:
        """What an existing booking is for; InvalidInput when the org no longer has it."""
        return self._offering(self.provider_by_id(provider_id), self.service_by_id(service_id))

    def _offering(self, provider: ProviderInfo, service: ServiceInfo) -> Offering:
        return Offering(provider, service, self.rules(service))

    def rules(self, service: ServiceInfo) -> SchedulingRules:
        """How `service` may be booked in this org."""
        return SchedulingRules(
            tz=self.time_zone,
            opening_hours=self.hours,
            duration=service.duration,
            buffer=service.buffer,
            step=self.slot_step,
            min_notice=self.min_notice,
            horizon=self.horizon,
        )


# Refusals by kind ("service" or "provider"), as message ids.
_GONE = {
    "service": N_("Sorry, that service no longer exists."),
    "provider": N_("Sorry, that provider no longer exists."),
}
_UNKNOWN = {
    "service": N_("Sorry, there is no service called {name}."),
    "provider": N_("Sorry, there is no provider called {name}."),
}
_NONE_SET_UP = {
    "service": N_("Sorry, no service is set up."),
    "provider": N_("Sorry, no provider is set up."),
}


def _by_id(items: tuple[_Named, ...], item_id: UUID, *, kind: str) -> _Named:
    found = next((i for i in items if i.id == item_id), None)
    if found is None:
        raise InvalidInput(_GONE[kind], field=kind)
    return found


def _named(items: tuple[_Named, ...], name: str | None, *, kind: str) -> _Named:
    if name is None:
        found = items[0] if items else None
    else:
        wanted = name.lower()
        found = next((i for i in items if i.name.lower() == wanted or str(i.id) == name), None)
    if found is None and name:
        # The caller's name for it is quoted as said; the sentence is in the caller's locale.
        raise quoting_input(InvalidInput, _UNKNOWN[kind], kind, name=lambda _: name)
    if found is None:
        raise InvalidInput(_NONE_SET_UP[kind], field=kind)
    return found
