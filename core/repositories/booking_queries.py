"""Read-side SQL for the bookings REST API: filtered keyset pages and one booking's full record.

Every statement is scoped by org, including the SMS ledger and the event trail, so another
org's booking id finds nothing at all.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from core.domain.statuses import BookingStatus
from core.errors import NotFound
from core.repositories import Executor, from_record


@dataclass(frozen=True, slots=True)
class BookingFilter:
    """Which bookings to list; an empty or None field does not filter."""

    statuses: tuple[BookingStatus, ...] = ()
    starts_from: datetime | None = None  # inclusive
    starts_before: datetime | None = None  # exclusive
    phone: str | None = None  # E.164


@dataclass(frozen=True, slots=True)
class PagePosition:
    """The last booking of the previous page; the next page starts strictly after it."""

    starts_at: datetime
    booking_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingSummaryRow:
    """A booking as the API lists it (`_SUMMARY_COLUMNS`)."""

    id: UUID
    status: BookingStatus
    status_reason: str | None
    starts_at: datetime
    ends_at: datetime
    calendar_event_id: str | None
    notes: str | None
    workflow_id: str
    created_at: datetime
    updated_at: datetime
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    provider_id: UUID
    provider_name: str
    service_id: UUID
    service_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsMessageRow:
    """One SMS ledger row of a booking."""

    kind: str
    status: str
    error_code: str | None
    to_phone: str
    twilio_sid: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusEventRow:
    """One entry of a booking's trail: a status change or a move (`from_status` None: created)."""

    from_status: BookingStatus | None
    to_status: BookingStatus
    starts_at: datetime
    reason: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """One booking with its SMS messages and status trail, read in one snapshot."""

    booking: BookingSummaryRow
    sms_messages: list[SmsMessageRow]
    events: list[StatusEventRow]


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
) -> tuple[list[BookingSummaryRow], bool]:
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
    return [_summary(row) for row in rows[:limit]], len(rows) > limit


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
        sms_rows = await conn.fetch(
            """
            SELECT kind, status, error_code, to_phone, twilio_sid, created_at, updated_at
            FROM sms_messages
            WHERE booking_id = $1 AND org_id = $2
            ORDER BY created_at, id
            """,
            booking_id,
            org_id,
        )
        event_rows = await conn.fetch(
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
    return BookingRecord(
        booking=_summary(booking),
        sms_messages=[from_record(SmsMessageRow, r) for r in sms_rows],
        events=[
            from_record(
                StatusEventRow,
                r,
                from_status=BookingStatus(r["from_status"]) if r["from_status"] else None,
                to_status=BookingStatus(r["to_status"]),
            )
            for r in event_rows
        ],
    )


def _summary(record: asyncpg.Record) -> BookingSummaryRow:
    return from_record(BookingSummaryRow, record, status=BookingStatus(record["status"]))
