"""The caller's answer needs Postgres alone: no vendor call sits between a tool call and its answer.

The side effects run on their own task queue, so a worker polling only the answer path answers
every call while no calendar or SMS request can be made; the sandboxes' request logs then show
none, and once the side-effect worker polls, phase 2 runs: calendar event, then `confirmed`,
then the text.
"""

import json
from datetime import time
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from core.infra.config import Settings
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.booking_helpers import (
    BookingEnv,
    local_start,
    unique_phone,
    wait_for_status,
    wait_until,
)
from tests.factories import TestOrg
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message
from worker.main import booking_workers


async def test_every_answer_comes_before_any_vendor_request(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    caller, rival = unique_phone(), unique_phone()
    start = local_start(days_ahead=3, at=time(10))
    calls = [
        (vapi_call("check_availability", {"date": start.date().isoformat()}), caller),
        (vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()}), caller),
        # Another caller for the same time: taken, with alternatives.
        (vapi_call("book_appointment", {"name": "Ann Lee", "start": start.isoformat()}), rival),
        # The first caller again, as an agent re-issues a call with a new tool-call id.
        (vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()}), caller),
    ]
    async with (
        booking_workers(temporal_client, booking_settings, pool) as workers,
        workers.answers,
        api_client(booking_settings) as api,
    ):
        answers = []
        for call, phone in calls:
            response = await api.post(
                "/voice/vapi", json=vapi_message(call, caller=phone), headers=vapi_headers(org)
            )
            answers.append(response.json()["results"][0]["result"])
        # Every answer is given, and not one request reached Google or Twilio for this org.
        assert "is free" in answers[0]
        assert answers[1].startswith("Booked: Consultation with Dr. Test")
        assert "already taken" in answers[2] and "The next free times are" in answers[2]
        assert answers[3].startswith("You're already booked for that time")
        assert await _calendar_requests(sandboxes, org.calendar_id) == []
        assert await _texts(sandboxes, caller, rival) == []
        booking = await pool.fetchrow(
            "SELECT id, status::text FROM bookings WHERE org_id = $1", org.id
        )
        assert booking is not None and booking["status"] == "held"

        async with workers.side_effects:
            await wait_for_status(pool, booking["id"], {"confirmed"})
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert [r["status"] for r in inserts] == [200]
    texts = await _texts(sandboxes, caller, rival)
    assert [(t["to"], "is booked" in t["body"]) for t in texts] == [(caller, True)]
    # The rival's refused request wrote nothing: one booking, one contact.
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE org_id = $1", org.id) == 1


async def _calendar_requests(sandboxes: Sandboxes, calendar_id: str) -> list[dict[str, Any]]:
    """Every request to Google that names the calendar: in its path, as the events routes do,
    or anywhere else in the recorded request (query or body), so a read of any shape counts."""
    return [r for r in await sandboxes.calendar.requests() if calendar_id in json.dumps(r)]


async def _texts(sandboxes: Sandboxes, *phones: str) -> list[dict[str, str]]:
    return [m for phone in phones for m in await sandboxes.twilio.messages(to=phone)]


async def test_a_refused_calendar_event_means_no_confirmation_text_only_the_apology(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", path_contains=org.calendar_id, method="POST"
    )
    phone = unique_phone()
    answer = await booking_env.book(start=local_start(4), phone=phone)
    assert answer.outcome == "booked" and answer.booking_id is not None
    await wait_for_status(pool, answer.booking_id, {"failed"})
    await wait_until(lambda: _texts(sandboxes, phone), what="the apology")
    texts = await _texts(sandboxes, phone)
    assert len(texts) == 1 and "sorry, we could not confirm" in texts[0]["body"], texts
    kinds = await pool.fetch(
        "SELECT kind FROM sms_messages WHERE booking_id = $1", answer.booking_id
    )
    assert [k["kind"] for k in kinds] == ["apology"]


async def test_a_caller_asking_again_for_their_own_slot_hears_already_booked(
    api: httpx.AsyncClient, pool: asyncpg.Pool, org: TestOrg
) -> None:
    start = local_start(days_ahead=3, at=time(15)).isoformat()
    headers = {"Authorization": f"Bearer {org.credentials.api_key}"}
    body = {"name": "Kim Park", "phone": "(212) 555-0177", "start": start}
    first = await api.post("/bookings", json=body, headers=headers | {"Idempotency-Key": "a"})
    again = await api.post(
        "/bookings",
        json=body | {"name": "Kim Park-Lee"},
        headers=headers | {"Idempotency-Key": "b"},
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["outcome"] == "already_booked"
    assert again.json()["booking_id"] == first.json()["booking_id"]
    assert again.headers["location"] == first.headers["location"]
    assert again.json()["message"].startswith("You're already booked for that time: ")
    rows = await pool.fetch("SELECT id FROM bookings WHERE org_id = $1", org.id)
    assert [str(r["id"]) for r in rows] == [first.json()["booking_id"]]
