"""The one way callers (API, voice webhooks, scripts) ask for a booking: update-with-start."""

from uuid import UUID, uuid4

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from core.config import Settings
from core.models import BookingOutcome, BookingWorkflowInput, BookInput, BookResult, WorkflowTimings
from core.names import BOOKING_STATUS, ORG_SLUG, booking_id_for, booking_workflow_id
from workflows.booking import BookingWorkflow


def timings_from(settings: Settings) -> WorkflowTimings:
    """The timer and retry lengths a new booking workflow runs with."""
    return WorkflowTimings(
        retry_initial_interval=settings.activity_retry_initial_interval,
        retry_maximum_interval=settings.activity_retry_maximum_interval,
        calendar_deadline_before_start=settings.calendar_deadline_before_start,
        reminder_lead_time=settings.reminder_lead_time,
        completion_grace=settings.completion_grace,
    )


def book_input(*, org_id: UUID, org_slug: str, idempotency_key: str, **fields: object) -> BookInput:
    """A BookInput whose booking id is derived from the org and the idempotency key."""
    return BookInput(
        org_id=org_id,
        org_slug=org_slug,
        booking_id=booking_id_for(org_id, idempotency_key),
        idempotency_key=idempotency_key,
        **fields,  # type: ignore[arg-type]
    )


async def request_booking(
    client: Client, request: BookInput, *, task_queue: str, timings: WorkflowTimings
) -> BookResult:
    """Start (or join) the booking's workflow and return the caller's answer.

    Every copy of one request (same org + idempotency key) lands on one workflow, whose `book`
    update answers every copy with the run's one answer, so it never makes a second booking.
    A request whose workflow has already completed gets that workflow's recorded answer; one
    whose workflow failed (phase 1 could not run: "try again") starts a new run.

    Each copy sends its own update id: the server answers a repeated update id from the run
    that first completed it even once that run has failed, so a shared id would repeat "try
    again" forever after Postgres or the worker came back.
    """
    workflow_id = booking_workflow_id(request.booking_id)
    start = WithStartWorkflowOperation(
        BookingWorkflow.run,
        BookingWorkflowInput(request=request, timings=timings),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(ORG_SLUG, request.org_slug),
                SearchAttributePair(BOOKING_STATUS, "received"),
            ]
        ),
    )
    try:
        return await client.execute_update_with_start_workflow(
            BookingWorkflow.book,
            request,
            id=f"book-{request.booking_id}-{uuid4().hex[:12]}",
            start_workflow_operation=start,
        )
    except WorkflowAlreadyStartedError:
        handle = client.get_workflow_handle(workflow_id, result_type=BookingOutcome)
        outcome = await handle.result()
        return outcome.answer
