"""GET /metrics on the real app and the worker's Temporal SDK exporter, on the real stack."""

import asyncio
import socket
from datetime import time
from uuid import uuid4

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.domain.ids import booking_workflow_id
from core.infra.config import Settings
from core.temporal.client import connect_temporal
from core.temporal.models import CancelChange
from core.temporal.names import side_effect_task_queue
from tests.apiclient import api_client
from tests.booking_helpers import book, local_start, unique_phone, wait_for_status
from tests.conftest import Stack, make_settings, running_worker
from tests.factories import TestOrg
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message
from worker.telemetry import worker_runtime
from workflows.client import booking_workflow, cancel_booking

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_voice_and_rest_bookings_are_counted_by_route_tool_and_outcome(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    before = await scrape(api)
    start = local_start(days_ahead=2, at=time(14)).isoformat()
    for call_id, expected in (("m1", "Booked:"), ("m2", "already taken")):
        call = vapi_call("book_appointment", {"name": "Sam Wilson", "start": start}, call_id)
        response = await api.post(
            "/voice/vapi",
            json=vapi_message(call, caller=unique_phone()),
            headers=vapi_headers(org),
        )
        assert response.status_code == 200
        assert expected in response.json()["results"][0]["result"]
    rest = await api.post(
        "/bookings",
        json={
            "name": "Ann Lee",
            "phone": unique_phone(),
            "start": local_start(2, time(15)).isoformat(),
        },
        headers={
            "Authorization": f"Bearer {org.credentials.api_key}",
            "Idempotency-Key": str(uuid4()),
        },
    )
    assert rest.status_code == 201, rest.text
    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    vapi_200 = {"route": "/voice/vapi", "method": "POST", "status": "200"}
    assert delta("booking_http_requests_total", **vapi_200) == 2
    assert delta("booking_http_requests_total", route="/bookings", method="POST", status="201") == 1
    duration = "booking_http_request_duration_seconds_count"
    assert delta(duration, route="/voice/vapi", method="POST") == 2
    tool = {"tool": "book_appointment", "platform": "vapi"}
    assert delta("booking_voice_tool_duration_seconds_count", **tool) == 2
    assert delta("booking_voice_tool_duration_seconds_sum", **tool) > 0
    assert delta("booking_outcomes_total", outcome="booked", channel="vapi") == 1
    assert delta("booking_outcomes_total", outcome="unavailable", channel="vapi") == 1
    assert delta("booking_outcomes_total", outcome="booked", channel="rest") == 1
    assert delta("booking_outcomes_total", outcome="error", channel="vapi") == 0


async def test_cancel_tool_outcomes_are_counted(api: httpx.AsyncClient, org: TestOrg) -> None:
    before = await scrape(api)
    message = vapi_message(
        vapi_call("cancel_appointment", {"booking_id": str(uuid4())}, "c1"),
        vapi_call("cancel_appointment", {"booking_id": "not-a-uuid"}, "c2"),
    )
    response = await api.post("/voice/vapi", json=message, headers=vapi_headers(org))
    assert response.status_code == 200
    after = await scrape(api)
    labels = {"change": "cancel", "channel": "vapi"}
    for outcome in ("not_found", "invalid"):
        name = "booking_changes_total"
        assert (
            value(after, name, outcome=outcome, **labels)
            - value(before, name, outcome=outcome, **labels)
            == 1
        )
    tool = {"tool": "cancel_appointment", "platform": "vapi"}
    count = "booking_voice_tool_duration_seconds_count"
    assert value(after, count, **tool) - value(before, count, **tool) == 2


async def test_paths_are_counted_by_route_template_never_raw(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    raw_id = str(uuid4())
    before = await scrape(api)
    assert (await api.get(f"/no/such/path/{raw_id}")).status_code == 404
    headers = {"Authorization": f"Bearer {org.credentials.api_key}"}
    assert (await api.get(f"/bookings/{raw_id}", headers=headers)).status_code == 404
    assert (await api.get("/openapi.json")).status_code == 200
    response = await api.get("/metrics")
    after = parse(response.text)
    name = "booking_http_requests_total"
    for labels in (
        {"route": "unmatched", "method": "GET", "status": "404"},
        {"route": "/bookings/{booking_id}", "method": "GET", "status": "404"},
        {"route": "/openapi.json", "method": "GET", "status": "200"},
    ):
        assert value(after, name, **labels) - value(before, name, **labels) == 1, labels
    assert raw_id not in response.text
    assert "/no/such/path" not in response.text


async def test_metrics_token_is_required_when_set(stack: Stack) -> None:
    settings = make_settings(stack, metrics_token="metrics-secret")
    async with api_client(settings) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer metrics-secre"})
        admin = await client.get("/metrics", headers={"Authorization": "Bearer test-admin-token"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer metrics-secret"})
        schema = (await client.get("/openapi.json")).json()
    assert [r.status_code for r in (missing, wrong, admin)] == [401, 401, 401]
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "booking_http_requests_total" in right.text
    assert "/metrics" not in schema["paths"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_worker_serves_temporal_sdk_metrics(
    booking_settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    address = f"127.0.0.1:{free_port()}"
    settings = booking_settings.model_copy(update={"worker_metrics_address": address})
    # The function `booking worker` uses; a second runtime in this process is its own exporter.
    runtime = worker_runtime(settings)
    assert runtime is not None
    client = await connect_temporal(settings, runtime=runtime)
    async with running_worker(client, settings, pool):
        answer = await book(
            client, settings, org, start=local_start(3, time(11)), phone=unique_phone()
        )
        assert answer.outcome == "booked", answer.message
        assert answer.booking_id is not None
        await wait_for_status(pool, answer.booking_id, {"confirmed"})
        workflow_id = booking_workflow_id(answer.booking_id)
        cancelled = await cancel_booking(client, workflow_id, CancelChange(reason="metrics test"))
        assert cancelled.outcome == "cancelled"
        assert (await booking_workflow(client, workflow_id).result()).final_status == "cancelled"
        samples = await worker_samples(address, settings.temporal_task_queue)
    queue = settings.temporal_task_queue
    side_effects = side_effect_task_queue(queue)
    assert count(samples, "temporal_workflow_task_execution_latency_count", queue) > 0
    # Phase 2's activities run on the side-effect queue, with slots of their own.
    assert count(samples, "temporal_activity_execution_latency_count", side_effects) > 0
    assert count(samples, "temporal_workflow_completed_total", queue) >= 1
    assert count(samples, "temporal_worker_task_slots_available", queue) > 0
    assert count(samples, "temporal_worker_task_slots_available", side_effects) > 0


def count(samples: Samples, name: str, task_queue: str) -> float:
    """The sum over every label set of `name` on this task queue."""
    return sum(
        found
        for (sample, labels), found in samples.items()
        if sample == name and dict(labels).get("task_queue") == task_queue
    )


async def worker_samples(address: str, task_queue: str) -> Samples:
    """The exporter's samples once it shows the completed workflow (it may lag a moment).

    The SDK exports counters without `_total` (`temporal_workflow_completed`); the parser
    names their samples `..._total`.
    """
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            response = await http.get(f"http://{address}/metrics")
            assert response.status_code == 200
            samples = parse(response.text)
            if count(samples, "temporal_workflow_completed_total", task_queue) >= 1:
                return samples
            await asyncio.sleep(0.1)
    return samples
