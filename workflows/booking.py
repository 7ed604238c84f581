"""BookingWorkflow: one booking from the tool call to after the visit.

Started by update-with-start; the `book` update returns as soon as phase 1 has decided the
answer (early return), while phase 2 carries on durably.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import legacy
from workflows.failures import describe, retryable

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from activities.confirmation import ConfirmationActivities
    from activities.reservations import ReservationActivities
    from activities.slots import SlotActivities
    from activities.sms import SmsActivities
    from core.domain.normalize import ensure_timezone
    from core.domain.speech import spoken_datetime
    from core.temporal.models import (
        BookingOutcome,
        BookingRef,
        BookingRequest,
        BookingState,
        BookingWorkflowInput,
        BookInput,
        BookResult,
        CalendarEventResult,
        CancelBookingInput,
        CancelRequest,
        ConfirmationResult,
        LifecycleResult,
        MovedSlot,
        MoveSlotInput,
        ReleaseSlotInput,
        RescheduleRequest,
        RestoreSlotInput,
        SendSmsInput,
        SmsKind,
        SmsResult,
    )
    from core.temporal.names import (
        APPOINTMENT_START,
        BOOKING_STATUS,
        side_effect_task_queue,
    )

# Phase 1 runs while the caller waits: a few quick attempts, then an honest "try again".
_PHASE1_TIMEOUT = timedelta(seconds=5)
_PHASE1_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)
_SIDE_EFFECT_TIMEOUT = timedelta(seconds=30)
# Phase 2's one activity: a calendar insert and a text, each bounded by its client's timeout.
_CONFIRMATION_TIMEOUT = timedelta(seconds=75)
# Activities that wait on a vendor heartbeat: a dead worker's attempt is retried elsewhere
# this soon, instead of after the whole start-to-close timeout.
_VENDOR_HEARTBEAT = timedelta(seconds=10)
_SMS_GIVE_UP_AFTER = timedelta(hours=6)
# Even an imminent appointment gets a few attempts before compensation.
_MIN_CALENDAR_WINDOW = timedelta(seconds=5)
# Error types the caller caused; everything else is our problem and is answered as such.
_REJECTIONS = {"InvalidInput": "invalid", "SlotUnavailable": "unavailable"}
_ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
_NOT_BOOKED = "There is no booking to change: it was never made."
_REFUSALS = {
    "received": "This booking is still being made; please try again in a moment.",
    "already_booked": _NOT_BOOKED,  # the caller's booking is another workflow's
    "unavailable": _NOT_BOOKED,
    "invalid": _NOT_BOOKED,
    "error": _NOT_BOOKED,
    "compensating": "This booking could not be confirmed and is being released; please book again.",
    "failed": "This booking could not be confirmed and was released; please book again.",
    "cancelled": "This booking is already cancelled.",
}
T = TypeVar("T")
_TECHNICAL_PROBLEM = (
    "Sorry, I couldn't complete the booking because of a technical problem. "
    "Please try again in a moment."
)


@workflow.defn
class BookingWorkflow:
    """One booking's whole life.

    Update `book(BookInput) -> BookResult`: the caller's answer (booked / already booked /
    unavailable / invalid), returned after phase 1: one local activity, one Postgres statement.
    Query `status() -> BookingState`: everything the workflow knows, for operators.
    Phase 2: calendar event, then `confirmed`, then the confirmation SMS (one activity); a
    permanent calendar failure (or one outlasting the deadline) compensates: event deleted, slot
    released (`failed`), apology SMS, and the workflow fails with the original error.
    Lifecycle, until the grace period after the visit: signals `reschedule` {"start": ...} and
    `cancel` {"reason": ...} (what an operator sends from the Temporal UI) and the updates
    `reschedule_booking` / `cancel_booking` (what the API and voice tools call, answered with a
    LifecycleResult) share one implementation, one change at a time; a reminder SMS goes out
    the lead time before the start.
    """

    @workflow.init
    def __init__(self, start: BookingWorkflowInput) -> None:
        self._input = start.request
        self._timings = start.timings
        self._answer: BookResult | None = None
        self._request: BookingRequest | None = None
        self._state = BookingState(status="received", booking_id=start.request.booking_id)
        # One lifecycle change (or reminder) at a time; asyncio.Lock is deterministic here.
        self._lock = asyncio.Lock()
        self._settled = False  # phase 2 is over (confirmed or failed): changes may proceed
        self._finished = False  # cancelled: the workflow ends
        self._wake = False  # a change re-arms the reminder timer
        self._start_set_at: datetime | None = None
        self._background: list[asyncio.Task[Any]] = []
        # Whether this run takes the one-statement answer path, or is one the previous release
        # started and replays its paths (workflows/legacy.py). Read from the input, which
        # costs no history event, unlike a `workflow.patched` marker.
        self._one_statement = start.phase1 == "one-statement"
        # Calendar, SMS and compensation steps run on their own task queue and worker slots,
        # so a burst of side effects never delays another caller's answer.
        self._side_effects = side_effect_task_queue(workflow.info().task_queue)

    @workflow.run
    async def run(self, start: BookingWorkflowInput) -> BookingOutcome:
        answer = await self._phase1()
        self._answer = answer
        self._state.answer = answer
        if answer.outcome != "booked" or self._request is None:
            self._set_status(answer.outcome)
            self._settled = True
            await workflow.wait_condition(workflow.all_handlers_finished)
            if answer.outcome == "error":
                raise ApplicationError(self._state.failure or "phase 1 failed", type="Phase1Failed")
            return BookingOutcome(answer=answer, final_status=answer.outcome)
        if self._one_statement:
            await self._phase2(self._request)
        else:
            await legacy.phase2(self, self._request)
        self._settled = True
        await self._live_until_after_visit()
        await asyncio.gather(*self._background)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BookingOutcome(answer=answer, final_status=self._state.status)

    @workflow.update
    async def book(self, request: BookInput) -> BookResult:
        """Answer the caller: waits only for phase 1. Every copy of the request (each with its
        own update id) gets this same answer."""
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @book.validator
    def _validate_book(self, request: BookInput) -> None:
        if request.booking_id != self._input.booking_id or request.org_id != self._input.org_id:
            raise ValueError("this update belongs to another booking")

    @workflow.signal(name="reschedule")
    async def reschedule_signal(self, request: RescheduleRequest) -> None:
        """Move the booking (from the Temporal UI: {"start": "2026-11-25T10:00"})."""
        await self._reschedule(request)

    @workflow.signal(name="cancel")
    async def cancel_signal(self, request: CancelRequest) -> None:
        """Cancel the booking (from the Temporal UI: {"reason": "patient called"})."""
        await self._cancel(request)

    @workflow.update(name="reschedule_booking")
    async def reschedule(self, request: RescheduleRequest) -> LifecycleResult:
        return await self._reschedule(request)

    @workflow.update(name="cancel_booking")
    async def cancel(self, request: CancelRequest) -> LifecycleResult:
        return await self._cancel(request)

    @reschedule.validator
    def _validate_reschedule(self, request: RescheduleRequest) -> None:
        self._validate_change()

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._validate_change()

    def _validate_change(self) -> None:
        # Rejected updates leave no trace in history; accepted ones are re-checked under the lock.
        refusal = self._refusal()
        if refusal is not None:
            raise ValueError(refusal)

    @workflow.query
    def status(self) -> BookingState:
        """The workflow's whole state."""
        return self._state

    # Phase 1 -----------------------------------------------------------------------------

    async def _phase1(self) -> BookResult:
        if not self._one_statement:
            return await legacy.phase1(self)
        self._set_details("reserving the slot")
        try:
            decided = await workflow.execute_local_activity_method(
                ReservationActivities.reserve_booking,
                self._input,
                start_to_close_timeout=_PHASE1_TIMEOUT,
                retry_policy=_PHASE1_RETRY,
            )
        except (ActivityError, ApplicationError) as error:
            # Local activity failures can surface unwrapped, as the ApplicationError itself.
            return self._rejection(error)
        if decided.booking is not None:
            self._request = decided.booking
            self._hold(decided.booking)
        return decided.answer

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
        """Event, then `confirmed`, then the confirmation text: one activity, retried here
        until the calendar deadline; a failure before the booking is confirmed compensates."""
        ref = BookingRef(org_id=request.org_id, booking_id=request.booking_id)
        self._set_details("creating the calendar event, then confirming and texting")
        try:
            done: ConfirmationResult = await self._attempts(
                "calendar: creating the event",
                lambda: workflow.execute_activity_method(
                    ConfirmationActivities.confirm_booking_with_event,
                    ref,
                    start_to_close_timeout=_CONFIRMATION_TIMEOUT,
                    heartbeat_timeout=_VENDOR_HEARTBEAT,
                    task_queue=self._side_effects,
                    retry_policy=_ONE_ATTEMPT,
                ),
                give_up_at=self._calendar_deadline(request.starts_at),
            )
        except ActivityError as error:
            await self._compensate(ref, f"calendar: {describe(error)}", error)
            return
        self._state.calendar_event_id = done.event_id
        self._set_status("confirmed")
        self._set_details("confirmed; waiting for the appointment")
        if done.sms is None:
            self._spawn(self._send_sms(ref, "confirmation", "confirmation"))
        else:
            self._state.sms["confirmation"] = _sms_outcome(done.sms)

    async def _send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None:
        """Send one SMS; a failure is recorded in the state, never raised (texts don't un-book)."""
        try:
            result = await workflow.execute_activity_method(
                SmsActivities.send_sms,
                SendSmsInput(booking=ref, kind=kind, send_key=send_key),
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                heartbeat_timeout=_VENDOR_HEARTBEAT,
                task_queue=self._side_effects,
                schedule_to_close_timeout=_SMS_GIVE_UP_AFTER,
                retry_policy=self._retry(),
            )
            outcome = _sms_outcome(result)
        except ActivityError as error:
            workflow.logger.warning("sms %s gave up: %s", send_key, describe(error))
            outcome = f"gave up: {describe(error)}"
        self._state.sms[send_key] = outcome

    async def _compensate(self, ref: BookingRef, reason: str, original: BaseException) -> None:
        """Undo phase 1 and 2, each step retried until it succeeds, then fail the run.

        The slot is released first, and only from `held`: a booking that turns out confirmed
        (an attempt confirmed it and its answer was lost) keeps its event, nobody is sent an
        apology, and the workflow carries on as confirmed. (The previous release deleted the
        event first; its histories replay that order.)
        """
        self._set_status("compensating")
        self._state.failure = reason
        self._set_details(f"compensating: {reason}")
        if self._one_statement:
            if await self._release(ref, reason) == "confirmed":
                workflow.logger.error("compensation found the booking confirmed: %s", reason)
                self._state.failure = None
                self._set_status("confirmed")
                self._set_details(f"confirmed, though phase 2 reported: {reason}")
                return
            await self._delete_event_for_compensation(ref, reason)
        else:
            await self._delete_event_for_compensation(ref, reason)
            await self._release(ref, reason)
        await self._send_sms(ref, "apology", "apology")
        self._set_status("failed")
        self._set_details(f"failed: {self._state.failure}")
        self._settled = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        raise ApplicationError(
            f"booking failed and was compensated: {reason}",
            type="BookingFailed",
            non_retryable=True,
        ) from original

    async def _delete_event_for_compensation(self, ref: BookingRef, reason: str) -> None:
        try:
            await workflow.execute_activity_method(
                CalendarActivities.delete_calendar_event,
                ref,
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                task_queue=self._side_effects,
                retry_policy=self._retry(),
            )
        except ActivityError as error:
            # A permanent refusal to delete (e.g. no access) must not block the rest.
            workflow.logger.error("could not delete the calendar event: %s", describe(error))
            self._state.failure = f"{reason}; event not deleted: {describe(error)}"

    async def _release(self, ref: BookingRef, reason: str) -> str:
        """`held` → `failed`; returns the booking's status afterwards."""
        return await workflow.execute_activity_method(
            SlotActivities.release_slot,
            ReleaseSlotInput(booking=ref, reason=reason[:1000]),
            start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
            task_queue=self._side_effects,
            retry_policy=self._retry(),
        )

    # Lifecycle -----------------------------------------------------------------------------

    async def _live_until_after_visit(self) -> None:
        """Send the reminder when it is due; end after the visit plus the grace period, or at
        once when cancelled. A reschedule wakes this loop so the timers follow the new time."""
        while not self._finished:
            assert self._state.ends_at is not None
            ends_at = self._state.ends_at + self._timings.completion_grace
            due = self._reminder_due_at()
            self._state.reminder_due_at = due
            now = workflow.now()
            if due is not None and due <= now:
                await self._send_reminder()
                continue
            if ends_at <= now:
                return
            wake_at = min(due, ends_at) if due is not None else ends_at
            self._set_details(
                f"confirmed; reminder due {due.isoformat()}"
                if due is not None
                else f"confirmed; ends {ends_at.isoformat()}"
            )
            self._wake = False
            try:
                await workflow.wait_condition(
                    lambda: self._wake or self._finished, timeout=wake_at - now
                )
            except TimeoutError:
                pass

    def _reminder_due_at(self) -> datetime | None:
        """When the reminder for the current start is due; None if sent, or if the start was
        set (booked or moved) inside the lead time, when the confirmation is reminder enough."""
        start = self._state.starts_at
        if self._state.status != "confirmed" or start is None:
            return None
        if self._state.reminder_sent_for == start:
            return None
        due = start - self._timings.reminder_lead_time
        if self._start_set_at is not None and due < self._start_set_at:
            return None
        return due

    async def _send_reminder(self) -> None:
        async with self._lock:
            due = self._reminder_due_at()
            start = self._state.starts_at
            if due is None or start is None or due > workflow.now():
                return  # a change under the lock moved or cancelled it
            if workflow.now() < start:
                await self._send_sms(self._ref(), "reminder", f"reminder:{start.isoformat()}")
            self._state.reminder_sent_for = start

    def _refusal(self) -> str | None:
        """Why the booking cannot be changed now, or None."""
        refusal = _REFUSALS.get(self._state.status)
        if refusal is not None:
            return refusal
        start = self._state.starts_at
        if start is not None and workflow.now() >= start:
            return "This appointment has already started, so it can't be changed."
        return None

    async def _reschedule(self, request: RescheduleRequest) -> LifecycleResult:
        await workflow.wait_condition(lambda: self._settled)
        async with self._lock:
            refusal = self._refusal()
            if refusal is not None:
                return self._record(LifecycleResult(outcome="refused", message=refusal))
            ref = self._ref()
            try:
                moved = await workflow.execute_local_activity_method(
                    SlotActivities.move_slot,
                    MoveSlotInput(booking=ref, start=request.start),
                    start_to_close_timeout=_PHASE1_TIMEOUT,
                    retry_policy=_PHASE1_RETRY,
                )
            except (ActivityError, ApplicationError) as error:
                return self._record(self._change_rejected(error))
            if not moved.moved:
                return self._record(
                    LifecycleResult(
                        outcome="unchanged",
                        message=f"The appointment is already on {self._spoken(moved.starts_at)}.",
                        start=moved.starts_at,
                    )
                )
            self._set_appointment(moved.starts_at, moved.ends_at)
            try:
                await self._move_event(ref, moved)
            except ActivityError as error:
                return self._record(await self._undo_move(ref, moved, error))
            self._wake = True
            self._spawn(
                self._send_sms(ref, "rescheduled", f"rescheduled:{moved.starts_at.isoformat()}")
            )
            return self._record(
                LifecycleResult(
                    outcome="rescheduled",
                    message=f"Done: the appointment is moved to {self._spoken(moved.starts_at)}.",
                    start=moved.starts_at,
                )
            )

    async def _move_event(self, ref: BookingRef, moved: MovedSlot) -> CalendarEventResult:
        self._set_details("calendar: moving the event")
        return await self._attempts(
            "calendar: moving the event",
            lambda: workflow.execute_activity_method(
                CalendarActivities.move_calendar_event,
                ref,
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                task_queue=self._side_effects,
                retry_policy=_ONE_ATTEMPT,
            ),
            give_up_at=self._calendar_deadline(moved.starts_at),
        )

    async def _undo_move(
        self, ref: BookingRef, moved: MovedSlot, error: ActivityError
    ) -> LifecycleResult:
        """Compensation: the calendar refused the new time, so the slot goes back."""
        reason = describe(error)
        workflow.logger.warning("calendar refused the move, moving the slot back: %s", reason)
        try:
            await workflow.execute_activity_method(
                SlotActivities.restore_slot,
                RestoreSlotInput(
                    booking=ref, starts_at=moved.previous_start, ends_at=moved.previous_end
                ),
                start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                task_queue=self._side_effects,
                retry_policy=self._retry(),
            )
        except ActivityError as restore_error:
            # The old time was taken meanwhile: the booking stays at the new time in Postgres,
            # while the calendar still shows the old one. Visible to operators, never silent.
            self._state.failure = (
                f"moved to {moved.starts_at.isoformat()} but the calendar refused ({reason}) "
                f"and the old time could not be restored ({describe(restore_error)})"
            )
            self._set_details(f"needs attention: {self._state.failure}")
            return LifecycleResult(
                outcome="error",
                message="Sorry, the move went only half through; the clinic will call you.",
                start=moved.starts_at,
            )
        self._set_appointment(moved.previous_start, moved.previous_end)
        self._set_details("confirmed; a move was undone because the calendar refused it")
        return LifecycleResult(
            outcome="error",
            message=(
                "Sorry, I couldn't move the appointment because the calendar refused the change; "
                f"it stays on {self._spoken(moved.previous_start)}."
            ),
            start=moved.previous_start,
        )

    async def _cancel(self, request: CancelRequest) -> LifecycleResult:
        await workflow.wait_condition(lambda: self._settled)
        async with self._lock:
            refusal = self._refusal()
            if refusal is not None:
                return self._record(LifecycleResult(outcome="refused", message=refusal))
            ref = self._ref()
            status = await workflow.execute_local_activity_method(
                SlotActivities.cancel_booking,
                CancelBookingInput(booking=ref, reason=request.reason),
                start_to_close_timeout=_PHASE1_TIMEOUT,
                retry_policy=self._retry(),
            )
            if status != "cancelled":
                return self._record(
                    LifecycleResult(outcome="refused", message=f"This booking is {status}.")
                )
            self._set_status("cancelled")
            self._finished = True
            self._spawn(self._after_cancel(ref))
            return self._record(
                LifecycleResult(
                    outcome="cancelled",
                    message=f"Done: the appointment on {self._spoken(self._state.starts_at)} "
                    "is cancelled.",
                    start=self._state.starts_at,
                )
            )

    async def _after_cancel(self, ref: BookingRef) -> None:
        """The slot is already free; remove the event (gone already is fine) and tell them."""
        try:
            await self._attempts(
                "calendar: deleting the event",
                lambda: workflow.execute_activity_method(
                    CalendarActivities.delete_calendar_event,
                    ref,
                    start_to_close_timeout=_SIDE_EFFECT_TIMEOUT,
                    task_queue=self._side_effects,
                    retry_policy=_ONE_ATTEMPT,
                ),
                give_up_at=None,
            )
        except ActivityError as error:
            self._state.failure = (
                f"cancelled, but the calendar event was not deleted: {describe(error)}"
            )
            workflow.logger.error(self._state.failure)
        await self._send_sms(ref, "cancelled", "cancelled")
        self._set_details("cancelled")

    def _change_rejected(self, error: ActivityError | ApplicationError) -> LifecycleResult:
        rejected = self._rejection(error)
        outcome = rejected.outcome if rejected.outcome in ("unavailable", "invalid") else "error"
        return LifecycleResult(
            outcome=outcome,  # type: ignore[arg-type]
            message=rejected.message,
            alternatives=rejected.alternatives,
        )

    def _record(self, result: LifecycleResult) -> LifecycleResult:
        """Keep the outcome of every change request in the state: signals have no caller."""
        when = workflow.now().isoformat()
        self._state.changes.append(f"{when} {result.outcome}: {result.message}")
        return result

    # Helpers -----------------------------------------------------------------------------

    async def _attempts(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, give_up_at: datetime | None
    ) -> T:
        """Run a one-attempt activity until it succeeds, retrying in the workflow so the current
        details can say what is going on: "calendar: attempt 6 failed (... 503 ...)". A final
        (non-retryable) error, or reaching `give_up_at`, raises the last ActivityError."""
        delay = self._timings.retry_initial_interval
        number = 1
        while True:
            try:
                return await attempt()
            except ActivityError as error:
                if not retryable(error):
                    raise
                if give_up_at is not None and workflow.now() + delay > give_up_at:
                    raise
                self._set_details(
                    f"{what}: attempt {number} failed ({describe(error)}); "
                    f"retrying in {delay.total_seconds():g} s"
                )
                await workflow.sleep(delay)
                number += 1
                delay = min(delay * 2, self._timings.retry_maximum_interval)

    def _calendar_deadline(self, starts_at: datetime) -> datetime:
        # Even an imminent appointment gets a few attempts before compensation.
        deadline = starts_at - self._timings.calendar_deadline_before_start
        return max(deadline, workflow.now() + _MIN_CALENDAR_WINDOW)

    def _hold(self, request: BookingRequest) -> None:
        """Phase 1 made the booking: `held` at its time, both search attributes in one upsert."""
        self._state.status = "held"
        self._state.starts_at = request.starts_at
        self._state.ends_at = request.ends_at
        self._start_set_at = workflow.now()
        workflow.upsert_search_attributes(
            [
                BOOKING_STATUS.value_set("held"),
                APPOINTMENT_START.value_set(request.starts_at),
            ]
        )

    def _set_appointment(self, starts_at: datetime, ends_at: datetime) -> None:
        self._state.starts_at = starts_at
        self._state.ends_at = ends_at
        self._start_set_at = workflow.now()
        workflow.upsert_search_attributes([APPOINTMENT_START.value_set(starts_at)])

    def _ref(self) -> BookingRef:
        return BookingRef(org_id=self._input.org_id, booking_id=self._input.booking_id)

    def _spoken(self, at: datetime | None) -> str:
        assert at is not None and self._request is not None
        return spoken_datetime(at, ensure_timezone(self._request.time_zone))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after answering; the run waits for it before completing."""
        self._background.append(asyncio.create_task(work))

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


def _sms_outcome(result: SmsResult) -> str:
    return result.status if result.error_code is None else f"{result.status} {result.error_code}"
