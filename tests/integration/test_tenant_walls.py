"""Tenant walls on every path that reads or changes a booking.

Org A holds valid credentials of its own and tries to reach org B's booking: by its id through
REST, Vapi and Retell, and by the caller's number (a number that has a booking in B only).
Each attempt must be refused as "no such booking", and B's booking must stay exactly as it
was: its row, its workflow's state, its SMS ledger and its calendar event. A caller whose
number is also a contact of B, calling A, must create and change A's rows only.

One module because it reads as one table: every `Attempt` (REST, Vapi, Retell, by id or by number)
runs against the same `foreign` booking and is checked by the same `trace` of its row, workflow, SMS
ledger and event.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core.domain.ids import booking_workflow_id
from core.temporal.models import BookingState
from sandbox.runner import Sandboxes
from tests.booking_helpers import (
    BookingEnv,
    local_start,
    unique_phone,
    wait_for_status,
    wait_until,
)
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from tests.voice_helpers import (
    org_row_counts,
    retell_body,
    retell_headers,
    vapi_call,
    vapi_headers,
    vapi_message,
)
from workflows.client import booking_state

pytestmark = pytest.mark.integration

RETELL_KEY_A = "key_retell_wall_a_0123456789"
RETELL_KEY_B = "key_retell_wall_b_0123456789"
# What the tools say when the org has no such booking (api/changes.py), written out here so a
# different refusal (or an answer from another org's booking) fails the test.
NO_SUCH_BOOKING = "I couldn't find that booking."
NO_BOOKING_FOR_CALLER = "I couldn't find an upcoming appointment for this phone number."
# What find_appointments says for a number with no upcoming booking in the org.
NOTHING_UPCOMING = "I couldn't find any upcoming appointments for this number."


@dataclass(frozen=True)
class Booking:
    org: TestOrg
    id: UUID
    phone: str
    start: datetime


@dataclass(frozen=True)
class Trace:
    """Everything a change to one booking would touch."""

    row: dict[str, Any]
    state: dict[str, Any]
    sms_ledger: list[tuple[str, str, str, str | None]]
    calendar_events: list[tuple[str, str, str, str]]
    calendar_writes: int


@pytest.fixture
async def org_a(make_org: MakeOrg) -> TestOrg:
    return await make_org(retell_api_key=RETELL_KEY_A)


@pytest.fixture
async def org_b(make_org: MakeOrg) -> TestOrg:
    return await make_org(retell_api_key=RETELL_KEY_B)


async def confirmed(env: BookingEnv, org: TestOrg, start: datetime, phone: str) -> Booking:
    """A booking made the normal way and left quiet: confirmed, its confirmation SMS handed to
    Twilio, its calendar event written, its workflow waiting for the appointment."""
    booking = Booking(org, await env.book_confirmed(start, phone=phone, org=org), phone, start)

    async def settled() -> bool:
        state = await workflow_state(env.temporal, booking.id)
        return (
            state.status == "confirmed"
            and "confirmation" in state.sms
            and (state.waiting_for or "").startswith("confirmed;")
        )

    await wait_until(settled, what=f"booking {booking.id} confirmed and texted")
    # The trace counts calendar writes by path: it must see the creation, or it sees nothing.
    assert await calendar_writes(env.sandboxes, org) >= 1
    return booking


async def workflow_state(client: Client, booking_id: UUID) -> BookingState:
    return await booking_state(client, booking_workflow_id(booking_id))


async def calendar_writes(sandboxes: Sandboxes, org: TestOrg) -> int:
    requests = await sandboxes.calendar.requests(path_contains=org.calendar_id)
    return sum(1 for request in requests if request["method"] != "GET")


async def trace(
    client: Client, pool: asyncpg.Pool, sandboxes: Sandboxes, booking: Booking
) -> Trace:
    row = await pool.fetchrow(
        "SELECT org_id, contact_id, status::text, status_reason, starts_at, ends_at, "
        "during::text, calendar_event_id, updated_at FROM bookings WHERE id = $1",
        booking.id,
    )
    ledger = await pool.fetch(
        "SELECT kind, send_key, to_phone, twilio_sid FROM sms_messages "
        "WHERE booking_id = $1 ORDER BY created_at, id",
        booking.id,
    )
    events = await sandboxes.calendar.events(booking.org.calendar_id)
    return Trace(
        row=dict(row),
        state=(await workflow_state(client, booking.id)).model_dump(),
        # Not the delivery status: Twilio's callbacks move it on by themselves.
        sms_ledger=[tuple(r.values()) for r in ledger],
        calendar_events=[
            (e["id"], e["status"], e["start"]["dateTime"], e["end"]["dateTime"]) for e in events
        ],
        calendar_writes=await calendar_writes(sandboxes, booking.org),
    )


@pytest.fixture
async def foreign(booking_env: BookingEnv, org_b: TestOrg) -> Booking:
    """Org B's booking, three days ahead at 10:00, for a number nobody else uses."""
    return await confirmed(booking_env, org_b, local_start(3, time(10)), unique_phone())


# Org A's attempts on B's booking ----------------------------------------------------------------

Attempt = Callable[[httpx.AsyncClient, TestOrg, Booking], Awaitable[None]]


def a_free_time(target: Booking) -> str:
    """A time free in both orgs, so only the wall can refuse a move there."""
    return (target.start + timedelta(hours=3)).isoformat()


async def rest(
    api: httpx.AsyncClient, method: str, path: str, org: TestOrg, body: dict[str, str] | None
) -> None:
    headers = {"Authorization": f"Bearer {org.credentials.api_key}"}
    response = await api.request(method, path, json=body, headers=headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found", response.text


async def rest_reschedule(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    body = {"start": a_free_time(target)}
    await rest(api, "POST", f"/bookings/{target.id}/reschedule", org, body)


async def rest_cancel(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    await rest(api, "POST", f"/bookings/{target.id}/cancel", org, {"reason": "not yours"})


async def rest_read(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    await rest(api, "GET", f"/bookings/{target.id}", org, None)


async def rest_list_by_phone(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    response = await api.get(
        "/bookings",
        params={"phone": target.phone},
        headers={"Authorization": f"Bearer {org.credentials.api_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


async def rest_upcoming_by_phone(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    response = await api.get(
        "/bookings/upcoming",
        params={"phone": target.phone},
        headers={"Authorization": f"Bearer {org.credentials.api_key}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": NOTHING_UPCOMING, "items": [], "more": False}


async def vapi_find_by_caller(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    call = vapi_call("find_appointments", {})
    response = await api.post(
        "/voice/vapi", json=vapi_message(call, caller=target.phone), headers=vapi_headers(org)
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert (result["toolCallId"], result.get("result")) == (call["id"], NOTHING_UPCOMING), result


async def retell_find_by_phone(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
    # The number given as an argument, from another caller: the same lookup, the same wall.
    body = retell_body("find_appointments", {"phone": target.phone}, caller=unique_phone())
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY_A)
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["result"], answer["appointments"]) == (NOTHING_UPCOMING, []), answer


def tool_arguments(tool: str, target: Booking, by_id: bool) -> dict[str, str]:
    arguments = {"booking_id": str(target.id)} if by_id else {}
    if tool == "reschedule_appointment":
        arguments["new_start"] = a_free_time(target)
    else:
        arguments["reason"] = "not yours"
    return arguments


async def vapi_refused(
    api: httpx.AsyncClient, org: TestOrg, target: Booking, tool: str, *, by_id: bool
) -> None:
    call = vapi_call(tool, tool_arguments(tool, target, by_id))
    response = await api.post(
        "/voice/vapi",
        json=vapi_message(call, caller=target.phone),
        headers=vapi_headers(org),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [
            {
                "toolCallId": call["id"],
                "name": tool,
                "error": NO_SUCH_BOOKING if by_id else NO_BOOKING_FOR_CALLER,
            }
        ]
    }


async def retell_refused(
    api: httpx.AsyncClient, org: TestOrg, target: Booking, tool: str, *, by_id: bool
) -> None:
    body = retell_body(tool, tool_arguments(tool, target, by_id), caller=target.phone)
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY_A)
    )
    assert response.status_code == 200, response.text
    expected = NO_SUCH_BOOKING if by_id else NO_BOOKING_FOR_CALLER
    answer = response.json()
    seen = {key: answer.get(key) for key in ("result", "error", "outcome")}
    assert seen == {"result": expected, "error": expected, "outcome": None}, answer


def voice(platform: str, tool: str, *, by_id: bool) -> Attempt:
    refused = vapi_refused if platform == "vapi" else retell_refused

    async def attempt(api: httpx.AsyncClient, org: TestOrg, target: Booking) -> None:
        await refused(api, org, target, tool, by_id=by_id)

    return attempt


ATTEMPTS: dict[str, Attempt] = {
    "rest reschedule by id": rest_reschedule,
    "rest cancel by id": rest_cancel,
    "rest read by id": rest_read,
    "rest list by phone": rest_list_by_phone,
    "rest upcoming by phone": rest_upcoming_by_phone,
    "vapi find by caller": vapi_find_by_caller,
    "retell find by phone": retell_find_by_phone,
    **{
        f"{platform} {tool.split('_')[0]} by {'id' if by_id else 'caller'}": voice(
            platform, tool, by_id=by_id
        )
        for platform in ("vapi", "retell")
        for tool in ("reschedule_appointment", "cancel_appointment")
        for by_id in (True, False)
    },
}


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_another_orgs_booking_is_out_of_reach(
    attempt: str,
    api: httpx.AsyncClient,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org_a: TestOrg,
    foreign: Booking,
) -> None:
    before = await trace(temporal_client, pool, sandboxes, foreign)
    texts_before = await sandboxes.twilio.count_messages(to=foreign.phone)
    await ATTEMPTS[attempt](api, org_a, foreign)
    assert await trace(temporal_client, pool, sandboxes, foreign) == before
    assert await sandboxes.twilio.count_messages(to=foreign.phone) == texts_before
    # Org A got nothing out of it either: no contact or booking of its own.
    assert await org_row_counts(pool, org_a) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


# One number, two orgs -------------------------------------------------------------------------


async def test_a_caller_known_to_both_orgs_changes_only_the_called_orgs_booking(
    api: httpx.AsyncClient,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org_a: TestOrg,
    foreign: Booking,
) -> None:
    """B's booking for this number starts first, so a lookup by number that ignored the org
    would find B's booking, not A's."""
    phone = foreign.phone
    b_contact = await pool.fetchrow(
        "SELECT id, name, phone, updated_at FROM contacts WHERE org_id = $1", foreign.org.id
    )
    before = await trace(temporal_client, pool, sandboxes, foreign)

    # The caller books with A, at the same time as their booking with B plus an hour.
    own_start = foreign.start + timedelta(hours=1)
    booked = await api.post(
        "/voice/vapi",
        json=vapi_message(
            vapi_call("book_appointment", {"name": "Alex Jones", "start": own_start.isoformat()}),
            caller=phone,
        ),
        headers=vapi_headers(org_a),
    )
    assert booked.json()["results"][0]["result"].startswith("Booked: "), booked.text
    [own] = await pool.fetch(
        "SELECT b.id, c.phone, c.name FROM bookings b JOIN contacts c ON c.id = b.contact_id "
        "WHERE b.org_id = $1",
        org_a.id,
    )
    assert (own["phone"], own["name"]) == (phone, "Alex Jones")
    await wait_for_status(pool, own["id"], {"confirmed"})

    # Asked for their appointments with A, through Retell: A's booking only.
    body = retell_body("find_appointments", {}, caller=phone)
    found = await api.post(
        f"/voice/retell/{org_a.slug}", content=body, headers=retell_headers(body, RETELL_KEY_A)
    )
    assert [a["booking_id"] for a in found.json()["appointments"]] == [str(own["id"])], found.text

    # Moved by number with A: A's booking moves.
    new_start = foreign.start + timedelta(hours=4)
    moved = await api.post(
        "/voice/vapi",
        json=vapi_message(
            vapi_call("reschedule_appointment", {"new_start": new_start.isoformat()}),
            caller=phone,
        ),
        headers=vapi_headers(org_a),
    )
    assert moved.json()["results"][0]["result"].startswith("Done: the appointment is moved")
    assert await pool.fetchval("SELECT starts_at FROM bookings WHERE id = $1", own["id"]) == (
        new_start
    )

    # Cancelled by number with A, through Retell: A's booking is cancelled.
    body = retell_body("cancel_appointment", {"reason": "changed plans"}, caller=phone)
    cancelled = await api.post(
        f"/voice/retell/{org_a.slug}", content=body, headers=retell_headers(body, RETELL_KEY_A)
    )
    assert cancelled.json()["outcome"] == "cancelled", cancelled.text
    await wait_for_status(pool, own["id"], {"cancelled"})

    # B's booking and B's contact for the same number are untouched by all of it.
    assert await trace(temporal_client, pool, sandboxes, foreign) == before
    assert (
        await pool.fetchrow(
            "SELECT id, name, phone, updated_at FROM contacts WHERE org_id = $1", foreign.org.id
        )
        == b_contact
    )
