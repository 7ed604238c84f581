"""SQL for bookings. Every statement is scoped by org; the schema enforces the invariants."""

from datetime import datetime
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


async def insert_held(
    conn: asyncpg.Connection,
    *,
    booking_id: UUID,
    org_id: UUID,
    provider_id: UUID,
    service_id: UUID,
    contact_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    occupied_until: datetime,
    notes: str | None,
    workflow_id: str,
) -> str | None:
    """Insert the booking `held` and return None; for a booking id that already exists (a
    retried call) insert nothing and return its current status.

    Raises asyncpg.ExclusionViolationError (23P01) when the provider is busy at that time.
    """
    async with conn.transaction():
        existing: str | None = await conn.fetchval(
            "SELECT status::text FROM bookings WHERE id = $1 AND org_id = $2", booking_id, org_id
        )
        if existing is not None:
            return existing
        await conn.execute(
            """
            INSERT INTO bookings (id, org_id, provider_id, service_id, contact_id, starts_at,
                                  ends_at, during, status, notes, workflow_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10)
            """,
            booking_id,
            org_id,
            provider_id,
            service_id,
            contact_id,
            starts_at,
            ends_at,
            Range(starts_at, occupied_until),
            notes,
            workflow_id,
        )
    return None


async def busy_ranges(
    conn: Executor, *, org_id: UUID, provider_id: UUID, time_from: datetime, time_to: datetime
) -> list[tuple[datetime, datetime]]:
    """Occupied ranges (appointment + buffer) of held and confirmed bookings in a window."""
    rows = await conn.fetch(
        """
        SELECT lower(during) AS start, upper(during) AS stop FROM bookings
        WHERE org_id = $1 AND provider_id = $2 AND status IN ('held', 'confirmed')
          AND during && tstzrange($3, $4)
        ORDER BY lower(during)
        """,
        org_id,
        provider_id,
        time_from,
        time_to,
    )
    return [(row["start"], row["stop"]) for row in rows]


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
    """Release the slot: held/confirmed → `failed` with the reason; idempotent, returns status."""
    return await _transition(
        conn,
        org_id=org_id,
        booking_id=booking_id,
        assignments="status = 'failed', status_reason = $3",
        from_statuses="'held', 'confirmed'",
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
) -> bool:
    """Move a held or confirmed booking in one statement; False if it is neither (anymore).

    The exclusion constraint judges the new range against every other booking, and the old
    range is released by the same statement, so a move is never half done. Raises
    asyncpg.ExclusionViolationError (23P01) when the new time is taken.
    """
    moved: UUID | None = await conn.fetchval(
        """
        UPDATE bookings SET starts_at = $3, ends_at = $4, during = $5, updated_at = now()
        WHERE id = $1 AND org_id = $2 AND status IN ('held', 'confirmed')
        RETURNING id
        """,
        booking_id,
        org_id,
        starts_at,
        ends_at,
        Range(starts_at, occupied_until),
    )
    return moved is not None


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
