"""With PAYLOAD_ENCRYPTION_KEY set, a booking's Temporal history holds no caller PII in clear,
and the codec server gives it back to operators who present the codec token.

One module because the codec server cases decode the very histories the encryption cases write, with
the same `encrypted_settings`, codec token and `book_and_cancel` booking.
"""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import uvicorn
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus

from api.app import create_app
from core.domain.ids import booking_id_for, booking_workflow_id
from core.infra.config import Settings
from core.temporal.client import connect_temporal
from core.temporal.codec import ENCODING, generate_key, payload_codec
from devstack.temporal import free_port, temporal_binary
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.booking_helpers import book, local_start, wait_for_status, wait_until
from tests.conftest import MakeWorker, Stack, make_settings, running_worker
from tests.factories import TestOrg
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message

pytestmark = pytest.mark.integration

NAME = "Philippa Quarrington"
EMAIL = "philippa.quarrington@example.org"
PHONE = "+12125557461"
# Every way the caller's details could be spelled inside a payload.
PII = [NAME, "Quarrington", EMAIL, PHONE, "2125557461", "212-555-7461", "(212) 555-7461"]
CODEC_TOKEN = "test-codec-token"
UI_ORIGIN = "http://ui.example.test:8080"
M = TypeVar("M")


@pytest.fixture
def encrypted_settings(booking_settings: Settings) -> Settings:
    return booking_settings.model_copy(
        update={
            "payload_encryption_key": SecretStr(generate_key("k2")),
            "codec_token": SecretStr(CODEC_TOKEN),
            "temporal_ui_url": f"{UI_ORIGIN}/namespaces/default",
        }
    )


@pytest.fixture
async def encrypted_client(encrypted_settings: Settings) -> Client:
    return await connect_temporal(encrypted_settings)


@pytest.fixture
async def api(
    encrypted_settings: Settings, encrypted_client: Client, make_worker: MakeWorker
) -> AsyncIterator[httpx.AsyncClient]:
    """The app and the workers on the encrypting settings and client."""
    await make_worker(encrypted_settings, client=encrypted_client)
    async with api_client(encrypted_settings) as client:
        yield client


async def book_and_cancel(api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool) -> UUID:
    """A full lifecycle through the voice webhook: booked, confirmed (SMS + event), cancelled."""
    arguments = {
        "name": NAME,
        "phone": PHONE,
        "email": EMAIL,
        "start": local_start(3).strftime("%Y-%m-%dT%H:%M"),
        "notes": f"call {NAME} back on {PHONE}",
    }
    booked = await api.post(
        "/voice/vapi",
        json=vapi_message(vapi_call("book_appointment", arguments), caller=PHONE),
        headers=vapi_headers(org),
    )
    [result] = booked.json()["results"]
    assert "booked" in result["result"].lower(), result
    booking_id = UUID(
        await pool.fetchval("SELECT id::text FROM bookings WHERE org_id = $1", org.id)
    )
    await wait_for_status(pool, booking_id, {"confirmed"})
    cancelled = await api.post(
        f"/bookings/{booking_id}/cancel",
        json={"reason": f"{NAME} asked"},
        headers={"Authorization": f"Bearer {org.credentials.api_key}"},
    )
    assert cancelled.status_code == 200, cancelled.text
    return booking_id


def nested(message: Any, kind: type[M]) -> Iterator[M]:
    """Every `kind` message anywhere inside a protobuf message, however deeply nested
    (a Failure's causes included)."""
    if isinstance(message, kind):
        yield message
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if hasattr(value, "ListFields"):
            yield from nested(value, kind)
            continue
        # A repeated field, or a map (header fields, memo) whose values are messages.
        for item in value.values() if hasattr(value, "values") else value:
            if hasattr(item, "ListFields"):
                yield from nested(item, kind)


def history_payloads(message: Any) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message."""
    return nested(message, Payload)


async def raw_history(stack: Stack, booking_id: UUID) -> list[HistoryEvent]:
    """The history as an operator without the key sees it (no codec on this client)."""
    plain = await connect_temporal(make_settings(stack))
    handle = plain.get_workflow_handle(booking_workflow_id(booking_id))
    # Wait for the cancelled booking's run to end, so the history is complete.
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        await asyncio.sleep(0.1)
    return list((await handle.fetch_history()).events)


async def test_no_caller_detail_appears_in_clear_anywhere_in_the_history(
    api: httpx.AsyncClient,
    org: TestOrg,
    pool: asyncpg.Pool,
    stack: Stack,
    encrypted_settings: Settings,
) -> None:
    booking_id = await book_and_cancel(api, org, pool)
    events = await raw_history(stack, booking_id)
    everything = b"".join(event.SerializeToString() for event in events)
    for detail in PII:
        assert detail.encode() not in everything, f"{detail!r} is in the history in clear"

    payloads = [p for event in events for p in history_payloads(event)]
    encrypted = [p for p in payloads if p.metadata.get("encoding") == ENCODING]
    assert encrypted, "no encrypted payload in the history"
    # The check above can fail: the same payloads, decrypted, do hold the caller's details.
    codec = payload_codec(encrypted_settings)
    assert codec is not None
    clear = b"".join(p.data for p in await codec.decode(encrypted))
    assert NAME.encode() in clear and PHONE.encode() in clear


async def test_failure_messages_and_stack_traces_are_encrypted_too(
    encrypted_settings: Settings,
    encrypted_client: Client,
    pool: asyncpg.Pool,
    org: TestOrg,
    stack: Stack,
    sandboxes: Sandboxes,
) -> None:
    """Twilio's error messages quote what they were sent (we keep only the number out), and a
    failed attempt of the confirmation text reaches the history as a failure: its message and
    stack trace travel encrypted, not in the clear fields."""
    key = f"call-{uuid4()}"
    # The confirmation text fails twice (inside phase 2's activity, then on its own), then goes.
    await sandboxes.twilio.add_fault(
        status=503, code=20003, message=f"carrier busy for {NAME}", method="POST", count=2
    )
    async with running_worker(encrypted_client, encrypted_settings, pool):
        answer = await book(
            encrypted_client,
            encrypted_settings,
            org,
            start=local_start(3),
            key=key,
            phone=PHONE,
            name=NAME,
        )
        assert answer.outcome == "booked" and answer.booking_id is not None, answer
        await wait_until(
            lambda: _text_sent(pool, answer.booking_id), what="the confirmation text sent"
        )
    # The booking's workflow waits for the visit now; its history so far is what counts.
    plain = await connect_temporal(make_settings(stack))
    handle = plain.get_workflow_handle(booking_workflow_id(booking_id_for(org.id, key)))
    events = list((await handle.fetch_history()).events)
    everything = b"".join(event.SerializeToString() for event in events)
    for detail in PII:
        assert detail.encode() not in everything, f"{detail!r} is in the history in clear"
    failures = [f for event in events for f in nested(event, Failure)]
    assert failures, "the failed attempt left no failure in the history"
    assert {(f.message, f.stack_trace) for f in failures} == {("Encoded failure", "")}

    # The same failures, decrypted, hold the refusal and where it was raised.
    codec = payload_codec(encrypted_settings)
    assert codec is not None
    decoded = []
    for failure in failures:
        if failure.HasField("encoded_attributes"):
            assert failure.encoded_attributes.metadata["encoding"] == ENCODING
            [clear] = await codec.decode([failure.encoded_attributes])
            decoded.append(json.loads(clear.data))
    refusals = [d for d in decoded if NAME in d["message"]]
    frames = [
        line.strip()
        for refusal in refusals
        for line in refusal["stack_trace"].splitlines()
        if line.strip().startswith('File "')
    ]
    assert refusals and frames, decoded
    for frame in frames:
        assert frame.encode() not in everything, f"{frame!r} is in the history in clear"


async def _text_sent(pool: asyncpg.Pool, booking_id: UUID | None) -> bool:
    sid = await pool.fetchval(
        "SELECT twilio_sid FROM sms_messages WHERE booking_id = $1 AND kind = 'confirmation'",
        booking_id,
    )
    return sid is not None


async def test_codec_server_decodes_for_the_token_holder_only(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool, stack: Stack
) -> None:
    booking_id = await book_and_cancel(api, org, pool)
    events = await raw_history(stack, booking_id)
    [started] = [e for e in events if e.HasField("workflow_execution_started_event_attributes")]
    inputs = started.workflow_execution_started_event_attributes.input
    body = json_format.MessageToJson(inputs)

    refused = await api.post("/codec/decode", content=body)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    wrong = await api.post(
        "/codec/decode", content=body, headers={"Authorization": "Bearer not-the-token"}
    )
    assert wrong.status_code == 401

    for authorization in (
        f"Bearer {CODEC_TOKEN}",
        "Basic " + base64.b64encode(f"operator:{CODEC_TOKEN}".encode()).decode(),
    ):
        decoded = await api.post(
            "/codec/decode",
            content=body,
            headers={"Authorization": authorization, "X-Namespace": "default"},
        )
        assert decoded.status_code == 200, decoded.text
        payloads = json_format.Parse(decoded.text, Payloads()).payloads
        assert payloads[0].metadata["encoding"] == b"json/plain"
        assert NAME in payloads[0].data.decode()


async def test_a_browser_signs_in_once_with_basic_auth(api: httpx.AsyncClient) -> None:
    """The UI's cross-origin calls carry no header of ours; the browser's cached Basic
    credentials for the API's origin go along instead (the UI includes credentials)."""
    challenge = await api.get("/codec/")
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="booking codec"'
    basic = base64.b64encode(f"operator:{CODEC_TOKEN}".encode()).decode()
    signed_in = await api.get("/codec/", headers={"Authorization": f"Basic {basic}"})
    assert signed_in.status_code == 200
    assert "can now decode" in signed_in.text


async def test_codec_encode_round_trips_and_bad_bodies_are_400(api: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {CODEC_TOKEN}"}
    plain = Payloads(
        payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'{"start": "x"}')]
    )
    encoded = await api.post(
        "/codec/encode", content=json_format.MessageToJson(plain), headers=auth
    )
    assert encoded.status_code == 200
    sealed = json_format.Parse(encoded.text, Payloads())
    assert sealed.payloads[0].metadata["encoding"] == ENCODING
    assert sealed.payloads[0].metadata["encryption-key-id"] == b"k2"
    decoded = await api.post("/codec/decode", content=encoded.text, headers=auth)
    assert json_format.Parse(decoded.text, Payloads()) == plain

    for bad in (b"not json", b'{"payloads": "x"}', b'{"payloads": [{"metadata": 5}]}'):
        response = await api.post("/codec/decode", content=bad, headers=auth)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]["code"] == "bad_request"


async def test_codec_answers_cors_for_the_ui_origin_only(api: httpx.AsyncClient) -> None:
    preflight = await api.options(
        "/codec/decode",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-Namespace" in preflight.headers["Access-Control-Allow-Headers"]

    elsewhere = await api.options("/codec/decode", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    # Even a refusal carries the CORS headers, so the UI can show why it failed.
    refused = await api.post("/codec/decode", content=b"{}", headers={"Origin": UI_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == UI_ORIGIN


async def test_codec_routes_say_why_when_off(booking_settings: Settings) -> None:
    async with api_client(booking_settings) as client:
        response = await client.post("/codec/decode", content=b'{"payloads": []}')
    assert response.status_code == 404
    assert "PAYLOAD_ENCRYPTION_KEY" in response.json()["error"]["message"]


async def test_temporal_cli_shows_the_history_through_the_codec_server(
    api: httpx.AsyncClient,
    org: TestOrg,
    pool: asyncpg.Pool,
    stack: Stack,
    encrypted_settings: Settings,
) -> None:
    """What an operator runs: `temporal workflow show --codec-endpoint ... --codec-auth ...`."""
    booking_id = await book_and_cancel(api, org, pool)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(encrypted_settings), port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        command = [
            "workflow",
            "show",
            "--workflow-id",
            booking_workflow_id(booking_id),
            "--address",
            stack.temporal_address,
            "--output",
            "json",
        ]
        without = shown_payloads(await _run(temporal_binary(), *command))
        assert NAME not in without
        shown = shown_payloads(
            await _run(
                temporal_binary(),
                *command,
                "--codec-endpoint",
                f"http://127.0.0.1:{port}/codec",
                "--codec-auth",
                f"Bearer {CODEC_TOKEN}",
            )
        )
        assert NAME in shown and PHONE in shown
    finally:
        server.should_exit = True
        await serving


def shown_payloads(output: str) -> str:
    """The data of every payload in `temporal workflow show --output json`, decoded from base64."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metadata"), dict) and isinstance(node.get("data"), str):
                found.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(output))
    assert found, "no payload in the history output"
    return "\n".join(found)


async def _run(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()
