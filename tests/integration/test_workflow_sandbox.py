"""What the worker's workflow sandbox (worker.main.workflow_runner, as production builds it)
refuses in workflow code, on the real Temporal dev server.

Every module is passed through the sandbox, so it refuses the builtins it patches (open(),
input()) but not calls into passed-through modules (datetime.now(), random, time, socket);
the README says so, and tests/unit/test_workflow_determinism.py keeps those out of workflows/.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.worker import Worker

from tests.booking_helpers import wait_until
from tests.integration.workflow_probes import NonDeterministic
from worker.main import workflow_runner

pytestmark = pytest.mark.integration


@pytest.fixture
async def task_queue(temporal_client: Client) -> AsyncIterator[str]:
    queue = f"sandbox-{uuid.uuid4().hex[:12]}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[NonDeterministic],
        workflow_runner=workflow_runner(),
    ):
        yield queue


async def start(client: Client, task_queue: str, call: str) -> WorkflowHandle:
    return await client.start_workflow(
        NonDeterministic.run,
        call,
        id=f"sandbox-{call}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        run_timeout=timedelta(minutes=1),
    )


async def failed_task_types(handle: WorkflowHandle) -> list[str]:
    """Failure types of the run's failed workflow tasks so far."""
    return [
        event.workflow_task_failed_event_attributes.failure.application_failure_info.type
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


async def first_outcome(handle: WorkflowHandle) -> str | None:
    """The type of the first failed workflow task, else the run's status once it has closed
    (COMPLETED, ...); None while neither has happened."""
    failed = await failed_task_types(handle)
    if failed:
        return failed[0]
    status = (await handle.describe()).status
    return None if status in (None, WorkflowExecutionStatus.RUNNING) else status.name


async def outcome(handle: WorkflowHandle) -> str:
    try:
        return await wait_until(lambda: first_outcome(handle), what="the workflow task to end")
    finally:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate("test over")


async def test_builtin_io_in_a_workflow_is_refused(
    temporal_client: Client, task_queue: str
) -> None:
    handle = await start(temporal_client, task_queue, "open")
    assert await outcome(handle) == "RestrictedWorkflowAccessError"


@pytest.mark.parametrize(
    "call", ["datetime.now", "random.random", "time.time", "uuid.uuid4", "socket.gethostname"]
)
async def test_calls_into_passed_through_modules_are_not_refused(
    temporal_client: Client, task_queue: str, call: str
) -> None:
    # What the static check of workflows/ is there for: the run completes with the value.
    handle = await start(temporal_client, task_queue, call)
    assert await outcome(handle) == "COMPLETED"
    assert await handle.result()
