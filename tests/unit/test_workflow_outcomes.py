"""What the booking workflow answers and records, decided apart from the workflow: the
classifiers of workflows/outcomes.py and workflows/failures.py on failures built as Temporal
hands them to the workflow."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeout

from core.domain import messages
from core.domain.statuses import WorkflowStatus
from core.temporal.models import BookingState, BookResult, SmsResult
from workflows.failures import cause_of, describe, retryable
from workflows.outcomes import (
    answer_to_failure,
    change_answer,
    refusal,
    reminder_due_at,
    sms_outcome,
)

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)


def activity_failed(cause: BaseException | None) -> ActivityError:
    """An ActivityError as the workflow sees it: the activity's own error is its cause."""
    error = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="move_slot",
        activity_id="1",
        retry_state=None,
    )
    error.__cause__ = cause
    return error


def refused(kind: str, message: str = "No.", **details: object) -> ApplicationError:
    return ApplicationError(message, details, type=kind, non_retryable=True)


def test_a_taken_time_is_answered_unavailable_with_the_alternatives() -> None:
    cause = refused("SlotUnavailable", "That time is taken.", alternatives=[LATER.isoformat()])
    answer = answer_to_failure(activity_failed(cause))
    assert answer == BookResult(
        outcome="unavailable", message="That time is taken.", alternatives=[LATER]
    )


def test_invalid_input_is_answered_invalid_with_the_field() -> None:
    answer = answer_to_failure(
        activity_failed(refused("InvalidInput", "Bad phone.", field="phone"))
    )
    assert (answer.outcome, answer.message, answer.field) == ("invalid", "Bad phone.", "phone")


def test_a_local_activity_failure_may_arrive_unwrapped() -> None:
    answer = answer_to_failure(refused("InvalidInput", "Bad start.", field="start"))
    assert (answer.outcome, answer.field) == ("invalid", "start")


def test_a_rejection_without_details_has_no_alternatives_or_field() -> None:
    answer = answer_to_failure(activity_failed(ApplicationError("Taken.", type="SlotUnavailable")))
    assert (answer.outcome, answer.alternatives, answer.field) == ("unavailable", [], None)


@pytest.mark.parametrize(
    "error",
    [
        activity_failed(refused("NotFound", "this organization does not exist")),
        activity_failed(
            ActivityTimeout("timed out", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[])
        ),
        activity_failed(None),
        ApplicationError("boom"),
    ],
    ids=["not-the-callers-fault", "timeout", "no-cause", "untyped"],
)
def test_anything_else_is_our_problem_and_answered_as_such(
    error: ActivityError | ApplicationError,
) -> None:
    assert answer_to_failure(error) == BookResult(
        outcome="error", message=messages.TECHNICAL_PROBLEM
    )


def test_the_cause_is_what_the_activity_raised_or_the_error_itself() -> None:
    cause = refused("NotFound")
    assert cause_of(activity_failed(cause)) is cause
    assert cause_of(cause) is cause
    bare = activity_failed(None)
    assert cause_of(bare) is bare


@pytest.mark.parametrize("outcome", ["unavailable", "invalid"])
def test_a_change_keeps_the_callers_rejections(outcome: str) -> None:
    answer = BookResult.model_validate(
        {"outcome": outcome, "message": "Taken.", "alternatives": [LATER]}
    )
    result = change_answer(answer)
    assert (result.outcome, result.message, result.alternatives) == (outcome, "Taken.", [LATER])


@pytest.mark.parametrize("outcome", ["error", "already_booked", "booked"])
def test_a_change_answers_anything_else_as_an_error(outcome: str) -> None:
    answer = BookResult.model_validate({"outcome": outcome, "message": "Hm."})
    assert (change_answer(answer).outcome, change_answer(answer).message) == ("error", "Hm.")


def test_statuses_that_made_no_change_possible_refuse_in_their_words() -> None:
    assert refusal(WorkflowStatus.RECEIVED, None, NOW) == (
        "This booking is still being made; please try again in a moment."
    )
    assert refusal(WorkflowStatus.CANCELLED, LATER, NOW) == "This booking is already cancelled."
    for status in ("already_booked", "unavailable", "invalid", "error"):
        assert refusal(WorkflowStatus(status), None, NOW) == messages.NOT_BOOKED


def test_a_live_booking_can_change_until_it_starts() -> None:
    assert refusal(WorkflowStatus.CONFIRMED, LATER, NOW) is None
    assert refusal(WorkflowStatus.HELD, LATER, NOW) is None
    assert refusal(WorkflowStatus.CONFIRMED, NOW, NOW) == messages.ALREADY_STARTED
    assert refusal(WorkflowStatus.CONFIRMED, NOW - timedelta(minutes=1), NOW) == (
        "This appointment has already started, so it can't be changed."
    )


def test_an_sms_outcome_names_the_error_code_when_there_is_one() -> None:
    assert sms_outcome(SmsResult(status="queued", twilio_sid="SM1")) == "queued"
    assert sms_outcome(SmsResult(status="failed", error_code="21610")) == "failed 21610"


def state(status: WorkflowStatus, **fields: object) -> BookingState:
    return BookingState.model_validate({"status": status, "booking_id": uuid4(), **fields})


def test_the_reminder_is_due_the_lead_time_before_a_confirmed_start() -> None:
    lead = timedelta(hours=24)
    confirmed = state(WorkflowStatus.CONFIRMED, starts_at=LATER)
    assert reminder_due_at(confirmed, lead_time=lead, start_set_at=NOW) == LATER - lead
    assert reminder_due_at(confirmed, lead_time=lead, start_set_at=None) == LATER - lead


def test_no_reminder_unless_confirmed_once_sent_or_when_booked_inside_the_lead_time() -> None:
    lead = timedelta(hours=24)
    held = state(WorkflowStatus.HELD, starts_at=LATER)
    sent = state(WorkflowStatus.CONFIRMED, starts_at=LATER, reminder_sent_for=LATER)
    confirmed = state(WorkflowStatus.CONFIRMED, starts_at=LATER)
    assert reminder_due_at(held, lead_time=lead, start_set_at=NOW) is None
    assert reminder_due_at(sent, lead_time=lead, start_set_at=NOW) is None
    assert reminder_due_at(confirmed, lead_time=timedelta(days=3), start_set_at=NOW) is None


def test_final_refusals_are_not_retried_everything_else_is() -> None:
    assert not retryable(activity_failed(refused("PermanentServiceError")))
    transient = ApplicationError("503", type="TransientServiceError")
    assert retryable(activity_failed(transient))
    assert retryable(activity_failed(None))


def test_a_failure_is_described_by_its_innermost_typed_cause() -> None:
    cause = refused("PermanentServiceError", "Google Calendar insert failed: HTTP 403")
    assert describe(activity_failed(cause)) == (
        "PermanentServiceError: Google Calendar insert failed: HTTP 403"
    )
    assert describe(ApplicationError("plain")) == "plain"
    assert describe(activity_failed(None)) == "activity failed"
    assert describe(RuntimeError()) == "RuntimeError"
