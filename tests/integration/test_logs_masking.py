"""A whole booking's logs, written as `booking api` and `booking worker` write them (one process
here): JSON lines, no raw phone number or email of the caller, the booking's ids on them.

The API runs under a real uvicorn with `log_config=None`, as `booking api` runs it, so its access
lines (query strings included) go through the same handler; the worker is the real one; the
Twilio sandbox calls the API's status callback over HTTP, as Twilio would.
"""

import asyncio
import contextlib
import io
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import time
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from core.infra.config import Settings
from core.infra.logs import configure_logging
from core.infra.masking import mask_phone
from core.temporal.client import connect_temporal
from tests.booking_helpers import local_start, unique_phone, wait_for_status, wait_until
from tests.conftest import MakeOrg, Stack, make_settings, running_worker
from tests.integration.workflow_probes import FailsItsTask
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message
from worker.main import workflow_runner
from worker.telemetry import worker_runtime

pytestmark = pytest.mark.integration


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # pytest owns Ctrl-C
        yield


@contextlib.asynccontextmanager
async def serving_api(settings: Settings, sock: socket.socket) -> AsyncIterator[str]:
    """The app under uvicorn configured as `booking api` configures it (cli.serve.serve_api)."""
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level.lower(),
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the API stopped during startup")
        await asyncio.sleep(0.01)
    try:
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def phone_forms(e164: str) -> list[str]:
    """Every way the caller's (North American) number could be written in a log line."""
    national = e164.removeprefix("+1")
    area, exchange, line = national[:3], national[3:6], national[6:]
    return [
        e164,
        e164.removeprefix("+"),
        national,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"{area} {exchange} {line}",
        f"%2B{e164[1:]}",
        f"%28{area}%29%20{exchange}-{line}",
        f"{area}+{exchange}+{line}",
    ]


async def wait_for_sms_status(pool: asyncpg.Pool, booking_id: UUID, status: str) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        statuses = await pool.fetch(
            "SELECT status FROM sms_messages WHERE booking_id = $1", booking_id
        )
        if [row["status"] for row in statuses] == [status]:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"SMS of {booking_id}: {statuses}, never {status}")
        await asyncio.sleep(0.1)


@pytest.mark.usefixtures("restore_logging")
async def test_a_booking_logs_json_lines_with_its_ids_and_no_raw_phone_or_email(
    booking_settings: Settings, temporal_client: Client, pool: asyncpg.Pool, make_org: MakeOrg
) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = booking_settings.model_copy(
        update={
            "log_level": "DEBUG",
            "log_format": "json",
            # Twilio's status callbacks come to this API (and are signed for this URL).
            "public_base_url": f"http://127.0.0.1:{port}",
        }
    )
    stream = io.StringIO()
    configure_logging(settings, stream)
    org = await make_org()
    caller = unique_phone()
    area, exchange, line = caller[2:5], caller[5:8], caller[8:]
    email = f"sam.{uuid4().hex[:8]}@example.com"
    start = local_start(days_ahead=3, at=time(14))
    call = vapi_call(
        "book_appointment",
        {
            "name": "Sam Wilson",
            "start": start.isoformat(),
            "phone": f"({area}) {exchange}-{line}",
            "email": email,
        },
    )
    api_key = {"Authorization": f"Bearer {org.credentials.api_key}"}
    async with (
        running_worker(temporal_client, settings, pool),
        serving_api(settings, sock) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        response = await http.post(
            "/voice/vapi", json=vapi_message(call, caller=caller), headers=vapi_headers(org)
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["result"].startswith("Booked:")
        booking_id = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
        # Phase 2 done: calendar event, confirmation SMS, Twilio's delivery callbacks applied.
        confirmed = await wait_for_status(pool, booking_id, {"confirmed"})
        assert confirmed["calendar_event_id"]
        await wait_for_sms_status(pool, booking_id, "delivered")
        # An operator looks the caller up: the number lands in the access log's query string.
        for number in (caller, f"{area}-{exchange}-{line}", f"({area}) {exchange}-{line}"):
            found = await http.get("/bookings", params={"phone": number}, headers=api_key)
            assert [item["id"] for item in found.json()["items"]] == [str(booking_id)]
        detail = await http.get(f"/bookings/{booking_id}", headers=api_key)
        assert detail.json()["contact"] == {"name": "Sam Wilson", "phone": caller, "email": email}

    output = stream.getvalue()
    records: list[dict[str, Any]] = [json.loads(text) for text in output.splitlines()]
    for form in phone_forms(caller):
        assert form not in output, f"the caller's number appears as {form!r}"
    for form in (email, email.replace("@", "%40"), email.split("@")[0]):
        assert form not in output, f"the caller's email appears as {form!r}"

    workflow_id = f"booking-{booking_id}"
    ours = [r for r in records if r.get("booking_id") == str(booking_id)]
    assert all(r["workflow_id"] == workflow_id for r in ours)
    answered = [r for r in ours if r["logger"] == "uvicorn.access" and "/voice/" in r["message"]]
    assert answered and answered[0]["org"] == org.slug
    assert any(r.get("activity_type") == "confirm_booking_with_event" for r in ours), (
        "no worker line with the ids"
    )
    # The requests that carried the number were logged, masked.
    access = [r["message"] for r in records if r["logger"] == "uvicorn.access"]
    assert any("POST /twilio/status" in message for message in access)
    assert any(f"/bookings?phone=%2B1******{line} " in message for message in access)
    assert any(f"/bookings?phone=***-***-{line} " in message for message in access)


@pytest.mark.usefixtures("restore_logging")
async def test_the_temporal_cores_own_lines_are_masked_too(stack: Stack) -> None:
    """The SDK's Rust core logs by itself, e.g. each failed workflow task with the failure's
    message, which can quote a caller. The worker connects as `booking worker` does; the
    core's line must come out through our handler: JSON, the number masked."""
    settings = make_settings(stack, log_format="json")
    stream = io.StringIO()
    configure_logging(settings, stream)
    client = await connect_temporal(settings, runtime=worker_runtime(settings))
    caller = unique_phone()

    def core_lines() -> list[dict[str, Any]]:
        records = [json.loads(text) for text in stream.getvalue().splitlines()]
        return [
            r for r in records if "sdk_core" in r["logger"] and "no answer from" in r["message"]
        ]

    async with Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[FailsItsTask],
        workflow_runner=workflow_runner(),
    ):
        handle = await client.start_workflow(
            FailsItsTask.run,
            f"no answer from {caller}",
            id=f"fails-{uuid4()}",
            task_queue=settings.temporal_task_queue,
        )
        try:
            [line, *_] = await wait_until(
                core_lines, what="the Temporal core's line about the failed workflow task"
            )
        finally:
            await handle.terminate("test over")

    assert f"no answer from {mask_phone(caller)}" in line["message"]
    output = stream.getvalue()
    for form in phone_forms(caller):
        assert form not in output, f"the caller's number appears as {form!r}"
