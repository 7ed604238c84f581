"""Read-side SQL for the bookings REST API: filtered keyset pages and one booking's full record.

Every statement is scoped by org, including the SMS ledger and the event trail, so another
org's booking id finds nothing at all.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from core.errors import NotFound
from core.repositories import Executor


@dataclass(frozen=True, slots=True)
class BookingFilter:
    """Which bookings to list; an empty or None field does not filter."""

    statuses: tuple[str, ...] = ()
    starts_from: datetime | None = None  # inclusive
    starts_before: datetime | None = None  # exclusive
    phone: str | None = None  # E.164


@dataclass(frozen=True, slots=True)
class PagePosition:
    """The last booking of the previous page; the next page starts strictly after it."""

    starts_at: datetime
    booking_id: UUID


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """One booking with its SMS messages and status trail, read in one snapshot."""

    booking: asyncpg.Record
    sms_messages: list[asyncpg.Record]
    events: list[asyncpg.Record]


_SUMMARY_COLUMNS = """
    b.id, b.status::text AS status, b.status_reason, b.starts_at, b.ends_at,
    b.calendar_event_id, b.notes, b.workflow_id, b.created_at, b.updated_at,
    c.name AS contact_name, c.phone AS contact_phone, c.email AS contact_email,
    b.provider_id, p.name AS provider_name, b.service_id, s.name AS service_name
"""

_SUMMARY_FROM = """
    FROM bookings b
    JOIN contacts c ON c.id = b.contact_id
    JOIN providers p ON p.id = b.provider_id
    JOIN services s ON s.id = b.service_id
"""


async def page(
    conn: Executor,
    *,
    org_id: UUID,
    filters: BookingFilter,
    after: PagePosition | None,
    limit: int,
) -> tuple[list[asyncpg.Record], bool]:
    """Up to `limit` of the org's bookings ordered by (starts_at, id), starting after `after`,
    and whether more follow."""
    args: list[object] = [org_id]

    def param(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    # Only the filters given become conditions, so each combination gets its own plan and the
    # (org_id, starts_at) index is used, instead of one generic plan full of "$n IS NULL OR".
    conditions = ["b.org_id = $1"]
    if filters.statuses:
        conditions.append(f"b.status = ANY({param(list(filters.statuses))}::booking_status[])")
    if filters.starts_from is not None:
        conditions.append(f"b.starts_at >= {param(filters.starts_from)}")
    if filters.starts_before is not None:
        conditions.append(f"b.starts_at < {param(filters.starts_before)}")
    if filters.phone is not None:
        conditions.append(f"c.phone = {param(filters.phone)}")
    if after is not None:
        # Keyset, not OFFSET: rows inserted or changed meanwhile never shift later pages.
        conditions.append(
            f"(b.starts_at, b.id) > ({param(after.starts_at)}, {param(after.booking_id)})"
        )
    rows = await conn.fetch(
        f"""
        SELECT {_SUMMARY_COLUMNS}
        {_SUMMARY_FROM}
        WHERE {" AND ".join(conditions)}
        ORDER BY b.starts_at, b.id
        LIMIT {param(limit + 1)}
        """,
        *args,
    )
    return rows[:limit], len(rows) > limit


async def full_record(pool: asyncpg.Pool, *, org_id: UUID, booking_id: UUID) -> BookingRecord:
    """The booking, its SMS ledger rows and its event trail; NotFound outside the org."""
    async with (
        pool.acquire() as conn,
        # One snapshot, so the trail never shows a status the booking row does not have yet.
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        booking = await conn.fetchrow(
            f"""
            SELECT {_SUMMARY_COLUMNS}
            {_SUMMARY_FROM}
            WHERE b.id = $1 AND b.org_id = $2
            """,
            booking_id,
            org_id,
        )
        if booking is None:
            raise NotFound("there is no such booking")
        sms_messages = await conn.fetch(
            """
            SELECT kind, status, error_code, to_phone, twilio_sid, created_at, updated_at
            FROM sms_messages
            WHERE booking_id = $1 AND org_id = $2
            ORDER BY created_at, id
            """,
            booking_id,
            org_id,
        )
        events = await conn.fetch(
            """
            SELECT from_status::text AS from_status, to_status::text AS to_status, starts_at,
                   reason, at
            FROM booking_events
            WHERE booking_id = $1 AND org_id = $2
            ORDER BY id
            """,
            booking_id,
            org_id,
        )
    return BookingRecord(booking=booking, sms_messages=sms_messages, events=events)
