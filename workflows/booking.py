"""BookingWorkflow: one booking from the tool call to after the visit.

Started by update-with-start; the `book` update returns as soon as phase 1 has decided the
answer (early return), while phase 2 carries on durably.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from activities.contacts import ContactActivities
    from activities.requests import RequestActivities
    from activities.slots import SlotActivities
    from activities.sms import SmsActivities
    from core import messages
    from core.models import (
        BookingOutcome,
        BookingRef,
        BookingRequest,
        BookingState,
        BookingWorkflowInput,
        BookInput,
        BookResult,
        ConfirmBookingInput,
        ReleaseSlotInput,
        ReserveSlotInput,
        SendSmsInput,
        SmsKind,
    )
    from core.names import APPOINTMENT_START, BOOKING_STATUS, ORG_SLUG
    from core.normalize import ensure_timezone

# Phase 1 runs while the caller waits: a few quick attempts, then an honest "try again".
_PHASE1_TIMEOUT = timedelta(seconds=5)
_PHASE1_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
_SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
_SMS_GIVE_UP_AFTER = timedelta(hours=6)
# Even an imminent appointment gets a few attempts before compensation.
_MIN_CALENDAR_WINDOW = timedelta(seconds=5)
# Error types the caller caused; everything else is our problem and is answered as such.
_REJECTIONS = {"InvalidInput": "invalid", "SlotUnavailable": "unavailable"}
_TECHNICAL_PROBLEM = (
    "Sorry, I couldn't complete the booking because of a technical problem. "
    "Please try again in a moment."
)


@workflow.defn
class BookingWorkflow:
    """One booking's whole life.

    Update `book(BookInput) -> BookResult`: the caller's answer (booked / unavailable / invalid),
    returned after phase 1 (resolve contact, reserve slot).
    Query `status() -> BookingState`: everything the workflow knows, for operators.
    Phase 2: calendar event and confirmation SMS concurrently, then `confirmed`; a permanent
    calendar failure (or one outlasting the deadline) compensates: event deleted, slot released
    (`failed`), apology SMS, and the workflow fails with the original error.
    """

    @workflow.init
    def __init__(self, start: BookingWorkflowInput) -> None:
        self._input = start.request
        self._timings = start.timings
        self._answer: BookResult | None = None
        self._request: BookingRequest | None = None
        self._state = BookingState(status="received", booking_id=start.request.booking_id)

    @workflow.run
    async def run(self, start: BookingWorkflowInput) -> BookingOutcome:
        answer = await self._phase1()
        self._answer = answer
        self._state.answer = answer
        if answer.outcome != "booked" or self._request is None:
            self._set_status(answer.outcome)
            await workflow.wait_condition(workflow.all_handlers_finished)
            if answer.outcome == "error":
                raise ApplicationError(self._state.failure or "phase 1 failed", type="Phase1Failed")
            return BookingOutcome(answer=answer, final_status=answer.outcome)
        await self._phase2(self._request)
        await self._until_after_visit(self._request)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BookingOutcome(answer=answer, final_status=self._state.status)

    @workflow.update
    async def book(self, request: BookInput) -> BookResult:
        """Answer the caller: waits only for phase 1. Repeats of the same update id are deduped
        by Temporal and get this same answer."""
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @book.validator
    def _validate_book(self, request: BookInput) -> None:
        if request.booking_id != self._input.booking_id or request.org_id != self._input.org_id:
            raise ValueError("this update belongs to another booking")

    @workflow.query
    def status(self) -> BookingState:
        """The workflow's whole state."""
        return self._state

    # Phase 1 -----------------------------------------------------------------------------

    async def _phase1(self) -> BookResult:
        source = self._input
        workflow.upsert_search_attributes([ORG_SLUG.value_set(source.org_slug)])
        try:
            self._set_details("validating the request")
            request = await workflow.execute_local_activity_method(
                RequestActivities.check_request,
                source,
                start_to_close_timeout=_PHASE1_TIMEOUT,
                retry_policy=_PHASE1_RETRY,
            )
            self._set_details("resolving the contact")
            contact = await workflow.execute_local_activity_method(
                ContactActivities.resolve_contact,
                request,
                start_to_close_timeout=_PHASE1_TIMEOUT,
                retry_policy=_PHASE1_RETRY,
            )
            self._set_details("reserving the slot")
            await workflow.execute_local_activity_method(
                SlotActivities.reserve_slot,
                ReserveSlotInput(request=request, contact_id=contact.contact_id),
                start_to_close_timeout=_PHASE1_TIMEOUT,
                retry_policy=_PHASE1_RETRY,
            )
        except (ActivityError, ApplicationError) as error:
            # Local activity failures can surface unwrapped, as the ApplicationError itself.
            return self._rejection(error)
        self._request = request
        self._state.starts_at = request.starts_at
        workflow.upsert_search_attributes([APPOINTMENT_START.value_set(request.starts_at)])
        self._set_status("held")
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

    def _rejection(self, error: ActivityError | ApplicationError) -> BookResult:
        cause = error.cause if isinstance(error, ActivityError) else error
        if isinstance(cause, ApplicationError) and cause.type in _REJECTIONS:
            details = cause.details[0] if cause.details else {}
            return BookResult(
                outcome=_REJECTIONS[cause.type],  # type: ignore[arg-type]
                message=cause.message,
                alternatives=details.get("alternatives", []),
                field=details.get("field"),
            )
        # Not the caller's fault: answer honestly now, fail the run visibly afterwards.
        self._state.failure = f"phase 1: {cause or error}"
        workflow.logger.error("booking phase 1 failed: %s", self._state.failure)
        return BookResult(outcome="error", message=_TECHNICAL_PROBLEM)

    # Phase 2 -----------------------------------------------------------------------------

    async def _phase2(self, request: BookingRequest) -> None:
        ref = BookingRef(org_id=request.org_id, booking_id=request.booking_id)
        self._set_details("creating the calendar event and sending the confirmation SMS")
        calendar, _ = await asyncio.gather(
            self._create_event(ref, request),
            self._send_sms(ref, "confirmation", "confirmation"),
            return_exceptions=True,
        )
        if isinstance(calendar, BaseException):
            await self._compensate(ref, f"calendar: {_describe(calendar)}", calendar)
            return
        self._state.calendar_event_id = calendar
        try:
            await workflow.execute_activity_method(
                SlotActivities.confirm_booking,
                ConfirmBookingInput(booking=ref, calendar_event_id=calendar),
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                retry_policy=self._retry(),
            )
        except ActivityError as error:
            await self._compensate(ref, f"confirm: {_describe(error)}", error)
            return
        self._set_status("confirmed")
        self._set_details("confirmed; waiting for the appointment")

    async def _create_event(self, ref: BookingRef, request: BookingRequest) -> str:
        # Keep retrying transient failures until the deadline, then give up and compensate.
        deadline = request.starts_at - self._timings.calendar_deadline_before_start
        window = max(deadline - workflow.now(), _MIN_CALENDAR_WINDOW)
        result = await workflow.execute_activity_method(
            CalendarActivities.create_calendar_event,
            ref,
            start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
            schedule_to_close_timeout=window,
            retry_policy=self._retry(),
        )
        return result.event_id

    async def _send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None:
        """Send one SMS; a failure is recorded in the state, never raised (texts don't un-book)."""
        try:
            result = await workflow.execute_activity_method(
                SmsActivities.send_sms,
                SendSmsInput(booking=ref, kind=kind, send_key=send_key),
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                schedule_to_close_timeout=_SMS_GIVE_UP_AFTER,
                retry_policy=self._retry(),
            )
            outcome = (
                result.status
                if result.error_code is None
                else (f"{result.status} {result.error_code}")
            )
        except ActivityError as error:
            workflow.logger.warning("sms %s gave up: %s", send_key, _describe(error))
            outcome = f"gave up: {_describe(error)}"
        self._state.sms[send_key] = outcome

    async def _compensate(self, ref: BookingRef, reason: str, original: BaseException) -> None:
        """Undo phase 1 and 2 in reverse, each step retried until it succeeds, then fail."""
        self._set_status("compensating")
        self._state.failure = reason
        self._set_details(f"compensating: {reason}")
        try:
            await workflow.execute_activity_method(
                CalendarActivities.delete_calendar_event,
                ref,
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                retry_policy=self._retry(),
            )
        except ActivityError as error:
            # A permanent refusal to delete (e.g. no access) must not block releasing the slot.
            workflow.logger.error("could not delete the calendar event: %s", _describe(error))
            self._state.failure = f"{reason}; event not deleted: {_describe(error)}"
        await workflow.execute_activity_method(
            SlotActivities.release_slot,
            ReleaseSlotInput(booking=ref, reason=reason[:1000]),
            start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
            retry_policy=self._retry(),
        )
        await self._send_sms(ref, "apology", "apology")
        self._set_status("failed")
        self._set_details(f"failed: {self._state.failure}")
        await workflow.wait_condition(workflow.all_handlers_finished)
        raise ApplicationError(
            f"booking failed and was compensated: {reason}",
            type="BookingFailed",
            non_retryable=True,
        ) from original

    async def _until_after_visit(self, request: BookingRequest) -> None:
        """Stay open (for the lifecycle handlers) until the grace period after the visit."""
        end = request.ends_at + self._timings.completion_grace
        remaining = end - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)

    # Helpers -----------------------------------------------------------------------------

    def _retry(self) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=self._timings.retry_initial_interval,
            maximum_interval=self._timings.retry_maximum_interval,
            backoff_coefficient=2.0,
        )

    def _set_status(self, status: str) -> None:
        self._state.status = status
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set(status)])

    def _set_details(self, text: str) -> None:
        self._state.waiting_for = text
        workflow.set_current_details(text)


def _describe(error: BaseException) -> str:
    """The innermost message of an activity failure: what an operator needs to read."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    if isinstance(error, ApplicationError) and error.type:
        return f"{error.type}: {error.message}"
    return str(error) or type(error).__name__
