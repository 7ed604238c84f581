"""Calendar events on the provider's Google Calendar, with ids derived from the booking id."""

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core.errors import PermanentServiceError
from core.repositories import bookings as booking_repo
from core.repositories.bookings import Booking
from core.temporal.models import BookingRef, CalendarEventResult
from core.vendors.calendar import CalendarClient, event_id_for_booking


class CalendarActivities:
    def __init__(self, pool: asyncpg.Pool, calendar: CalendarClient) -> None:
        self._pool = pool
        self._calendar = calendar

    @activity.defn
    @typed_errors
    async def create_calendar_event(self, ref: BookingRef) -> CalendarEventResult:
        """Create the event exactly once: a retry finds the same id already there (409).
        Scheduled only by workflows of the previous release (workflows/legacy.py); new bookings
        create it inside `confirm_booking_with_event`."""
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        return CalendarEventResult(event_id=await self.ensure_event(booking))

    async def ensure_event(self, booking: Booking) -> str:
        """The booking's event id, creating the event unless an earlier attempt did (409).

        PermanentServiceError when our own compensation already deleted it: Google never
        reuses a deleted event's id.
        """
        event = await self._calendar.insert_event(
            calendar_id=booking.calendar_id,
            event_id=event_id_for_booking(booking.id),
            summary=f"{booking.service_name}: {booking.contact_name or 'caller'}",
            description=_description(booking),
            start=booking.starts_at,
            end=booking.ends_at,
            time_zone=booking.time_zone,
        )
        if event.cancelled:
            # Our own compensation deleted it earlier; Google never reuses a deleted id.
            raise PermanentServiceError(
                "the calendar event for this booking was already deleted", code="eventCancelled"
            )
        return event.id

    @activity.defn
    @typed_errors
    async def move_calendar_event(self, ref: BookingRef) -> CalendarEventResult:
        """Patch the event to the booking's current time (read from Postgres, so a retry after
        a second move sends the latest time); idempotent."""
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        event = await self._calendar.move_event(
            calendar_id=booking.calendar_id,
            event_id=event_id_for_booking(ref.booking_id),
            start=booking.starts_at,
            end=booking.ends_at,
            time_zone=booking.time_zone,
        )
        return CalendarEventResult(event_id=event.id)

    @activity.defn
    @typed_errors
    async def delete_calendar_event(self, ref: BookingRef) -> bool:
        """Compensation: delete the booking's event; False when it was already gone."""
        booking = await booking_repo.get(self._pool, org_id=ref.org_id, booking_id=ref.booking_id)
        return await self._calendar.delete_event(
            calendar_id=booking.calendar_id, event_id=event_id_for_booking(ref.booking_id)
        )


def _description(booking: Booking) -> str:
    lines = [f"Booked by voice agent for {booking.org_name}."]
    if booking.contact_phone:
        lines.append(f"Phone: {booking.contact_phone}")
    if booking.contact_email:
        lines.append(f"Email: {booking.contact_email}")
    if booking.notes:
        lines.append(f"Notes: {booking.notes}")
    lines.append(f"Booking id: {booking.id}")
    return "\n".join(lines)
