"""Gathers what the availability engine needs from Postgres alone, and asks it.

A provider is busy when Postgres holds a held or confirmed booking for it (the exclusion
constraint's view) or a busy block synced from its Google calendar (time the clinic blocked
outside this system; see `workflows.calendar_sync`). No vendor is called here: answering a
caller costs one Postgres round trip, however slow Google is.

An org's configuration (`core.domain.catalog.OrgCatalog`) is read through `CatalogCache`;
every query that depends on it also reads the org's configuration version, and a changed
version reloads the cache before the answer is given.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from uuid import UUID

import asyncpg

from core.domain import messages
from core.domain.availability import (
    Interval,
    Reason,
    SchedulingRules,
    check_start,
    free_starts_on,
    next_free_starts,
    next_open_day,
)
from core.domain.catalog import Offering, OrgCatalog, ProviderInfo, ServiceInfo
from core.domain.language import DEFAULT_LOCALE
from core.domain.normalize import ParsedTime, parse_start
from core.errors import InvalidInput, SlotUnavailable, TimeInPast
from core.repositories import catalog as catalog_repo
from core.repositories import reservations

_Read = TypeVar("_Read")
# How far ahead free times are searched; beyond this a caller is better served by a human.
SEARCH_WINDOW = timedelta(days=31)
REFUSALS: dict[Reason, str] = {
    "past": messages.N_("That time has already passed."),
    "too_soon": messages.N_("That time is too soon to book."),
    "beyond_horizon": messages.N_("That date is too far ahead to book."),
    "outside_hours": messages.N_("We are not open then."),
    "busy": messages.N_("That time is already taken."),
}


class CatalogCache:
    """Each org's configuration, read once per process and again when its version changes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._catalogs: dict[UUID, OrgCatalog] = {}
        self._loading: dict[UUID, asyncio.Lock] = {}

    async def get(self, org_id: UUID) -> OrgCatalog:
        """The cached configuration, loaded on first use; NotFound for an unknown org."""
        cached = self._catalogs.get(org_id)
        return cached if cached is not None else await self.refresh(org_id, stale=None)

    async def resolve(
        self, org_id: UUID, read: Callable[[OrgCatalog], _Read]
    ) -> tuple[OrgCatalog, _Read]:
        """`read` applied to the org's configuration, and the configuration it was applied to.

        When `read` refuses the request (InvalidInput: no provider or service by that name, a
        date past the horizon), the cached configuration may simply predate the change that
        makes it valid, made a moment ago by another process: one short read of the version
        says, and a changed configuration is reloaded and read again. Requests the cache
        accepts cost nothing more; the statements they run check the version themselves.
        """
        catalog = await self.get(org_id)
        try:
            return catalog, read(catalog)
        except InvalidInput:
            current = await catalog_repo.version(self._pool, org_id=org_id)
            if current == catalog.version:
                raise
        catalog = await self.refresh(org_id, stale=catalog)
        return catalog, read(catalog)

    async def refresh(self, org_id: UUID, *, stale: OrgCatalog | None) -> OrgCatalog:
        """Reload, unless another task already replaced `stale` (one load per change)."""
        lock = self._loading.setdefault(org_id, asyncio.Lock())
        async with lock:
            cached = self._catalogs.get(org_id)
            if cached is not None and cached is not stale:
                return cached
            loaded = await catalog_repo.load(self._pool, org_id=org_id)
            self._catalogs[org_id] = loaded
            return loaded


@dataclass(frozen=True, slots=True)
class Refusal:
    """A start that cannot be booked: why, in the caller's words, and where alternatives
    begin. The rules refuse some before any row is read; Postgres refuses a taken one."""

    reason: str
    after: datetime
    # The reason in a locale when it quotes the input (a past start), else None: `reason` is an id.
    in_locale: Callable[[str], str] | None = field(default=None, compare=False)

    @classmethod
    def taken(cls, at: datetime) -> "Refusal":
        """`at` is occupied, by a booking or a calendar busy block."""
        return cls(REFUSALS["busy"], at)


def check_requested_start(
    raw_start: str, rules: SchedulingRules, now: datetime
) -> ParsedTime | Refusal:
    """The caller's start if the org's rules allow it (hours, notice, horizon), else a Refusal.

    InvalidInput for a start that cannot be read. Whether the time is free is for Postgres to
    say when the row is written (the exclusion constraint and the calendar's busy blocks).
    """
    try:
        start = parse_start(raw_start, tz=rules.tz, now=now)
    except TimeInPast as past:
        return Refusal(past.message, now, past.in_locale)
    code = check_start(start.at, rules, [], now)
    if code is not None:
        return Refusal(REFUSALS[code], start.at)
    return start


def search_window(
    after: datetime, rules: SchedulingRules, now: datetime
) -> tuple[datetime, Interval]:
    """Where to look for the next free starts at or after `after` (or now, if later), and the
    window of busy time that search needs.

    An `after` beyond the booking horizon (year 9999, say) searches from now instead: nothing
    past the horizon can be offered, and the window arithmetic must not overflow.
    """
    start = max(after, now)
    if start > now + rules.horizon:
        start = now
    return start, (start - timedelta(days=1), start + SEARCH_WINDOW)


def alternatives_in(
    busy: list[Interval],
    rules: SchedulingRules,
    *,
    after: datetime,
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The next `count` free starts given the busy time read for `search_window(after)`."""
    start, (_, window_end) = search_window(after, rules, now)
    found = next_free_starts(start, rules, busy, now, count=count)
    # Past the window the busy list says nothing, so a start there is not known to be free.
    return [at for at in found if at < window_end]


async def busy_for(
    conn: asyncpg.Connection | asyncpg.Pool,
    catalogs: CatalogCache,
    catalog: OrgCatalog,
    provider: ProviderInfo,
    window: Interval,
) -> tuple[list[Interval], datetime | None, bool]:
    """(busy ranges, the calendar's last sync, whether `catalog` is still current)."""
    found = await reservations.busy_time(
        conn, org_id=catalog.org_id, provider_id=provider.id, window=window
    )
    if found.config_version != catalog.version:
        await catalogs.refresh(catalog.org_id, stale=catalog)
        return found.busy, found.calendar_synced_at, False
    return found.busy, found.calendar_synced_at, True


def unavailable(
    refusal: Refusal,
    busy: list[Interval],
    rules: SchedulingRules,
    *,
    now: datetime,
    locale: str = DEFAULT_LOCALE,
) -> SlotUnavailable:
    """What a caller hears about a refused start: the reason and the next free starts, given
    the busy time read for `search_window(refusal.after)`."""
    options = alternatives_in(busy, rules, after=refusal.after, now=now)
    reason = refusal.in_locale(locale) if refusal.in_locale else refusal.reason
    message = messages.unavailable(reason=reason, alternatives=options, tz=rules.tz, locale=locale)
    return SlotUnavailable(message, alternatives=options)


async def unavailable_after(
    conn: asyncpg.Connection | asyncpg.Pool,
    catalogs: CatalogCache,
    catalog: OrgCatalog,
    offering: Offering,
    refusal: Refusal,
    *,
    now: datetime,
    locale: str | None = None,
) -> SlotUnavailable | None:
    """`unavailable`, from one read of the provider's busy time, said in `locale` (default: the
    org's); None when `catalog` turned out stale (the cache is reloaded: decide again with it)."""
    _, window = search_window(refusal.after, offering.rules, now)
    busy, _, current = await busy_for(conn, catalogs, catalog, offering.provider, window)
    if not current:
        return None
    return unavailable(refusal, busy, offering.rules, now=now, locale=locale or catalog.locale)


@dataclass(frozen=True, slots=True)
class DayAvailability:
    """Free starts (UTC) on the asked day and, if there are none, on the next day with some.

    `calendar_synced_at` is when the provider's Google calendar last synced (None: never), so
    a reader knows how fresh the calendar's busy times in this answer are.
    """

    day: date
    starts: list[datetime]
    next_day: date | None
    next_starts: list[datetime]
    calendar_synced_at: datetime | None


async def day_availability(
    conn: asyncpg.Connection | asyncpg.Pool,
    catalogs: CatalogCache,
    *,
    org_id: UUID,
    provider_name: str | None,
    service_name: str | None,
    day: date,
    now: datetime,
) -> tuple[ProviderInfo, ServiceInfo, SchedulingRules, DayAvailability]:
    """Free starts on local `day`; when there are none, the next day within the window that has.

    InvalidInput for an unknown provider or service, or a day past the booking horizon.
    """

    def choose(catalog: OrgCatalog) -> Offering:
        offering = catalog.offering(provider_name, service_name)
        rules = offering.rules
        if datetime.combine(day, time(), tzinfo=rules.tz) > now + rules.horizon:
            raise InvalidInput(
                f"That date is too far ahead; bookings open {rules.horizon.days} days ahead.",
                field="date",
            )
        return offering

    while True:
        catalog, offering = await catalogs.resolve(org_id, choose)
        rules = offering.rules
        day_start = datetime.combine(day, time(), tzinfo=rules.tz)
        latest = now + rules.horizon
        window_end = min(day_start + SEARCH_WINDOW, latest + timedelta(days=1))
        window = (day_start - timedelta(days=1), window_end)
        busy, synced_at, current = await busy_for(
            conn, catalogs, catalog, offering.provider, window
        )
        if current:
            break
    starts = free_starts_on(day, rules, busy, now)
    next_day: date | None = None
    next_starts: list[datetime] = []
    if not starts:
        found = next_open_day(day, rules, busy, now)
        if found is not None and found[1][0] < window_end:
            next_day = found[0]
            next_starts = [at for at in found[1] if at < window_end]
    availability = DayAvailability(day, starts, next_day, next_starts, synced_at)
    return offering.provider, offering.service, rules, availability
