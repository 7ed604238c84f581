"""The bench's Temporal floor: the booking worker's own settings, and a Vapi call answered
through update-with-start of the floor's workflow on the real dev server."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from bench.floor import create_floor_app, floor_worker, floor_workflow_id
from bench.floor_workflow import FloorWorkflow, noop
from bench.history import history_counts
from bench.load import Call, Slot, vapi_body
from core.infra.config import Settings
from worker.main import booking_workers

_SWAPPED = {"task_queue", "workflows", "activities"}


@asynccontextmanager
async def booking_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[Worker]:
    """The answer-path worker as `booking worker` builds it, not run: only its settings are
    used."""
    async with booking_workers(client, settings, pool) as workers:
        yield workers.answers


async def test_floor_worker_has_every_setting_of_the_booking_worker(
    temporal_client: Client, booking_settings: Settings, pool: asyncpg.Pool
) -> None:
    async with booking_worker(temporal_client, booking_settings, pool) as booking:
        floor = floor_worker(booking, task_queue="floor-settings")

    ours, theirs = booking.config(), floor.config()
    assert theirs["task_queue"] == "floor-settings"
    assert theirs["workflows"] == [FloorWorkflow]
    assert theirs["activities"] == [noop]
    assert theirs["workflow_runner"] is ours["workflow_runner"]
    assert {k: v for k, v in theirs.items() if k not in _SWAPPED} == {
        k: v for k, v in ours.items() if k not in _SWAPPED
    }


async def test_floor_answers_a_vapi_booking_through_temporal(
    temporal_client: Client, booking_settings: Settings, pool: asyncpg.Pool
) -> None:
    queue = f"floor-{uuid.uuid4().hex[:12]}"
    app = create_floor_app(booking_settings, task_queue=queue)
    start = datetime.combine(date.today() + timedelta(days=7), time(10, 15))
    call = Call(
        id=f"call_{uuid.uuid4().hex}", slot=Slot("Provider 1", "Short", start), phone="+12125550123"
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://floor") as http,
        booking_worker(temporal_client, booking_settings, pool) as booking,
    ):
        # A task queue no worker has polled yet.
        assert (await http.get("/ready")).status_code == 503
        async with floor_worker(booking, task_queue=queue):
            response = await http.post("/voice/vapi", content=vapi_body(call))

    answer = f"Booked: Short with Provider 1 at {start.isoformat(timespec='minutes')}."
    assert response.json() == {"results": [{"toolCallId": call.id, "result": answer}]}
    handle = temporal_client.get_workflow_handle(floor_workflow_id(call.id))
    assert await handle.result() == answer
    counts = history_counts(e.event_type for e in (await handle.fetch_history()).events)
    # One workflow task: the local activity's marker, the update, the completion.
    assert counts["workflow_tasks"] == 1
    assert counts["markers"] == 1
    assert counts["activity_tasks"] == 0
