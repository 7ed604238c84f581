"""What the booking workflow answers and records, as pure functions of what happened.

The workflow keeps the side effects (its state, its log); these only decide, so they are
unit-tested apart (tests/unit/test_workflow_outcomes.py).
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.failures import cause_of

with workflow.unsafe.imports_passed_through():
    from core.domain import messages
    from core.domain.language import DEFAULT_LOCALE
    from core.domain.statuses import WorkflowStatus
    from core.temporal.models import (
        BookingState,
        BookResult,
        LifecycleOutcome,
        LifecycleResult,
        Rejection,
        SmsResult,
    )

# Error types the caller caused; everything else is our problem and is answered as such.
REJECTIONS: dict[str, Rejection] = {"InvalidInput": "invalid", "SlotUnavailable": "unavailable"}


def answer_to_failure(
    error: ActivityError | ApplicationError, locale: str = DEFAULT_LOCALE
) -> BookResult:
    """The caller's answer when the activity refused: `invalid` (with the field) or
    `unavailable` (with the alternatives) when the caller caused it, else `error`, answered
    with the technical-problem sentence."""
    cause = cause_of(error)
    if isinstance(cause, ApplicationError) and cause.type in REJECTIONS:
        details = cause.details[0] if cause.details else {}
        return BookResult(
            outcome=REJECTIONS[cause.type],
            message=cause.message,
            alternatives=details.get("alternatives", []),
            field=details.get("field"),
        )
    return BookResult(outcome="error", message=messages.say(messages.TECHNICAL_PROBLEM, locale))


def change_answer(answer: BookResult) -> LifecycleResult:
    """A refused reschedule's answer, from what a refused booking would have been answered:
    the caller's rejections carry over, anything else is an error."""
    outcome: LifecycleOutcome = "error"
    if answer.outcome == "unavailable" or answer.outcome == "invalid":
        outcome = answer.outcome
    return LifecycleResult(
        outcome=outcome, message=answer.message, alternatives=answer.alternatives
    )


def refusal(status: WorkflowStatus, starts_at: datetime | None, now: datetime) -> str | None:
    """Why a booking in `status`, starting at `starts_at`, cannot be changed `now`, or None."""
    refused = messages.CHANGE_REFUSALS.get(status)
    if refused is not None:
        return refused
    if starts_at is not None and now >= starts_at:
        return messages.ALREADY_STARTED
    return None


def sms_outcome(result: SmsResult) -> str:
    """A text's outcome as the workflow's state records it: the status, and the vendor's error
    code when there is one."""
    return result.status if result.error_code is None else f"{result.status} {result.error_code}"


def reminder_due_at(
    state: BookingState, *, lead_time: timedelta, start_set_at: datetime | None
) -> datetime | None:
    """When the reminder for the booking's current start is due: `lead_time` before it. None
    unless confirmed, once sent for this start, or if the start was set (booked or moved)
    inside the lead time, when the confirmation is reminder enough."""
    start = state.starts_at
    if state.status != WorkflowStatus.CONFIRMED or start is None:
        return None
    if state.reminder_sent_for == start:
        return None
    due = start - lead_time
    if start_set_at is not None and due < start_set_at:
        return None
    return due
