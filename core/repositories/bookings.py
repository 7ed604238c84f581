"""SQL for bookings. Every statement is scoped by org; the schema enforces the invariants."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg
from asyncpg import Range

from core.domain.statuses import OCCUPYING, BookingStatus
from core.errors import NotFound
from core.repositories import OCCUPYING_SQL, Executor, from_record, sql_statuses


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """A booking with what its messages and calendar event need: contact, provider, service
    and org."""

    id: UUID
    org_id: UUID
    status: BookingStatus
    starts_at: datetime
    ends_at: datetime
    calendar_event_id: str | None
    status_reason: str | None
    notes: str | None
    workflow_id: str
    provider_id: UUID
    service_id: UUID
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    provider_name: str
    calendar_id: str
    service_name: str
    org_slug: str
    org_name: str
    time_zone: str
    sms_sender: str | None
    # BCP 47: the locale its texts are written in (core.domain.language).
    locale: str


@dataclass(frozen=True, slots=True)
class UpcomingBooking:
    """A caller's next booking: enough to reach its workflow."""

    id: UUID
    workflow_id: str
    starts_at: datetime


class MoveOutcome(StrEnum):
    """What an attempt to move a booking came to (not a booking status: the booking keeps its
    own, held or confirmed, whichever this is)."""

    MOVED = "moved"
    # The exclusion constraint refused the new range: another booking occupies it.
    TAKEN = "taken"
    # The provider's calendar has a busy block there.
    BLOCKED = "blocked"
    # The booking is neither held nor confirmed (any more).
    GONE = "gone"


async def get(conn: Executor, *, org_id: UUID, booking_id: UUID) -> Booking:
    """The booking with what messages and calendar events need; NotFound outside the org."""
    row = await conn.fetchrow(
        """
        SELECT b.id, b.org_id, b.status, b.starts_at, b.ends_at, b.calendar_event_id,
               b.status_reason, b.notes, b.workflow_id, b.provider_id, b.service_id,
               c.name AS contact_name, c.phone AS contact_phone, c.email AS contact_email,
               p.name AS provider_name, p.calendar_id, s.name AS service_name,
               o.slug AS org_slug, o.name AS org_name, o.time_zone, o.sms_sender,
               coalesce(b.locale, o.locale) AS locale
        FROM bookings b
        JOIN contacts c ON c.id = b.contact_id
        JOIN providers p ON p.id = b.provider_id
        JOIN services s ON s.id = b.service_id
        JOIN organizations o ON o.id = b.org_id
        WHERE b.id = $1 AND b.org_id = $2
        """,
        booking_id,
        org_id,
    )
    if row is None:
        raise NotFound("there is no such booking")
    return from_record(Booking, row, status=BookingStatus(row["status"]))


async def set_locale(conn: Executor, *, org_id: UUID, booking_id: UUID, locale: str) -> None:
    """Record the locale the caller booked in (one the org serves besides its own), for the
    booking's later texts. Idempotent."""
    await conn.execute(
        """
        UPDATE bookings SET locale = $3
        WHERE id = $1 AND org_id = $2 AND locale IS DISTINCT FROM $3
        """,
        booking_id,
        org_id,
        locale,
    )


async def confirm(
    conn: Executor, *, org_id: UUID, booking_id: UUID, event_id: str
) -> BookingStatus:
    """Set `confirmed` with its event id in one statement (from `held` only); returns the status.

    Idempotent: an already confirmed booking keeps its status. Any other state is returned as
    is, so the caller can compensate.
    """
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        to=BookingStatus.CONFIRMED,
        from_statuses=(BookingStatus.HELD,),
        also_set="calendar_event_id = $3",
        value=event_id,
    )


async def mark_failed(
    conn: Executor, *, org_id: UUID, booking_id: UUID, reason: str
) -> BookingStatus:
    """Release the slot of a booking phase 2 could not confirm: `held` → `failed` with the
    reason; idempotent, returns the status. A booking that is confirmed stays confirmed: once
    the patient may have been told "booked", only a cancellation ends it."""
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        to=BookingStatus.FAILED,
        from_statuses=(BookingStatus.HELD,),
        also_set="status_reason = $3",
        value=reason,
    )


async def move(
    conn: Executor,
    *,
    org_id: UUID,
    booking_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    occupied_until: datetime,
    respect_calendar: bool = True,
) -> MoveOutcome:
    """Move a held or confirmed booking in one statement.

    `TAKEN`: the exclusion constraint refused the new range (judged against every other
    booking; the old range is released by the same statement, so a move is never half done);
    `BLOCKED`: the provider's calendar has a busy block there (unless `respect_calendar` is
    off); `GONE`: the booking is neither held nor confirmed (any more).
    """
    try:
        row = await conn.fetchrow(
            f"""
            WITH target AS (
                SELECT b.id, EXISTS (
                    SELECT 1 FROM calendar_busy_blocks k
                    WHERE $6 AND k.org_id = b.org_id AND k.provider_id = b.provider_id
                      AND k.during && $5
                ) AS blocked
                FROM bookings b
                WHERE b.id = $1 AND b.org_id = $2 AND b.status IN {OCCUPYING_SQL}
            ), moved AS (
                UPDATE bookings SET starts_at = $3, ends_at = $4, during = $5, updated_at = now()
                WHERE id = (SELECT id FROM target WHERE NOT blocked)
                RETURNING id
            )
            SELECT (SELECT blocked FROM target) AS blocked,
                   EXISTS (SELECT 1 FROM moved) AS moved
            """,
            booking_id,
            org_id,
            starts_at,
            ends_at,
            Range(starts_at, occupied_until),
            respect_calendar,
        )
    except asyncpg.ExclusionViolationError:
        return MoveOutcome.TAKEN
    assert row is not None
    if row["moved"]:
        return MoveOutcome.MOVED
    return MoveOutcome.BLOCKED if row["blocked"] else MoveOutcome.GONE


async def cancel(conn: Executor, *, org_id: UUID, booking_id: UUID, reason: str) -> BookingStatus:
    """held/confirmed → `cancelled` with the reason, releasing the slot; idempotent.

    Returns the status after the statement: `cancelled`, or what it already was.
    """
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        to=BookingStatus.CANCELLED,
        from_statuses=OCCUPYING,
        also_set="status_reason = $3",
        value=reason,
    )


async def next_upcoming_for_phone(
    conn: Executor, *, org_id: UUID, phone: str, after: datetime
) -> UpcomingBooking | None:
    """The caller's next held or confirmed booking starting after `after`, in this org."""
    row = await conn.fetchrow(
        f"""
        SELECT b.id, b.workflow_id, b.starts_at FROM bookings b
        JOIN contacts c ON c.id = b.contact_id AND c.org_id = b.org_id
        WHERE b.org_id = $1 AND c.phone = $2 AND b.status IN {OCCUPYING_SQL}
          AND b.starts_at > $3
        ORDER BY b.starts_at LIMIT 1
        """,
        org_id,
        phone,
        after,
    )
    if row is None:
        return None
    return from_record(UpcomingBooking, row)


async def _transition(
    conn: Executor,
    *,
    org_id: UUID,
    booking_id: UUID,
    to: BookingStatus,
    from_statuses: tuple[BookingStatus, ...],
    also_set: str,
    value: str,
) -> BookingStatus:
    """Set status `to` and `also_set` (with `value` as $3) if the booking is in
    `from_statuses`; return the status afterwards either way, in one statement, so a repeat is
    a no-op that still reports where the booking is. `also_set` is a fixed SQL fragment from
    this module, never input. NotFound outside the org."""
    status: str | None = await conn.fetchval(
        f"""
        WITH changed AS (
            UPDATE bookings SET status = '{to.value}', {also_set}, updated_at = now()
            WHERE id = $1 AND org_id = $2 AND status IN {sql_statuses(from_statuses)}
            RETURNING status
        )
        SELECT status::text FROM changed
        UNION ALL
        SELECT status::text FROM bookings WHERE id = $1 AND org_id = $2
        LIMIT 1
        """,  # noqa: S608 - fragments are constants of this module
        booking_id,
        org_id,
        value,
    )
    if status is None:
        raise NotFound("there is no such booking")
    return BookingStatus(status)
