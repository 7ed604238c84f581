"""The slot itself: reserve under the exclusion constraint, confirm, release."""

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import typed_errors
from core import messages
from core.availability import SchedulingRules, occupied_range
from core.errors import InvalidInput, SlotUnavailable
from core.models import (
    CancelBookingInput,
    ConfirmBookingInput,
    MovedSlot,
    MoveSlotInput,
    ReleaseSlotInput,
    ReserveSlotInput,
    RestoreSlotInput,
)
from core.normalize import ensure_timezone
from core.repositories import bookings as booking_repo
from core.repositories import orgs as org_repo
from core.scheduling import BusyTimes, Provider, alternatives, bookable_start, rules_for


class SlotActivities:
    def __init__(self, pool: asyncpg.Pool, busy_times: BusyTimes) -> None:
        self._pool = pool
        self._busy_times = busy_times

    @activity.defn
    @typed_errors
    async def reserve_slot(self, reservation: ReserveSlotInput) -> None:
        """Insert the booking `held`; SlotUnavailable with 3 alternatives when the time is taken.

        A retried call finds its own booking and succeeds again while it is held or confirmed.
        """
        request = reservation.request
        async with self._pool.acquire() as conn:
            try:
                existing = await booking_repo.insert_held(
                    conn,
                    booking_id=request.booking_id,
                    org_id=request.org_id,
                    provider_id=request.provider_id,
                    service_id=request.service_id,
                    contact_id=reservation.contact_id,
                    starts_at=request.starts_at,
                    ends_at=request.ends_at,
                    occupied_until=request.occupied_until,
                    notes=request.notes,
                    workflow_id=request.workflow_id,
                )
            except asyncpg.ExclusionViolationError:
                existing = "taken"
            if existing in (None, "held", "confirmed"):
                return
            if existing != "taken":
                raise InvalidInput(
                    "That booking could not be completed earlier. Please make a new booking.",
                    field="booking_id",
                )
            # The constraint said no: the only authority on overlap. Offer what is free now.
            rules = await _rules(conn, org_id=request.org_id, service_id=request.service_id)
            options = await alternatives(
                conn,
                self._busy_times,
                org_id=request.org_id,
                provider=Provider(request.provider_id, request.calendar_id),
                rules=rules,
                after=request.starts_at,
                now=datetime.now(UTC),
            )
        tz = ensure_timezone(request.time_zone)
        raise SlotUnavailable(
            messages.unavailable(reason="That time is already taken.", alternatives=options, tz=tz),
            alternatives=options,
        )

    @activity.defn
    @typed_errors
    async def confirm_booking(self, confirmation: ConfirmBookingInput) -> str:
        """`held` → `confirmed` with the event id, in one statement; idempotent."""
        status = await booking_repo.confirm(
            self._pool,
            org_id=confirmation.booking.org_id,
            booking_id=confirmation.booking.booking_id,
            event_id=confirmation.calendar_event_id,
        )
        if status != "confirmed":
            raise ApplicationError(
                f"booking is {status}, not held; it cannot be confirmed",
                type="BookingNotHeld",
                non_retryable=True,
            )
        return status

    @activity.defn
    @typed_errors
    async def release_slot(self, release: ReleaseSlotInput) -> str:
        """Compensation: mark the booking `failed` with the reason, freeing its time."""
        return await booking_repo.mark_failed(
            self._pool,
            org_id=release.booking.org_id,
            booking_id=release.booking.booking_id,
            reason=release.reason,
        )

    @activity.defn
    @typed_errors
    async def move_slot(self, move: MoveSlotInput) -> MovedSlot:
        """Move the booking to the caller's new start in one statement, under the exclusion
        constraint; SlotUnavailable (with alternatives, the old slot kept) when it cannot.

        Idempotent: a booking already at that start is reported unmoved.
        """
        ref = move.booking
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn:
            booking = await booking_repo.get(conn, org_id=ref.org_id, booking_id=ref.booking_id)
            if booking["status"] not in ("held", "confirmed"):
                raise InvalidInput(
                    f"This booking is {booking['status']}; it can't be moved.", field="booking_id"
                )
            rules = await _rules(conn, org_id=ref.org_id, service_id=booking["service_id"])
            provider = Provider(booking["provider_id"], booking["calendar_id"])
            current = MovedSlot(
                moved=False,
                starts_at=booking["starts_at"],
                ends_at=booking["ends_at"],
                previous_start=booking["starts_at"],
                previous_end=booking["ends_at"],
            )
            start = await bookable_start(
                conn,
                self._busy_times,
                org_id=ref.org_id,
                provider=provider,
                rules=rules,
                raw_start=move.start,
                now=now,
                own_range=(booking["starts_at"], booking["ends_at"]),
            )
            if start.at == booking["starts_at"]:
                return current
            begins, occupied_until = occupied_range(start.at, rules)
            ends = begins + rules.duration
            try:
                moved = await booking_repo.move(
                    conn,
                    org_id=ref.org_id,
                    booking_id=ref.booking_id,
                    starts_at=begins,
                    ends_at=ends,
                    occupied_until=occupied_until,
                )
            except asyncpg.ExclusionViolationError:
                options = await alternatives(
                    conn,
                    self._busy_times,
                    org_id=ref.org_id,
                    provider=provider,
                    rules=rules,
                    after=begins,
                    now=now,
                )
                raise SlotUnavailable(
                    messages.unavailable(
                        reason="That time is already taken.", alternatives=options, tz=rules.tz
                    ),
                    alternatives=options,
                ) from None
        if not moved:
            raise InvalidInput("This booking can no longer be moved.", field="booking_id")
        return current.model_copy(update={"moved": True, "starts_at": begins, "ends_at": ends})

    @activity.defn
    @typed_errors
    async def restore_slot(self, restore: RestoreSlotInput) -> bool:
        """Compensation of a move: put the booking back at its previous time.

        Raises SlotUnavailable (final) if someone booked the old time in between.
        """
        ref = restore.booking
        async with self._pool.acquire() as conn:
            booking = await booking_repo.get(conn, org_id=ref.org_id, booking_id=ref.booking_id)
            rules = await _rules(conn, org_id=ref.org_id, service_id=booking["service_id"])
            begins, occupied_until = occupied_range(restore.starts_at, rules)
            try:
                return await booking_repo.move(
                    conn,
                    org_id=ref.org_id,
                    booking_id=ref.booking_id,
                    starts_at=begins,
                    ends_at=restore.ends_at,
                    occupied_until=occupied_until,
                )
            except asyncpg.ExclusionViolationError:
                raise SlotUnavailable(
                    "The previous time was booked by someone else meanwhile.", alternatives=[]
                ) from None

    @activity.defn
    @typed_errors
    async def cancel_booking(self, cancellation: CancelBookingInput) -> str:
        """held/confirmed → `cancelled` with the reason (the slot is free at once); idempotent."""
        return await booking_repo.cancel(
            self._pool,
            org_id=cancellation.booking.org_id,
            booking_id=cancellation.booking.booking_id,
            reason=cancellation.reason,
        )


async def _rules(conn: asyncpg.Connection, *, org_id: UUID, service_id: UUID) -> SchedulingRules:
    """The scheduling rules of one of the org's services."""
    org = await org_repo.org_settings(conn, org_id=org_id)
    service = await org_repo.find_service(conn, org_id=org_id, name=str(service_id))
    return await rules_for(conn, org=org, service=service)
