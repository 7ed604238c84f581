"""SQL for bookings. Every statement is scoped by org; the schema enforces the invariants."""

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg
from asyncpg import Range

from core.errors import NotFound
from core.repositories import Executor


async def get(conn: Executor, *, org_id: UUID, booking_id: UUID) -> asyncpg.Record:
    """The booking with what messages and calendar events need; NotFound outside the org."""
    row = await conn.fetchrow(
        """
        SELECT b.id, b.org_id, b.status, b.starts_at, b.ends_at, b.calendar_event_id,
               b.status_reason, b.notes, b.workflow_id, b.provider_id, b.service_id,
               c.name AS contact_name, c.phone AS contact_phone, c.email AS contact_email,
               p.name AS provider_name, p.calendar_id, s.name AS service_name,
               o.slug AS org_slug, o.name AS org_name, o.time_zone, o.sms_sender
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
    return row


async def confirm(conn: Executor, *, org_id: UUID, booking_id: UUID, event_id: str) -> str:
    """Set `confirmed` with its event id in one statement (from `held` only); returns the status.

    Idempotent: an already confirmed booking keeps its status. Any other state is returned as
    is, so the caller can compensate.
    """
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        assignments="status = 'confirmed', calendar_event_id = $3",
        from_statuses="'held'",
        value=event_id,
    )


async def mark_failed(conn: Executor, *, org_id: UUID, booking_id: UUID, reason: str) -> str:
    """Release the slot of a booking phase 2 could not confirm: `held` → `failed` with the
    reason; idempotent, returns the status. A booking that is confirmed stays confirmed: once
    the patient may have been told "booked", only a cancellation ends it."""
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        assignments="status = 'failed', status_reason = $3",
        from_statuses="'held'",
        value=reason,
    )


MoveOutcome = Literal["moved", "blocked", "taken", "gone"]


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

    `taken`: the exclusion constraint refused the new range (judged against every other
    booking; the old range is released by the same statement, so a move is never half done);
    `blocked`: the provider's calendar has a busy block there (unless `respect_calendar` is
    off); `gone`: the booking is neither held nor confirmed (any more).
    """
    try:
        row = await conn.fetchrow(
            """
            WITH target AS (
                SELECT b.id, EXISTS (
                    SELECT 1 FROM calendar_busy_blocks k
                    WHERE $6 AND k.org_id = b.org_id AND k.provider_id = b.provider_id
                      AND k.during && $5
                ) AS blocked
                FROM bookings b
                WHERE b.id = $1 AND b.org_id = $2 AND b.status IN ('held', 'confirmed')
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
        return "taken"
    assert row is not None
    if row["moved"]:
        return "moved"
    return "blocked" if row["blocked"] else "gone"


async def cancel(conn: Executor, *, org_id: UUID, booking_id: UUID, reason: str) -> str:
    """held/confirmed → `cancelled` with the reason, releasing the slot; idempotent.

    Returns the status after the statement: `cancelled`, or what it already was.
    """
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        assignments="status = 'cancelled', status_reason = $3",
        from_statuses="'held', 'confirmed'",
        value=reason,
    )


async def next_upcoming_for_phone(
    conn: Executor, *, org_id: UUID, phone: str, after: datetime
) -> asyncpg.Record | None:
    """The caller's next held or confirmed booking starting after `after`, in this org."""
    return await conn.fetchrow(
        """
        SELECT b.id, b.workflow_id, b.starts_at FROM bookings b
        JOIN contacts c ON c.id = b.contact_id AND c.org_id = b.org_id
        WHERE b.org_id = $1 AND c.phone = $2 AND b.status IN ('held', 'confirmed')
          AND b.starts_at > $3
        ORDER BY b.starts_at LIMIT 1
        """,
        org_id,
        phone,
        after,
    )


async def _transition(
    conn: Executor,
    *,
    org_id: UUID,
    booking_id: UUID,
    assignments: str,
    from_statuses: str,
    value: str,
) -> str:
    """Apply `assignments` (with `value` as $3) if the booking is in `from_statuses`; return
    the status afterwards either way, in one statement, so a repeat is a no-op that still
    reports where the booking is. `assignments` and `from_statuses` are fixed SQL fragments
    from this module, never input. NotFound outside the org."""
    status: str | None = await conn.fetchval(
        f"""
        WITH changed AS (
            UPDATE bookings SET {assignments}, updated_at = now()
            WHERE id = $1 AND org_id = $2 AND status IN ({from_statuses})
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
    return status
