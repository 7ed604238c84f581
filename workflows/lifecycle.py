"""After the booking is confirmed, until after the visit: the reminder, reschedule, cancel.

A chapter of BookingWorkflow (workflows/booking.py), as functions of the running workflow.
`reschedule` and `cancel` run under the workflow's lock, once phase 2 has settled and the
booking may still change (BookingWorkflow._change); what they answer is recorded in the
state, since a signal has nobody to answer.
"""

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import activity_options as options
from workflows.booking_run import BookingRun
from workflows.failures import describe
from workflows.outcomes import change_answer, reminder_due_at

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from activities.slots import SlotActivities
    from core.domain import messages
    from core.domain.statuses import BookingStatus, WorkflowStatus
    from core.temporal.models import (
        BookingRef,
        CalendarEventResult,
        CancelBookingInput,
        CancelChange,
        LifecycleResult,
        MovedSlot,
        MoveSlotInput,
        RescheduleChange,
        RestoreSlotInput,
    )

# workflow.patched ids (README, "Deploying a workflow change"): remove each the way it says.
REMINDER_AFTER_UNDONE_MOVE = "reminder-after-undone-move"


async def live_until_after_visit(booking: BookingRun) -> None:
    """Send the reminder when it is due; end after the visit plus the grace period, or at
    once when cancelled. A reschedule wakes this loop so the timers follow the new time."""
    state = booking.state
    while not booking.finished:
        assert state.ends_at is not None
        ends_at = state.ends_at + booking.timings.completion_grace
        due = _reminder_due_at(booking)
        state.reminder_due_at = due
        now = workflow.now()
        if due is not None and due <= now:
            await _send_reminder(booking)
            continue
        if ends_at <= now:
            return
        wake_at = min(due, ends_at) if due is not None else ends_at
        booking.progress.set_details(
            f"confirmed; reminder due {due.isoformat()}"
            if due is not None
            else f"confirmed; ends {ends_at.isoformat()}"
        )
        booking.wake = False
        try:
            await workflow.wait_condition(
                lambda: booking.wake or booking.finished, timeout=wake_at - now
            )
        except TimeoutError:
            pass


def _reminder_due_at(booking: BookingRun) -> datetime | None:
    return reminder_due_at(
        booking.state,
        lead_time=booking.timings.reminder_lead_time,
        start_set_at=booking.progress.start_set_at,
    )


async def _send_reminder(booking: BookingRun) -> None:
    async with booking.lock:
        due = _reminder_due_at(booking)
        start = booking.state.starts_at
        if due is None or start is None or due > workflow.now():
            return  # a change under the lock moved or cancelled it
        if workflow.now() < start:
            await booking.send_sms(booking.ref(), "reminder", f"reminder:{start.isoformat()}")
        booking.state.reminder_sent_for = start


async def reschedule(booking: BookingRun, change: RescheduleChange) -> LifecycleResult:
    """Move the slot (answer path), then the calendar event; a refused event moves it back."""
    record = booking.progress.record
    ref = booking.ref()
    try:
        moved = await workflow.execute_local_activity_method(
            SlotActivities.move_slot,
            MoveSlotInput(booking=ref, start=change.start, locale=booking.locale()),
            **options.answer_path(),
        )
    except (ActivityError, ApplicationError) as error:
        return record(change_answer(booking.rejection(error)))
    if not moved.moved:
        return record(
            LifecycleResult(
                outcome="unchanged",
                message=messages.already_on(moved.starts_at, booking.zone(), booking.locale()),
                start=moved.starts_at,
            )
        )
    set_before = booking.progress.start_set_at
    booking.progress.set_appointment(moved.starts_at, moved.ends_at)
    try:
        await _move_event(booking, ref, moved)
    except ActivityError as error:
        undone = await _undo_move(booking, ref, moved, error)
        # Patched: runs that undid a move before this replay the way they went then.
        if workflow.patched(REMINDER_AFTER_UNDONE_MOVE):
            _follow_the_time_kept(booking, moved, set_before)
        return record(undone)
    booking.wake = True
    booking.spawn(
        booking.send_sms(ref, "rescheduled", f"rescheduled:{moved.starts_at.isoformat()}")
    )
    return record(
        LifecycleResult(
            outcome="rescheduled",
            message=messages.moved(moved.starts_at, booking.zone(), booking.locale()),
            start=moved.starts_at,
        )
    )


def _follow_the_time_kept(
    booking: BookingRun, moved: MovedSlot, set_before: datetime | None
) -> None:
    """After an undone move the start was set back, not set anew: the reminder it owes is
    judged from when it was first set (else a move undone inside the lead time would cancel
    it), and the loop is woken, since it may have re-armed for the time tried (its timer
    fired during the move, when the state showed that time)."""
    if booking.state.starts_at == moved.previous_start:
        booking.progress.start_set_at = set_before
    booking.wake = True


async def _move_event(
    booking: BookingRun, ref: BookingRef, moved: MovedSlot
) -> CalendarEventResult:
    booking.progress.set_details("calendar: moving the event")
    return await booking.attempts(
        "calendar: moving the event",
        lambda: workflow.execute_activity_method(
            CalendarActivities.move_calendar_event,
            ref,
            **options.one_attempt(booking.side_effects),
        ),
        give_up_at=booking.calendar_deadline(moved.starts_at),
    )


async def _undo_move(
    booking: BookingRun, ref: BookingRef, moved: MovedSlot, error: ActivityError
) -> LifecycleResult:
    """Compensation: the calendar refused the new time, so the slot goes back."""
    reason = describe(error)
    workflow.logger.warning("calendar refused the move, moving the slot back: %s", reason)
    restore = RestoreSlotInput(
        booking=ref, starts_at=moved.previous_start, ends_at=moved.previous_end
    )
    try:
        await workflow.execute_activity_method(
            SlotActivities.restore_slot, restore, **booking.durable()
        )
    except ActivityError as restore_error:
        # The old time was taken meanwhile: the booking stays at the new time in Postgres,
        # while the calendar still shows the old one. Visible to operators, never silent.
        booking.state.failure = (
            f"moved to {moved.starts_at.isoformat()} but the calendar refused ({reason}) "
            f"and the old time could not be restored ({describe(restore_error)})"
        )
        booking.progress.set_details(f"needs attention: {booking.state.failure}")
        return LifecycleResult(
            outcome="error",
            message=messages.say(messages.HALF_MOVED, booking.locale()),
            start=moved.starts_at,
        )
    booking.progress.set_appointment(moved.previous_start, moved.previous_end)
    booking.progress.set_details("confirmed; a move was undone because the calendar refused it")
    return LifecycleResult(
        outcome="error",
        message=messages.move_undone(moved.previous_start, booking.zone(), booking.locale()),
        start=moved.previous_start,
    )


async def cancel(booking: BookingRun, change: CancelChange) -> LifecycleResult:
    """Free the slot (answer path), then delete the event and text the caller afterwards."""
    record = booking.progress.record
    ref = booking.ref()
    # Retried with the side-effect backoff (as it always was), not phase 1's three attempts.
    status = await workflow.execute_local_activity_method(
        SlotActivities.cancel_booking,
        CancelBookingInput(booking=ref, reason=change.reason),
        **options.answer_path(retry=options.backoff(booking.timings)),
    )
    if status != BookingStatus.CANCELLED:
        return record(
            LifecycleResult(
                outcome="refused", message=messages.not_cancelled(status, booking.locale())
            )
        )
    booking.progress.set_status(WorkflowStatus.CANCELLED)
    booking.finished = True
    booking.spawn(_after_cancel(booking, ref))
    start = booking.state.starts_at
    assert start is not None
    return record(
        LifecycleResult(
            outcome="cancelled",
            message=messages.cancelled(start, booking.zone(), booking.locale()),
            start=start,
        )
    )


async def _after_cancel(booking: BookingRun, ref: BookingRef) -> None:
    """The slot is already free; remove the event (gone already is fine) and tell them."""
    try:
        await booking.attempts(
            "calendar: deleting the event",
            lambda: workflow.execute_activity_method(
                CalendarActivities.delete_calendar_event,
                ref,
                **options.one_attempt(booking.side_effects),
            ),
            give_up_at=None,
        )
    except ActivityError as error:
        booking.state.failure = (
            f"cancelled, but the calendar event was not deleted: {describe(error)}"
        )
        workflow.logger.error(booking.state.failure)
    await booking.send_sms(ref, "cancelled", "cancelled")
    booking.progress.set_details("cancelled")
