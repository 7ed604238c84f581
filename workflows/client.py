"""How callers (API, voice webhooks, scripts, tests) reach the workflows: a booking by
update-with-start, its changes and state through BookingWorkflow's handlers named by reference
(a renamed handler fails type-checking here, not in production), and the calendar syncs."""

import asyncio
from typing import cast
from uuid import UUID, uuid4

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import UpdateMethodMultiParam

from core.domain.ids import booking_id_for, booking_workflow_id, calendar_sync_workflow_id
from core.domain.statuses import WorkflowStatus
from core.infra.config import Settings
from core.temporal.models import (
    BookingState,
    BookingWorkflowInput,
    BookingWorkflowResult,
    BookInput,
    BookResult,
    CalendarRef,
    CalendarSyncInput,
    CalendarSyncTimings,
    CancelChange,
    LifecycleResult,
    RescheduleChange,
    WorkflowTimings,
)
from core.temporal.names import BOOKING_STATUS, ORG_SLUG, side_effect_task_queue
from workflows.booking import BookingWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow


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
    return BookInput.model_validate(
        {
            **fields,
            "org_id": org_id,
            "org_slug": org_slug,
            "booking_id": booking_id_for(org_id, idempotency_key),
            "idempotency_key": idempotency_key,
        }
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
        BookingWorkflowInput(request=request, timings=timings, phase1="one-statement"),
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(ORG_SLUG, request.org_slug),
                SearchAttributePair(BOOKING_STATUS, WorkflowStatus.RECEIVED),
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
        _take_start_failure(start)
        outcome = await booking_workflow(client, workflow_id).result()
        return outcome.answer
    except BaseException:
        _take_start_failure(start)
        raise


# temporalio (1.35) types a handler decorated `@workflow.update(name=...)` as returning its
# coroutine rather than what the coroutine returns; these say what the handlers answer.
_RESCHEDULE = cast(
    UpdateMethodMultiParam[[BookingWorkflow, RescheduleChange], LifecycleResult],
    BookingWorkflow.reschedule,
)
_CANCEL = cast(
    UpdateMethodMultiParam[[BookingWorkflow, CancelChange], LifecycleResult],
    BookingWorkflow.cancel,
)


def booking_workflow(
    client: Client, workflow_id: str
) -> WorkflowHandle[BookingWorkflow, BookingWorkflowResult]:
    """The handle of a booking's workflow (id: `booking_workflow_id`), typed by its class."""
    return client.get_workflow_handle_for(BookingWorkflow.run, workflow_id)


async def reschedule_booking(
    client: Client, workflow_id: str, change: RescheduleChange, *, update_id: str | None = None
) -> LifecycleResult:
    """Ask the booking's workflow to move it; its answer. A repeated `update_id` gets the
    first answer again."""
    return await booking_workflow(client, workflow_id).execute_update(
        _RESCHEDULE, change, id=update_id
    )


async def cancel_booking(
    client: Client, workflow_id: str, change: CancelChange, *, update_id: str | None = None
) -> LifecycleResult:
    """Ask the booking's workflow to cancel it; its answer. A repeated `update_id` gets the
    first answer again."""
    return await booking_workflow(client, workflow_id).execute_update(_CANCEL, change, id=update_id)


async def booking_state(client: Client, workflow_id: str) -> BookingState:
    """Everything the booking's workflow knows (its `status` query)."""
    return await booking_workflow(client, workflow_id).query(BookingWorkflow.status)


def _take_start_failure(start: WithStartWorkflowOperation) -> None:
    """Mark the start operation's failure as seen; the caller already has it as the exception.

    When update-with-start fails before the start is acknowledged (the answer timed out, the
    caller hung up, Temporal is unreachable, the workflow already ran), the SDK also stores the
    error in the operation's handle future. Nobody awaits that future here, so when it is
    garbage-collected asyncio logs "Future exception was never retrieved" with a traceback at
    ERROR: a false alarm in the API's log beside the warning the API already writes. The SDK
    settles the future before it raises, so reading it here never waits; if a later SDK renames
    the attribute this does nothing and a test (test_booking_commands_api) says so.
    """
    handle_future = getattr(start, "_workflow_handle", None)
    if (
        isinstance(handle_future, asyncio.Future)
        and handle_future.done()
        and not handle_future.cancelled()
    ):
        handle_future.exception()


def calendar_sync_timings(settings: Settings) -> CalendarSyncTimings:
    """The timer and retry lengths a calendar sync runs with."""
    return CalendarSyncTimings(
        reconcile_interval=settings.calendar_reconcile_interval,
        channel_renew_before=settings.calendar_channel_renew_before,
        retry_initial_interval=settings.activity_retry_initial_interval,
        retry_maximum_interval=settings.activity_retry_maximum_interval,
    )


async def ensure_calendar_sync(
    client: Client, calendar: CalendarRef, *, task_queue: str, timings: CalendarSyncTimings
) -> None:
    """Start the provider calendar's sync unless it is running (safe to call any time). It runs
    on the side-effect task queue of the booking task queue `task_queue`."""
    await client.start_workflow(
        CalendarSyncWorkflow.run,
        CalendarSyncInput(calendar=calendar, timings=timings),
        id=calendar_sync_workflow_id(calendar.provider_id),
        task_queue=side_effect_task_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def ensure_calendar_syncs(
    client: Client, calendars: list[CalendarRef], *, settings: Settings
) -> None:
    """`ensure_calendar_sync` for each calendar, on the settings' task queue and timings."""
    timings = calendar_sync_timings(settings)
    for calendar in calendars:
        await ensure_calendar_sync(
            client, calendar, task_queue=settings.temporal_task_queue, timings=timings
        )


async def calendar_changed(
    client: Client, calendar: CalendarRef, *, task_queue: str, timings: CalendarSyncTimings
) -> None:
    """Tell the calendar's sync that Google reported a change (starting it if it is not
    running), so the busy times are read again now rather than at the next reconcile."""
    await client.start_workflow(
        CalendarSyncWorkflow.run,
        CalendarSyncInput(calendar=calendar, timings=timings),
        id=calendar_sync_workflow_id(calendar.provider_id),
        task_queue=side_effect_task_queue(task_queue),
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        start_signal=CalendarSyncWorkflow.changed.__name__,
    )
