"""Phase 2 in the order that tells the truth: calendar event → `confirmed` → confirmation text.

One activity does all three, each step idempotent, so a booking costs one activity task instead
of three. Until the booking is confirmed a failure raises, and the workflow retries or
compensates; once it is confirmed nothing raises any more (a text that cannot go out now is
reported, and the workflow sends it on its own), so a confirmed booking is never compensated
and no apology can follow a confirmation text.
"""

import logging

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.calendar import CalendarActivities
from activities.errors import typed_errors
from activities.heartbeat import heartbeating
from activities.sms import SmsActivities
from core.domain.statuses import BookingStatus
from core.repositories import bookings as booking_repo
from core.temporal.models import BookingRef, ConfirmationResult, SendSmsInput

log = logging.getLogger(__name__)


class ConfirmationActivities:
    def __init__(
        self, pool: asyncpg.Pool, calendar: CalendarActivities, sms: SmsActivities
    ) -> None:
        self._pool = pool
        self._calendar = calendar
        self._sms = sms

    @activity.defn
    @typed_errors
    async def confirm_booking_with_event(self, ref: BookingRef) -> ConfirmationResult:
        """Create the calendar event, set the booking `confirmed` with it, then text the
        patient. A retry after the booking was confirmed goes straight to the text."""
        async with heartbeating():
            booking = await booking_repo.get(
                self._pool, org_id=ref.org_id, booking_id=ref.booking_id
            )
            if booking.status == BookingStatus.CONFIRMED:
                # The schema's bookings_confirmed_has_event: confirmed means the event exists.
                assert booking.calendar_event_id is not None
                event_id = booking.calendar_event_id
            else:
                event_id = await self._calendar.ensure_event(booking)
                await confirm(self._pool, ref, event_id)
            try:
                # The row read above still holds all the text needs: confirming changed only
                # the status and the event id.
                sms = await self._sms.deliver(
                    SendSmsInput(booking=ref, kind="confirmation", send_key="confirmation"),
                    booking,
                )
            except Exception as error:  # the booking stands; the workflow retries the text
                log.warning("confirmation text not sent yet: %s", error)
                return ConfirmationResult(event_id=event_id, sms=None)
            return ConfirmationResult(event_id=event_id, sms=sms)


async def confirm(pool: asyncpg.Pool, ref: BookingRef, event_id: str) -> BookingStatus:
    """`held` → `confirmed` with the event id, in one statement; idempotent. BookingNotHeld
    (final) when the booking is in any other state: the workflow compensates."""
    status = await booking_repo.confirm(
        pool, org_id=ref.org_id, booking_id=ref.booking_id, event_id=event_id
    )
    if status != BookingStatus.CONFIRMED:
        raise ApplicationError(
            f"booking is {status}, not held; it cannot be confirmed",
            type="BookingNotHeld",
            non_retryable=True,
        )
    return status
