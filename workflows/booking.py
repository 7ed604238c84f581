"""BookingWorkflow: one booking from the tool call to after the visit.

Started by update-with-start; the `book` update returns as soon as phase 1 has decided the
answer (early return), while phase 2 carries on durably. The chapters after that live beside
it: workflows/compensation.py (undoing a failed phase 2), workflows/lifecycle.py (the
reminder, reschedule and cancel until after the visit) and workflows/legacy.py (the previous
release's phases, kept for replay). How each activity is called and retried:
workflows/activity_options.py; what is answered: workflows/outcomes.py and
core/domain/messages.py; what the workflow reports: workflows/progress.py.
"""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options as options
from workflows import compensation, legacy, lifecycle
from workflows.failures import cause_of, describe
from workflows.outcomes import answer_to_failure, refusal, sms_outcome
from workflows.progress import BookingProgress

with workflow.unsafe.imports_passed_through():
    from activities.confirmation import ConfirmationActivities
    from activities.reservations import ReservationActivities
    from activities.sms import SmsActivities
    from core.domain import messages
    from core.domain.normalize import ensure_timezone
    from core.domain.statuses import WorkflowStatus
    from core.temporal.models import (
        BookingRef,
        BookingRequest,
        BookingState,
        BookingWorkflowInput,
        BookingWorkflowResult,
        BookInput,
        BookResult,
        CancelChange,
        LifecycleResult,
        RescheduleChange,
        SendSmsInput,
        SmsKind,
    )
    from core.temporal.names import side_effect_task_queue

T = TypeVar("T")


@workflow.defn
class BookingWorkflow:
    """One booking's whole life.

    Update `book(BookInput) -> BookResult`: the caller's answer (booked / already booked /
    unavailable / invalid), returned after phase 1: one local activity, one Postgres statement.
    Query `status() -> BookingState`: everything the workflow knows, for operators.
    Phase 2: calendar event, then `confirmed`, then the confirmation SMS (one activity); a
    permanent calendar failure (or one outlasting the deadline) compensates: slot released
    (`failed`), event deleted, apology SMS, and the workflow fails with the original error.
    Lifecycle, until the grace period after the visit: signals `reschedule` {"start": ...} and
    `cancel` {"reason": ...} (what an operator sends from the Temporal UI) and the updates
    `reschedule_booking` / `cancel_booking` (what the API and voice tools call, answered with a
    LifecycleResult) share one implementation, one change at a time; a reminder SMS goes out
    the lead time before the start. The UI and the recorded histories use these registered
    names: tests/unit/test_workflow_handlers.py pins them.
    """

    @workflow.init
    def __init__(self, start: BookingWorkflowInput) -> None:
        self.caller_input = start.request
        self.timings = start.timings
        self._answer: BookResult | None = None
        self.booking_request: BookingRequest | None = None
        self.progress = BookingProgress(start.request.booking_id)
        self.state = self.progress.state  # the one state object, updated in place
        # One lifecycle change (or reminder) at a time; asyncio.Lock is deterministic here.
        self.lock = asyncio.Lock()
        self.settled = False  # phase 2 is over (confirmed or failed): changes may proceed
        self.finished = False  # cancelled: the workflow ends
        self.wake = False  # a change re-arms the reminder timer
        self._background: list[asyncio.Task[Any]] = []
        # Whether this run takes the one-statement answer path, or is one the previous release
        # started and replays its paths (workflows/legacy.py). Read from the input, which
        # costs no history event, unlike a `workflow.patched` marker.
        self.one_statement = start.phase1 == "one-statement"
        # Calendar, SMS and compensation steps run on their own task queue and worker slots,
        # so a burst of side effects never delays another caller's answer.
        self.side_effects = side_effect_task_queue(workflow.info().task_queue)

    @workflow.run
    async def run(self, start: BookingWorkflowInput) -> BookingWorkflowResult:
        answer = await self._phase1()
        self._answer = answer
        self.state.answer = answer
        if answer.outcome != "booked":
            self.progress.set_status(WorkflowStatus(answer.outcome))
            self.settled = True
            await workflow.wait_condition(workflow.all_handlers_finished)
            if answer.outcome == "error":
                raise ApplicationError(self.state.failure or "phase 1 failed", type="Phase1Failed")
            return BookingWorkflowResult(answer=answer, final_status=WorkflowStatus(answer.outcome))
        if self.booking_request is None:
            # Phase 1 answers "booked" only together with the booking; fail visibly otherwise.
            raise ApplicationError("phase 1 answered booked without a booking", type="Phase1Failed")
        if self.one_statement:
            await self._phase2(self.booking_request)
        else:
            await legacy.phase2(self, self.booking_request)
        self.settled = True
        await lifecycle.live_until_after_visit(self)
        await asyncio.gather(*self._background)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return BookingWorkflowResult(answer=answer, final_status=self.state.status)

    @workflow.update
    async def book(self, request: BookInput) -> BookResult:
        """Answer the caller: waits only for phase 1. Every copy of the request (each with its
        own update id) gets this same answer."""
        await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        return self._answer

    @book.validator
    def _validate_book(self, request: BookInput) -> None:
        if (
            request.booking_id != self.caller_input.booking_id
            or request.org_id != self.caller_input.org_id
        ):
            raise ValueError("this update belongs to another booking")

    @workflow.signal(name="reschedule")
    async def reschedule_signal(self, change: RescheduleChange) -> None:
        """Move the booking (from the Temporal UI: {"start": "2026-11-25T10:00"})."""
        await self._reschedule(change)

    @workflow.signal(name="cancel")
    async def cancel_signal(self, change: CancelChange) -> None:
        """Cancel the booking (from the Temporal UI: {"reason": "patient called"})."""
        await self._cancel(change)

    @workflow.update(name="reschedule_booking")
    async def reschedule(self, change: RescheduleChange) -> LifecycleResult:
        return await self._reschedule(change)

    @workflow.update(name="cancel_booking")
    async def cancel(self, change: CancelChange) -> LifecycleResult:
        return await self._cancel(change)

    @reschedule.validator
    def _validate_reschedule(self, change: RescheduleChange) -> None:
        self._validate_change()

    @cancel.validator
    def _validate_cancel(self, change: CancelChange) -> None:
        self._validate_change()

    def _validate_change(self) -> None:
        # Rejected updates leave no trace in history; accepted ones are re-checked under the lock.
        refused = self._refusal()
        if refused is not None:
            raise ValueError(refused)

    @workflow.query
    def status(self) -> BookingState:
        """The workflow's whole state."""
        return self.state

    async def _reschedule(self, change: RescheduleChange) -> LifecycleResult:
        return await self._change(lambda: lifecycle.reschedule(self, change))

    async def _cancel(self, change: CancelChange) -> LifecycleResult:
        return await self._change(lambda: lifecycle.cancel(self, change))

    async def _change(self, make: Callable[[], Awaitable[LifecycleResult]]) -> LifecycleResult:
        """One change at a time, once phase 2 has settled; refused in words (and recorded, as
        every change's answer is: a signal has nobody to answer) when it can no longer be."""
        await workflow.wait_condition(lambda: self.settled)
        async with self.lock:
            refused = self._refusal()
            if refused is not None:
                return self.progress.record(LifecycleResult(outcome="refused", message=refused))
            return await make()

    # Phase 1: the caller's answer ----------------------------------------------------------

    async def _phase1(self) -> BookResult:
        if not self.one_statement:
            return await legacy.phase1(self)
        self.progress.set_details("reserving the slot")
        try:
            decided = await workflow.execute_local_activity_method(
                ReservationActivities.reserve_booking, self.caller_input, **options.answer_path()
            )
        except (ActivityError, ApplicationError) as error:
            return self.rejection(error)
        if decided.booking is not None:
            self.booking_request = decided.booking
            self.progress.hold(decided.booking.starts_at, decided.booking.ends_at)
        return decided.answer

    def rejection(self, error: ActivityError | ApplicationError) -> BookResult:
        answer = answer_to_failure(error, self.locale())
        if answer.outcome == "error":
            # Not the caller's fault: answer honestly now, fail the run visibly afterwards.
            self.state.failure = f"phase 1: {cause_of(error)}"
            workflow.logger.error("booking phase 1 failed: %s", self.state.failure)
        return answer

    # Phase 2: the event, `confirmed`, the text (or compensation.py) -----------------------

    async def _phase2(self, request: BookingRequest) -> None:
        """Event, then `confirmed`, then the confirmation text: one activity, retried here
        until the calendar deadline; a failure before the booking is confirmed compensates."""
        ref = self.ref()
        self.progress.set_details("creating the calendar event, then confirming and texting")
        calendar = options.one_attempt(
            self.side_effects,
            timeout=options.CONFIRMATION_TIMEOUT,
            heartbeat=options.VENDOR_HEARTBEAT,
        )
        try:
            done = await self.attempts(
                "calendar: creating the event",
                lambda: workflow.execute_activity_method(
                    ConfirmationActivities.confirm_booking_with_event, ref, **calendar
                ),
                give_up_at=self.calendar_deadline(request.starts_at),
            )
        except ActivityError as error:
            await compensation.compensate(self, ref, f"calendar: {describe(error)}", error)
            return
        self.state.calendar_event_id = done.event_id
        self.progress.set_status(WorkflowStatus.CONFIRMED)
        self.progress.set_details("confirmed; waiting for the appointment")
        if done.sms is None:
            self.spawn(self.send_sms(ref, "confirmation", "confirmation"))
        else:
            self.state.sms["confirmation"] = sms_outcome(done.sms)

    # What the chapters share ---------------------------------------------------------------

    async def send_sms(self, ref: BookingRef, kind: SmsKind, send_key: str) -> None:
        """Send one SMS; a failure is recorded in the state, never raised (texts don't un-book)."""
        sms = self.durable(
            heartbeat=options.VENDOR_HEARTBEAT, give_up_after=options.SMS_GIVE_UP_AFTER
        )
        try:
            result = await workflow.execute_activity_method(
                SmsActivities.send_sms,
                SendSmsInput(booking=ref, kind=kind, send_key=send_key),
                **sms,
            )
            outcome = sms_outcome(result)
        except ActivityError as error:
            workflow.logger.warning("sms %s gave up: %s", send_key, describe(error))
            outcome = f"gave up: {describe(error)}"
        self.state.sms[send_key] = outcome

    async def attempts(
        self, what: str, attempt: Callable[[], Awaitable[T]], *, give_up_at: datetime | None
    ) -> T:
        """`attempt` (a `one_attempt` activity) retried here until `give_up_at`, each failure
        shown in the current details (activity_options.retry_until)."""
        return await options.retry_until(
            what,
            attempt,
            give_up_at=give_up_at,
            timings=self.timings,
            report=self.progress.set_details,
        )

    def durable(
        self, *, heartbeat: timedelta | None = None, give_up_after: timedelta | None = None
    ) -> options.ActivityOptions:
        """A side effect retried by the server (activity_options.durable)."""
        return options.durable(
            self.side_effects, self.timings, heartbeat=heartbeat, give_up_after=give_up_after
        )

    def calendar_deadline(self, starts_at: datetime) -> datetime:
        return options.calendar_deadline(starts_at, self.timings)

    def _refusal(self) -> str | None:
        """Why the booking cannot be changed now, or None."""
        refused = refusal(self.state.status, self.state.starts_at, workflow.now())
        return None if refused is None else messages.say(refused, self.locale())

    def ref(self) -> BookingRef:
        return BookingRef(org_id=self.caller_input.org_id, booking_id=self.caller_input.booking_id)

    def locale(self) -> str:
        """The locale answers are said in: the booking's, or its request's before that."""
        if self.booking_request is not None:
            return self.booking_request.locale
        return self.caller_input.locale

    def zone(self) -> ZoneInfo:
        """The org's time zone, in which times are said to the caller."""
        assert self.booking_request is not None
        return ensure_timezone(self.booking_request.time_zone)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` after answering; the run waits for it before completing."""
        self._background.append(asyncio.create_task(work))
