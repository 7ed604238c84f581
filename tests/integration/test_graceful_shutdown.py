"""SIGTERM to `booking worker` and `booking api` as a deployment sends it: work in flight
finishes, nothing is lost or done twice."""

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowHandle

from core.domain.ids import booking_workflow_id
from core.infra.config import Settings
from devstack.temporal import free_port
from sandbox.runner import Sandboxes
from tests.booking_helpers import (
    book,
    local_start,
    unanswered_requests,
    unique_phone,
    wait_for_status,
    wait_until,
    wait_until_answered,
)
from tests.conftest import running_worker
from tests.factories import TestOrg
from tests.processes import process_env
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message

pytestmark = pytest.mark.integration

GRACE_S = 20


@contextmanager
def booking_process(
    command: str, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", command],
            env=env,
            cwd=log.parent,  # away from the repository's .env
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def exit_code(process: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    deadline = asyncio.get_running_loop().time() + timeout
    while process.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still running {timeout}s after SIGTERM:\n{log.read_text()}")
        await asyncio.sleep(0.1)
    return process.returncode


async def wait_for_log(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    for _ in range(600):
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {text!r} in the log:\n{log.read_text(errors='replace')}")


async def wait_for_running_activity(handle: WorkflowHandle, activity: str) -> None:
    for _ in range(300):
        pending = (await handle.describe()).raw_description.pending_activities
        if any(
            p.activity_type.name == activity
            and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for p in pending
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{activity} never started")


async def scheduled_activities(handle: WorkflowHandle) -> list[str]:
    """Activity types in the order they were scheduled; each calendar attempt is scheduled
    anew by the workflow, while SMS retries (a retry policy) are not."""
    history = await handle.fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def finishing_attempts(handle: WorkflowHandle) -> dict[str, tuple[str, int]]:
    """Per activity type: the worker identity and attempt number that completed it (history
    keeps one started event per scheduled activity: its last attempt)."""
    history = await handle.fetch_history()
    names = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    started = {
        e.event_id: e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    }
    finished: dict[str, tuple[str, int]] = {}
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = e.activity_task_completed_event_attributes
            attempt = started[done.started_event_id]
            finished[names[done.scheduled_event_id]] = (attempt.identity, attempt.attempt)
    return finished


async def completed_a_workflow_task(handle: WorkflowHandle, identity: str) -> bool:
    """Whether the worker named `identity` has completed a workflow task of the run."""
    history = await handle.fetch_history()
    return any(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        and e.workflow_task_completed_event_attributes.identity == identity
        for e in history.events
    )


async def booking_status(pool: asyncpg.Pool, booking_id: UUID) -> str:
    return await pool.fetchval("SELECT status::text FROM bookings WHERE id = $1", booking_id)


async def test_sigterm_lets_the_calendar_call_in_flight_finish_and_nothing_runs_twice(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    # Creating the event takes 3 s, so the worker is told to stop while the call is in flight.
    await sandboxes.calendar.add_fault(
        latency_ms=3000, path_contains=org.calendar_id, method="POST", count=1
    )
    log = tmp_path / "worker.log"
    with booking_process(
        "worker", process_env(booking_settings, SHUTDOWN_GRACE=str(GRACE_S)), log
    ) as worker:
        await wait_for_log(worker, log, "worker polling task queue")
        answer = await book(
            temporal_client, booking_settings, org, start=local_start(), phone=phone
        )
        assert answer.outcome == "booked" and answer.booking_id is not None
        handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))
        await wait_for_running_activity(handle, "confirm_booking_with_event")
        worker.send_signal(signal.SIGTERM)
        assert await exit_code(worker, log, timeout=GRACE_S + 10) == 0, log.read_text()

    # The call finished during the grace period, the same activity confirmed the booking and
    # texted, and its result reached Temporal.
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert [r["status"] for r in inserts] == [200]
    assert "confirm_booking_with_event" in await finishing_attempts(handle)
    assert await booking_status(pool, answer.booking_id) == "confirmed"

    async with running_worker(temporal_client, booking_settings, pool):
        await wait_for_status(pool, answer.booking_id, {"confirmed"}, timeout=30)
        # The booking was confirmed before this worker started: only its first workflow task
        # (the one the stopped worker left) shows it has taken the workflow over, and so had
        # its chance to insert again.
        await wait_until(
            lambda: completed_a_workflow_task(handle, temporal_client.identity),
            timeout=30,
            what="the next worker to run the workflow's next task",
        )
        await wait_until_answered(sandboxes, org, phone)
    # The next worker did not insert again: one insert request, one event created, one SMS.
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert [r["status"] for r in inserts] == [200]
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_an_activity_running_past_the_grace_is_retried_elsewhere_and_not_done_twice(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    # Google sits on the insert longer than the stopping worker's grace, then acts on it anyway,
    # as a server does with a request whose client has gone; Twilio is as slow with the text.
    # (Under the SMS client's timeout: the retry's look-up for an earlier send waits that out.)
    slow: dict[str, Any] = {"latency_ms": 5000, "method": "POST", "count": 1}
    await sandboxes.calendar.add_fault(path_contains=org.calendar_id, **slow)
    await sandboxes.twilio.add_fault(**slow)
    log = tmp_path / "worker.log"
    env = process_env(booking_settings, SHUTDOWN_GRACE="1")
    with booking_process("worker", env, log) as first:
        await wait_for_log(first, log, "worker polling task queue")
        answer = await book(
            temporal_client, booking_settings, org, start=local_start(), phone=phone
        )
        assert answer.outcome == "booked" and answer.booking_id is not None
        handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))

        async def insert_in_flight() -> bool:
            return len(await unanswered_requests(sandboxes, org, phone)) == 1

        await wait_until(insert_in_flight, timeout=30, what="the insert in flight")
        async with running_worker(temporal_client, booking_settings, pool):
            first.send_signal(signal.SIGTERM)
            assert await exit_code(first, log, timeout=30) == 0, log.read_text()
            await wait_for_status(pool, answer.booking_id, {"confirmed"}, timeout=60)
            await wait_until_answered(sandboxes, org, phone)
    # Phase 2 was finished by the other worker (this process), after a cancelled attempt.
    finished = await finishing_attempts(handle)
    assert finished["confirm_booking_with_event"][0] == temporal_client.identity, finished
    calendar_attempts = (await scheduled_activities(handle)).count("confirm_booking_with_event")
    assert calendar_attempts == 2
    # The cancelled attempts' requests still took effect late, yet nothing exists twice.
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_sigterm_lets_an_in_flight_voice_request_get_its_answer(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    env = process_env(
        booking_settings, API_PORT=str(port), API_HOST="127.0.0.1", SHUTDOWN_GRACE=str(GRACE_S)
    )
    base = f"http://127.0.0.1:{port}"
    with booking_process("api", env, log) as api:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await wait_for_log(api, log, "Application startup complete")
            # No worker yet: the booking request waits inside the API for phase 1.
            call = vapi_call("book_appointment", {"name": "Ada", "start": _start()})
            in_flight = asyncio.create_task(
                http.post("/voice/vapi", json=vapi_message(call), headers=vapi_headers(org))
            )

            async def workflow_started() -> bool:
                query = f"OrgSlug = '{org.slug}'"
                return (await temporal_client.count_workflows(query)).count > 0

            # Its workflow exists: the request is inside the API, waiting for phase 1.
            await wait_until(workflow_started, timeout=30, what="the booking workflow started")
            api.send_signal(signal.SIGTERM)

            async def stopped_listening() -> bool:
                async with httpx.AsyncClient(base_url=base) as probe:
                    try:
                        await probe.get("/health")
                    except httpx.ConnectError:
                        return True
                return False

            # No new work accepted, while the request in flight still waits for its answer.
            await wait_until(stopped_listening, timeout=GRACE_S, what="the API stops listening")
            assert not in_flight.done()
            async with running_worker(temporal_client, booking_settings, pool):
                response = await in_flight
        # uvicorn re-raises the SIGTERM it caught once it has shut down cleanly.
        assert await exit_code(api, log, timeout=GRACE_S + 10) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log.read_text()
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert "booked" in result["result"].lower(), result


def _start() -> str:
    return local_start(4).strftime("%Y-%m-%dT%H:%M")
