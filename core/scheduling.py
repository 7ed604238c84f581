"""Reads what the availability engine needs from Postgres and asks it questions."""

from datetime import datetime, time, timedelta
from uuid import UUID

import asyncpg

from core.availability import OpeningHours, SchedulingRules, next_free_starts
from core.normalize import ensure_timezone
from core.repositories import bookings as booking_repo
from core.repositories import orgs as org_repo

# How far ahead alternatives are searched; beyond this a caller is better served by a human.
_ALTERNATIVES_WINDOW = timedelta(days=31)


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
    *,
    org_id: UUID,
    provider_id: UUID,
    rules: SchedulingRules,
    after: datetime,
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The next `count` free starts at or after `after` (or now, if that is later)."""
    start = max(after, now)
    busy = await booking_repo.busy_ranges(
        conn,
        org_id=org_id,
        provider_id=provider_id,
        time_from=start - timedelta(days=1),
        time_to=start + _ALTERNATIVES_WINDOW,
    )
    return next_free_starts(start, rules, busy, now, count=count)


def _naive(value: time) -> time:
    return value.replace(tzinfo=None)
