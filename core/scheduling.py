"""Reads what the availability engine needs (Postgres bookings, Google busy times) and asks it.

The engine in `core.availability` is pure; this module gathers its inputs. A provider is busy
when Postgres holds a held or confirmed booking for it (the exclusion constraint's view) or when
its Google calendar says so (`freeBusy`: time the clinic blocked outside this system). Google
is advisory: if it cannot answer within `calendar_timeout`, availability falls back to Postgres
alone and says so in the log, because the exclusion constraint, not the calendar, is what
prevents double booking.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

import asyncpg

from core import messages
from core.availability import (
    Interval,
    OpeningHours,
    SchedulingRules,
    check_start,
    free_starts_on,
    next_free_starts,
    next_open_day,
    occupied_range,
)
from core.calendar import CalendarClient
from core.errors import ExternalServiceError, InvalidInput, NotFound, SlotUnavailable, TimeInPast
from core.normalize import ParsedTime, ensure_timezone, parse_start
from core.repositories import bookings as booking_repo
from core.repositories import orgs as org_repo

log = logging.getLogger(__name__)

# How far ahead free times are searched; beyond this a caller is better served by a human.
SEARCH_WINDOW = timedelta(days=31)
REFUSALS = {
    "past": "That time has already passed.",
    "too_soon": "That time is too soon to book.",
    "beyond_horizon": "That date is too far ahead to book.",
    "outside_hours": "We are not open then.",
    "busy": "That time is already taken.",
}
DEFAULT_CALENDAR_TIMEOUT = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Provider:
    """The provider whose time is asked about: its row id and its Google calendar."""

    id: UUID
    calendar_id: str | None


@dataclass(frozen=True, slots=True)
class DayAvailability:
    """Free starts (UTC) on the asked day and, if there are none, on the next day with some."""

    day: date
    starts: list[datetime]
    next_day: date | None
    next_starts: list[datetime]
    calendar_checked: bool


class BusyTimes:
    """Busy intervals of a provider from Postgres and, when it has a calendar, Google."""

    def __init__(
        self,
        calendar: CalendarClient | None,
        *,
        calendar_timeout: timedelta = DEFAULT_CALENDAR_TIMEOUT,
    ) -> None:
        self._calendar = calendar
        self._timeout = calendar_timeout.total_seconds()

    async def between(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        *,
        org_id: UUID,
        provider: Provider,
        time_from: datetime,
        time_to: datetime,
    ) -> tuple[list[Interval], bool]:
        """(busy intervals, whether Google answered) within [time_from, time_to)."""
        # Postgres and Google answer independently: ask both at once.
        booked, blocked = await asyncio.gather(
            booking_repo.busy_ranges(
                conn, org_id=org_id, provider_id=provider.id, time_from=time_from, time_to=time_to
            ),
            self.calendar_busy(provider, time_from=time_from, time_to=time_to),
        )
        if blocked is None:
            return list(booked), False
        return [*booked, *blocked], True

    async def calendar_busy(
        self, provider: Provider, *, time_from: datetime, time_to: datetime
    ) -> list[Interval] | None:
        """Google's busy times for the provider's calendar; None when not known."""
        if self._calendar is None or not provider.calendar_id:
            return None
        try:
            return await asyncio.wait_for(
                self._calendar.busy_times(
                    calendar_id=provider.calendar_id, time_min=time_from, time_max=time_to
                ),
                timeout=self._timeout,
            )
        except (ExternalServiceError, TimeoutError) as error:
            log.warning(
                "calendar freeBusy unavailable (%s); availability uses bookings only",
                getattr(error, "message", None) or type(error).__name__,
            )
            return None


async def provider_and_service(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    org_id: UUID,
    provider: str | None,
    service: str | None,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """The named (or default) provider and service; InvalidInput naming the one not found."""
    try:
        provider_row = await org_repo.find_provider(conn, org_id=org_id, name=provider)
    except NotFound as error:
        raise InvalidInput(f"Sorry, {error.message}.", field="provider") from None
    try:
        service_row = await org_repo.find_service(conn, org_id=org_id, name=service)
    except NotFound as error:
        raise InvalidInput(f"Sorry, {error.message}.", field="service") from None
    return provider_row, service_row


async def bookable_start(
    conn: asyncpg.Connection | asyncpg.Pool,
    busy_times: BusyTimes,
    *,
    org_id: UUID,
    provider: Provider,
    rules: SchedulingRules,
    raw_start: str,
    now: datetime,
    own_range: Interval | None = None,
) -> ParsedTime:
    """The caller's start, if it can be booked by the rules and Google's busy times.

    InvalidInput for a start that cannot be read; SlotUnavailable, with three alternatives,
    for one in the past, outside hours or notice/horizon, or blocked in Google. Postgres
    bookings are not checked here: the exclusion constraint does that when the row is written.
    `own_range` is the booking's current time when it is being moved: its own calendar event
    must not count as busy.
    """
    reason: str | None
    try:
        start = parse_start(raw_start, tz=rules.tz, now=now)
    except TimeInPast as past:
        reason, after = past.message, now
    else:
        code = check_start(start.at, rules, [], now)
        if code is None:
            begins, occupied_until = occupied_range(start.at, rules)
            blocked = await busy_times.calendar_busy(
                provider, time_from=begins, time_to=occupied_until
            )
            others = [b for b in blocked or [] if b != own_range]
            code = check_start(start.at, rules, others, now)
        reason, after = (REFUSALS[code] if code else None), start.at
    if reason is None:
        return start
    options = await alternatives(
        conn, busy_times, org_id=org_id, provider=provider, rules=rules, after=after, now=now
    )
    raise SlotUnavailable(
        messages.unavailable(reason=reason, alternatives=options, tz=rules.tz),
        alternatives=options,
    )


async def rules_for(
    conn: asyncpg.Connection | asyncpg.Pool, *, org: asyncpg.Record, service: asyncpg.Record
) -> SchedulingRules:
    hours = await org_repo.opening_hours(conn, org_id=org["id"])
    return SchedulingRules(
        tz=ensure_timezone(org["time_zone"]),
        opening_hours=tuple(
            OpeningHours(row["weekday"], _naive(row["opens"]), _naive(row["closes"]))
            for row in hours
        ),
        duration=timedelta(minutes=service["duration_minutes"]),
        buffer=timedelta(minutes=service["buffer_minutes"]),
        step=org["slot_step"],
        min_notice=org["min_notice"],
        horizon=org["horizon"],
    )


async def alternatives(
    conn: asyncpg.Connection | asyncpg.Pool,
    busy_times: BusyTimes,
    *,
    org_id: UUID,
    provider: Provider,
    rules: SchedulingRules,
    after: datetime,
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The next `count` free starts at or after `after` (or now, if that is later).

    An `after` beyond the booking horizon (year 9999, say) searches from now instead: nothing
    past the horizon can be offered, and the window arithmetic must not overflow.
    """
    start = max(after, now)
    if start > now + rules.horizon:
        start = now
    window_end = start + SEARCH_WINDOW
    busy, _ = await busy_times.between(
        conn,
        org_id=org_id,
        provider=provider,
        time_from=start - timedelta(days=1),
        time_to=window_end,
    )
    found = next_free_starts(start, rules, busy, now, count=count)
    # Past the window the busy list says nothing, so a start there is not known to be free.
    return [at for at in found if at < window_end]


async def day_availability(
    conn: asyncpg.Connection | asyncpg.Pool,
    busy_times: BusyTimes,
    *,
    org_id: UUID,
    provider: Provider,
    rules: SchedulingRules,
    day: date,
    now: datetime,
) -> DayAvailability:
    """Free starts on local `day`; when there are none, the next day within the window that has.

    InvalidInput for a day past the booking horizon (nothing there can be booked).
    """
    day_start = datetime.combine(day, time(), tzinfo=rules.tz)
    latest = now + rules.horizon
    if day_start > latest:
        raise InvalidInput(
            f"That date is too far ahead; bookings open {rules.horizon.days} days ahead.",
            field="date",
        )
    window_end = min(day_start + SEARCH_WINDOW, latest + timedelta(days=1))
    busy, calendar_checked = await busy_times.between(
        conn,
        org_id=org_id,
        provider=provider,
        time_from=day_start - timedelta(days=1),
        time_to=window_end,
    )
    starts = free_starts_on(day, rules, busy, now)
    next_day: date | None = None
    next_starts: list[datetime] = []
    if not starts:
        found = next_open_day(day, rules, busy, now)
        if found is not None and found[1][0] < window_end:
            next_day = found[0]
            next_starts = [at for at in found[1] if at < window_end]
    return DayAvailability(day, starts, next_day, next_starts, calendar_checked)


def _naive(value: time) -> time:
    return value.replace(tzinfo=None)
