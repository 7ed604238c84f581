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
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.failures import describe

with workflow.unsafe.imports_passed_through():
    from core.domain import messages
    from core.domain.normalize import ensure_timezone
    from core.temporal.models import (
        BookingRef,
        BookingRequest,
        BookingState,
        BookInput,
        BookResult,
        CalendarEventResult,
        ConfirmBookingInput,
        ContactResult,
        ReserveSlotInput,
        SmsKind,
    )
    from core.temporal.names import ORG_SLUG, side_effect_task_queue

T = TypeVar("T")
_PHASE1_TIMEOUT = timedelta(seconds=5)
_PHASE1_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
_SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
_ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


class _Booking(Protocol):
    """What the previous release's paths use of `BookingWorkflow`."""

    _input: BookInput
    _state: BookingState
    _request: BookingRequest | None

    def _set_details(self, text: str) -> None: ...
    def _set_status(self, status: str) -> None: ...
    def _set_appointment(self, starts_at: datetime, ends_at: datetime) -> None: ...
    def _rejection(self, error: ActivityError | ApplicationError) -> BookResult: ...
    def _retry(self) -> RetryPolicy: ...
    def _calendar_deadline(self, starts_at: datetime) -> datetime: ...
    async def _send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None: ...
    async def _compensate(self, ref: BookingRef, reason: str, original: BaseException) -> None: ...
    async def _attempts(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, give_up_at: datetime | None
    ) -> T: ...


async def phase1(booking: _Booking) -> BookResult:
    """Validate, resolve the contact, reserve the slot: three local activities."""
    source = booking._input
    workflow.upsert_search_attributes([ORG_SLUG.value_set(source.org_slug)])
    try:
        booking._set_details("validating the request")
        request = await workflow.execute_local_activity(
            "check_request",
            source,
            result_type=BookingRequest,
            start_to_close_timeout=_PHASE1_TIMEOUT,
            retry_policy=_PHASE1_RETRY,
        )
        booking._set_details("resolving the contact")
        contact = await workflow.execute_local_activity(
            "resolve_contact",
            request,
            result_type=ContactResult,
            start_to_close_timeout=_PHASE1_TIMEOUT,
            retry_policy=_PHASE1_RETRY,
        )
        booking._set_details("reserving the slot")
        await workflow.execute_local_activity(
            "reserve_slot",
            ReserveSlotInput(request=request, contact_id=contact.contact_id),
            start_to_close_timeout=_PHASE1_TIMEOUT,
            retry_policy=_PHASE1_RETRY,
        )
    except (ActivityError, ApplicationError) as error:
        return booking._rejection(error)
    booking._request = request
    booking._set_appointment(request.starts_at, request.ends_at)
    booking._set_status("held")
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
        ),
    )


async def phase2(booking: _Booking, request: BookingRequest) -> None:
    """The calendar event and the confirmation text side by side, then `confirm_booking`."""
    ref = BookingRef(org_id=request.org_id, booking_id=request.booking_id)
    booking._set_details("creating the calendar event and sending the confirmation SMS")
    created: Awaitable[CalendarEventResult] = booking._attempts(
        "calendar: creating the event",
        lambda: workflow.execute_activity(
            "create_calendar_event",
            ref,
            result_type=CalendarEventResult,
            start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
            task_queue=side_effect_task_queue(workflow.info().task_queue),
            retry_policy=_ONE_ATTEMPT,
        ),
        give_up_at=booking._calendar_deadline(request.starts_at),
    )
    calendar, _ = await asyncio.gather(
        created, booking._send_sms(ref, "confirmation", "confirmation"), return_exceptions=True
    )
    if isinstance(calendar, BaseException):
        await booking._compensate(ref, f"calendar: {describe(calendar)}", calendar)
        return
    booking._state.calendar_event_id = calendar.event_id
    try:
        await workflow.execute_activity(
            "confirm_booking",
            ConfirmBookingInput(booking=ref, calendar_event_id=calendar.event_id),
            result_type=str,
            start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
            task_queue=side_effect_task_queue(workflow.info().task_queue),
            retry_policy=booking._retry(),
        )
    except ActivityError as error:
        await booking._compensate(ref, f"confirm: {describe(error)}", error)
        return
    booking._set_status("confirmed")
    booking._set_details("confirmed; waiting for the appointment")
