"""The slot after phase 1: confirm, release, move, restore and cancel, all in Postgres."""

from datetime import UTC, datetime

import asyncpg
from temporalio import activity

from activities.confirmation import confirm
from activities.errors import typed_errors
from core.domain.availability import occupied_range
from core.domain.catalog import Offering, OrgCatalog
from core.domain.language import N_
from core.domain.statuses import OCCUPYING, BookingStatus
from core.errors import InvalidInput, SlotUnavailable
from core.repositories import bookings as booking_repo
from core.repositories.bookings import Booking, MoveOutcome
from core.services.scheduling import CatalogCache, Refusal, check_requested_start, unavailable_after
from core.temporal.models import (
    CancelBookingInput,
    ConfirmBookingInput,
    MovedSlot,
    MoveSlotInput,
    ReleaseSlotInput,
    RestoreSlotInput,
)

# Why a booking that no longer occupies a slot cannot move, by its status (message ids: the
# workflow says them in the booking's locale).
_NOT_MOVABLE = {
    BookingStatus.CANCELLED: N_("This booking is cancelled; it can't be moved."),
    BookingStatus.FAILED: N_("This booking is failed; it can't be moved."),
}


class SlotActivities:
    def __init__(self, pool: asyncpg.Pool, catalogs: CatalogCache) -> None:
        self._pool = pool
        self._catalogs = catalogs

    @activity.defn
    @typed_errors
    async def confirm_booking(self, confirmation: ConfirmBookingInput) -> BookingStatus:
        """`held` → `confirmed` with the event id, in one statement; idempotent. Scheduled only
        by workflows of the previous release (workflows/legacy.py); new bookings confirm inside
        `confirm_booking_with_event`."""
        return await confirm(self._pool, confirmation.booking, confirmation.calendar_event_id)

    @activity.defn
    @typed_errors
    async def release_slot(self, release: ReleaseSlotInput) -> BookingStatus:
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
        constraint and clear of the calendar's busy blocks; SlotUnavailable (with alternatives,
        the old slot kept) when it cannot.

        Idempotent: a booking already at that start is reported unmoved.
        """
        ref = move.booking
        now = datetime.now(UTC)
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        if booking.status not in OCCUPYING:
            raise InvalidInput(_NOT_MOVABLE[booking.status], field="booking_id")
        current = MovedSlot(
            moved=False,
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            previous_start=booking.starts_at,
            previous_end=booking.ends_at,
        )
        while True:
            catalog, offering = await self._offering(booking)
            rules = offering.rules
            start = check_requested_start(move.start, rules, now)
            if isinstance(start, Refusal):
                refusal = start
            elif start.at == booking.starts_at:
                return current
            else:
                begins, occupied_until = occupied_range(start.at, rules)
                outcome = await booking_repo.move(
                    self._pool,
                    org_id=ref.org_id,
                    booking_id=ref.booking_id,
                    starts_at=begins,
                    ends_at=begins + rules.duration,
                    occupied_until=occupied_until,
                )
                if outcome == MoveOutcome.MOVED:
                    return current.model_copy(
                        update={
                            "moved": True,
                            "starts_at": begins,
                            "ends_at": begins + rules.duration,
                        }
                    )
                if outcome == MoveOutcome.GONE:
                    raise InvalidInput(
                        N_("This booking can no longer be moved."), field="booking_id"
                    )
                refusal = Refusal.taken(begins)  # TAKEN or BLOCKED
            unavailable = await unavailable_after(
                self._pool, self._catalogs, catalog, offering, refusal, now=now, locale=move.locale
            )
            if unavailable is not None:
                raise unavailable

    @activity.defn
    @typed_errors
    async def restore_slot(self, restore: RestoreSlotInput) -> bool:
        """Compensation of a move: put the booking back at its previous time.

        Raises SlotUnavailable (final) if someone booked the old time in between.
        """
        ref = restore.booking
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        _, offering = await self._offering(booking)
        begins, occupied_until = occupied_range(restore.starts_at, offering.rules)
        outcome = await booking_repo.move(
            self._pool,
            org_id=ref.org_id,
            booking_id=ref.booking_id,
            starts_at=begins,
            ends_at=restore.ends_at,
            occupied_until=occupied_until,
            # The old time was the booking's own: a block that arrived since does not undo that.
            respect_calendar=False,
        )
        if outcome == MoveOutcome.TAKEN:
            raise SlotUnavailable(
                "The previous time was booked by someone else meanwhile.", alternatives=[]
            )
        return outcome == MoveOutcome.MOVED

    async def _offering(self, booking: Booking) -> tuple[OrgCatalog, Offering]:
        """The booking's provider and service, with the rules from the org's configuration."""
        return await self._catalogs.resolve(
            booking.org_id,
            lambda catalog: catalog.booked_offering(booking.provider_id, booking.service_id),
        )

    @activity.defn
    @typed_errors
    async def cancel_booking(self, cancellation: CancelBookingInput) -> BookingStatus:
        """held/confirmed → `cancelled` with the reason (the slot is free at once); idempotent."""
        return await booking_repo.cancel(
            self._pool,
            org_id=cancellation.booking.org_id,
            booking_id=cancellation.booking.booking_id,
            reason=cancellation.reason,
        )
