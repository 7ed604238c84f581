"""When phase 2 fails: undo phases 1 and 2, tell the caller, and fail the run.

A chapter of BookingWorkflow (workflows/booking.py), as functions of the running workflow.
"""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.booking_run import BookingRun
from workflows.failures import describe

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from activities.slots import SlotActivities
    from core.domain.statuses import BookingStatus, WorkflowStatus
    from core.temporal.models import BookingRef, ReleaseSlotInput


async def compensate(
    booking: BookingRun, ref: BookingRef, reason: str, original: BaseException
) -> None:
    """Undo phase 1 and 2, each step retried until it succeeds, then fail the run.

    The slot is released first, and only from `held`: a booking that turns out confirmed
    (an attempt confirmed it and its answer was lost) keeps its event, nobody is sent an
    apology, and the workflow carries on as confirmed. (The previous release deleted the
    event first; its histories replay that order.)
    """
    progress = booking.progress
    progress.set_status(WorkflowStatus.COMPENSATING)
    booking.state.failure = reason
    progress.set_details(f"compensating: {reason}")
    if booking.one_statement:
        if await _release(booking, ref, reason) == BookingStatus.CONFIRMED:
            workflow.logger.error("compensation found the booking confirmed: %s", reason)
            booking.state.failure = None
            progress.set_status(WorkflowStatus.CONFIRMED)
            progress.set_details(f"confirmed, though phase 2 reported: {reason}")
            return
        await _delete_event(booking, ref, reason)
    else:
        await _delete_event(booking, ref, reason)
        await _release(booking, ref, reason)
    await booking.send_sms(ref, "apology", "apology")
    progress.set_status(WorkflowStatus.FAILED)
    progress.set_details(f"failed: {booking.state.failure}")
    booking.settled = True
    await workflow.wait_condition(workflow.all_handlers_finished)
    raise ApplicationError(
        f"booking failed and was compensated: {reason}",
        type="BookingFailed",
        non_retryable=True,
    ) from original


async def _delete_event(booking: BookingRun, ref: BookingRef, reason: str) -> None:
    try:
        await workflow.execute_activity_method(
            CalendarActivities.delete_calendar_event, ref, **booking.durable()
        )
    except ActivityError as error:
        # A permanent refusal to delete (e.g. no access) must not block the rest.
        workflow.logger.error("could not delete the calendar event: %s", describe(error))
        booking.state.failure = f"{reason}; event not deleted: {describe(error)}"


async def _release(booking: BookingRun, ref: BookingRef, reason: str) -> BookingStatus:
    """`held` → `failed`; returns the booking's status afterwards."""
    release = ReleaseSlotInput(booking=ref, reason=reason[:1000])
    return await workflow.execute_activity_method(
        SlotActivities.release_slot, release, **booking.durable()
    )
