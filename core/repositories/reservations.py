"""SQL of the answer path: phase 1's one statement, and a provider's busy time in a window.

Both go through functions defined in 0004_reserve_in_one_statement.sql, so each answer costs
one round trip to Postgres.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from asyncpg import Range, Record

from core.domain.availability import Interval
from core.domain.statuses import BookingStatus
from core.repositories import Executor, from_record


class ReserveOutcome(StrEnum):
    """What `reserve_booking` decided for one attempt to book (not a booking status: the
    function returns these words as its `outcome`)."""

    # The org's configuration changed since the caller read it: decide again.
    STALE = "stale"
    # An earlier attempt with this booking id already made it.
    RETRIED = "retried"
    # The caller already holds a held or confirmed booking at this start.
    ALREADY_BOOKED = "already_booked"
    # The provider's calendar has a busy block there.
    BLOCKED = "blocked"
    # Another booking occupies the time (the exclusion constraint refused it).
    TAKEN = "taken"
    # The booking was inserted, held.
    BOOKED = "booked"


@dataclass(frozen=True, slots=True)
class FoundBooking:
    """A booking `reserve_booking` found or made."""

    booking_id: UUID
    status: BookingStatus
    provider_id: UUID
    service_id: UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Reservation:
    """What `reserve_booking` decided: `booking` is the booking found or made (retried,
    already_booked, booked); `busy` is the provider's busy time in the search window when the
    time was not free (blocked, taken)."""

    outcome: ReserveOutcome
    booking: FoundBooking | None
    busy: list[Interval]


@dataclass(frozen=True, slots=True)
class BusyTime:
    """A provider's busy ranges in a window, read with the org's configuration version and
    when the provider's calendar last synced (None: never)."""

    busy: list[Interval]
    config_version: int | None
    calendar_synced_at: datetime | None


async def reserve(
    conn: Executor,
    *,
    org_id: UUID,
    config_version: int,
    booking_id: UUID,
    workflow_id: str,
    provider_id: UUID,
    service_id: UUID,
    phone: str | None,
    email: str | None,
    name: str | None,
    starts_at: datetime,
    ends_at: datetime,
    occupied_until: datetime,
    notes: str | None,
    window: Interval,
) -> Reservation:
    """Upsert the contact and insert the booking `held`, unless the time is not free; one
    statement (see `reserve_booking` in the migration for every outcome)."""
    row = await conn.fetchrow(
        """
        SELECT outcome, booking_id, status::text AS status, provider_id, service_id, starts_at,
               ends_at, busy
        FROM reserve_booking($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        """,
        org_id,
        config_version,
        booking_id,
        workflow_id,
        provider_id,
        service_id,
        phone,
        email,
        name,
        starts_at,
        ends_at,
        occupied_until,
        notes,
        Range(*window),
    )
    assert row is not None  # the function always returns one row
    found = _found(row) if row["booking_id"] is not None else None
    return Reservation(
        outcome=ReserveOutcome(row["outcome"]), booking=found, busy=_intervals(row["busy"])
    )


async def find(conn: Executor, *, org_id: UUID, booking_id: UUID) -> FoundBooking | None:
    """The booking with this id in the org, if it exists (in any status)."""
    row = await conn.fetchrow(
        """
        SELECT id AS booking_id, status::text AS status, provider_id, service_id, starts_at,
               ends_at
        FROM bookings WHERE id = $1 AND org_id = $2
        """,
        booking_id,
        org_id,
    )
    return _found(row) if row is not None else None


async def busy_time(
    conn: Executor, *, org_id: UUID, provider_id: UUID, window: Interval
) -> BusyTime:
    """Held and confirmed bookings and calendar busy blocks of the provider within `window`."""
    row = await conn.fetchrow(
        """
        SELECT provider_busy($1, $2, $3) AS busy,
               (SELECT config_version FROM organizations WHERE id = $1) AS config_version,
               (SELECT last_synced_at FROM calendar_syncs
                WHERE org_id = $1 AND provider_id = $2) AS calendar_synced_at
        """,
        org_id,
        provider_id,
        Range(*window),
    )
    assert row is not None
    return BusyTime(
        busy=_intervals(row["busy"]),
        config_version=row["config_version"],
        calendar_synced_at=row["calendar_synced_at"],
    )


def _found(row: Record) -> FoundBooking:
    return from_record(FoundBooking, row, status=BookingStatus(row["status"]))


def _intervals(ranges: list[Range] | None) -> list[Interval]:
    return [(r.lower, r.upper) for r in ranges or []]
