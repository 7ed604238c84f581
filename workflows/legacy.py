"""The previous release's phase 1 and phase 2, kept so its open workflows replay unchanged.

A booking's workflow lives until after the visit, so workflows started before the one-statement
phase 1 may still be open: their histories hold three local activity markers (`check_request`,
`resolve_contact`, `reserve_slot`) and a phase 2 that ran the calendar event and the
confirmation text side by side, then `confirm_booking`. Their input has no `phase1` field
(`BookingWorkflowInput.phase1` defaults to "three-local-activities"), and when such a workflow
is replayed (a worker restart, a cache eviction, a deploy, a query of a closed one) these
functions issue exactly the commands it recorded. (The input decides, rather than a
`workflow.patched` marker, because a marker and its search-attribute upsert would cost every
new booking two history events and a visibility write.)

Remove this module, and the branches that call it, once no workflow started before that release
is open and namespace retention has dropped the closed ones; the replay test's histories of
that release go with it.
The phase-1 activities are no longer registered: a workflow that was inside phase 1 at the
deploy answers "try again", and the agent's retry starts a new run.
"""

import asyncio
from collections.abc import Awaitable

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options as options
from workflows import compensation
from workflows.booking_run import BookingRun
from workflows.failures import describe

with workflow.unsafe.imports_passed_through():
    from core.domain import messages
    from core.domain.normalize import ensure_timezone
    from core.domain.statuses import WorkflowStatus
    from core.temporal.models import (
        BookingRef,
        BookingRequest,
        BookResult,
        CalendarEventResult,
        ConfirmBookingInput,
        ContactResult,
        ReserveSlotInput,
    )
    from core.temporal.names import ORG_SLUG


async def phase1(booking: BookingRun) -> BookResult:
    """Validate, resolve the contact, reserve the slot: three local activities."""
    source = booking.caller_input
    workflow.upsert_search_attributes([ORG_SLUG.value_set(source.org_slug)])
    try:
        booking.progress.set_details("validating the request")
        request = await workflow.execute_local_activity(
            "check_request",
            source,
            result_type=BookingRequest,
            **options.answer_path(),
        )
        booking.progress.set_details("resolving the contact")
        contact = await workflow.execute_local_activity(
            "resolve_contact",
            request,
            result_type=ContactResult,
            **options.answer_path(),
        )
        booking.progress.set_details("reserving the slot")
        await workflow.execute_local_activity(
            "reserve_slot",
            ReserveSlotInput(request=request, contact_id=contact.contact_id),
            **options.answer_path(),
        )
    except (ActivityError, ApplicationError) as error:
        return booking.rejection(error)
    booking.booking_request = request
    booking.progress.set_appointment(request.starts_at, request.ends_at)
    booking.progress.set_status(WorkflowStatus.HELD)
    return BookResult(
        outcome="booked",
        booking_id=request.booking_id,
        start=request.starts_at,
        message=messages.booked(
            service=request.service_name,
            provider=request.provider_name,
            at=request.starts_at,
            tz=ensure_timezone(request.time_zone),
            moved=request.moved_to_this_year,
            locale=request.locale,
        ),
    )


async def phase2(booking: BookingRun, request: BookingRequest) -> None:
    """The calendar event and the confirmation text side by side, then `confirm_booking`."""
    ref = BookingRef(org_id=request.org_id, booking_id=request.booking_id)
    booking.progress.set_details("creating the calendar event and sending the confirmation SMS")
    created: Awaitable[CalendarEventResult] = booking.attempts(
        "calendar: creating the event",
        lambda: workflow.execute_activity(
            "create_calendar_event",
            ref,
            result_type=CalendarEventResult,
            **options.one_attempt(booking.side_effects),
        ),
        give_up_at=booking.calendar_deadline(request.starts_at),
    )
    calendar, _ = await asyncio.gather(
        created, booking.send_sms(ref, "confirmation", "confirmation"), return_exceptions=True
    )
    if isinstance(calendar, BaseException):
        await compensation.compensate(booking, ref, f"calendar: {describe(calendar)}", calendar)
        return
    booking.state.calendar_event_id = calendar.event_id
    try:
        await workflow.execute_activity(
            "confirm_booking",
            ConfirmBookingInput(booking=ref, calendar_event_id=calendar.event_id),
            result_type=str,
            **booking.durable(),
        )
    except ActivityError as error:
        await compensation.compensate(booking, ref, f"confirm: {describe(error)}", error)
        return
    booking.progress.set_status(WorkflowStatus.CONFIRMED)
    booking.progress.set_details("confirmed; waiting for the appointment")
