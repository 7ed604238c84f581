"""POST /voice/vapi end to end: real app, real worker, real Temporal, Postgres and sandboxes.

One module because every case posts to the one route through the same `post` helper, and much of its
length is four tables of bodies (SHAPES, BAD_TOOL_CALLS, RAW_BAD_CALLS, HOSTILE_BODIES) run against
the same app and org.
"""

import json
from datetime import time, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from vapi.core.pydantic_utilities import parse_obj_as
from vapi.types import ToolCallResult

from tests.booking_helpers import (
    local_day,
    local_start,
    unique_phone,
    wait_for_phase2,
)
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from tests.voice_helpers import org_row_counts, vapi_call, vapi_headers, vapi_message

pytestmark = pytest.mark.integration


async def post(client: httpx.AsyncClient, org: TestOrg, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/voice/vapi", json=body, headers=vapi_headers(org))
    assert response.status_code == 200, response.text
    return response.json()


def tomorrow() -> str:
    return local_start(days_ahead=1).date().isoformat()


SHAPES = {
    "sdk: nested function, arguments as a JSON string": lambda args: {
        "id": "call_1",
        "type": "function",
        "function": {"name": "check_availability", "arguments": json.dumps(args)},
    },
    "nested function, arguments as an object": lambda args: {
        "id": "call_1",
        "type": "function",
        "function": {"name": "check_availability", "arguments": args},
    },
    "flat name and arguments": lambda args: {
        "id": "call_1",
        "name": "check_availability",
        "arguments": args,
    },
    "flat name and parameters": lambda args: {
        "id": "call_1",
        "name": "check_availability",
        "parameters": args,
    },
}


@pytest.mark.parametrize("shape", SHAPES)
async def test_every_documented_tool_call_shape_is_answered(
    api: httpx.AsyncClient, org: TestOrg, shape: str
) -> None:
    call = SHAPES[shape]({"date": tomorrow()})
    answer = await post(api, org, vapi_message(call))
    assert answer["results"][0]["toolCallId"] == "call_1"
    text = answer["results"][0]["result"]
    assert text.startswith("Today is ")
    assert "Dr. Test is free every 30 minutes from 8:00 AM to 7:30 PM" in text
    assert "\n" not in text


async def test_calls_only_in_tool_with_tool_call_list_are_answered(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    message = vapi_message()
    del message["message"]["toolCallList"]
    message["message"]["toolWithToolCallList"] = [
        {
            "type": "function",
            "function": {"name": "check_availability", "parameters": {"type": "object"}},
            "toolCall": vapi_call("check_availability", {"date": tomorrow()}, "call_w"),
        }
    ]
    answer = await post(api, org, message)
    assert answer["results"][0]["toolCallId"] == "call_w"
    assert "is free" in answer["results"][0]["result"]


async def test_several_calls_in_one_message_are_answered_in_order(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    start = local_start(days_ahead=2, at=time(11))
    message = vapi_message(
        vapi_call("check_availability", {"date": start.date().isoformat()}, "c1"),
        vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()}, "c2"),
        vapi_call("transfer_to_human", {}, "c3"),
        vapi_call(
            "book_appointment",
            {"name": "Ann Lee", "phone": "+12125550188", "start": start.isoformat()},
            "c4",
        ),
    )
    answer = await post(api, org, message)
    results = answer["results"]
    assert [r["toolCallId"] for r in results] == ["c1", "c2", "c3", "c4"]
    # Vapi's ToolCallResult requires `name` beside `toolCallId`, error results included.
    parsed = [parse_obj_as(ToolCallResult, r) for r in results]
    assert [r.name for r in parsed] == [
        "check_availability",
        "book_appointment",
        "transfer_to_human",
        "book_appointment",
    ]
    assert "is free" in results[0]["result"]
    assert results[1]["result"].startswith("Booked: Consultation with Dr. Test on ")
    assert "There is no tool called transfer_to_human" in results[2]["error"]
    # The same slot again: an answer with alternatives, not an error.
    assert "already taken" in results[3]["result"]
    booking_id = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
    await wait_for_phase2(pool, booking_id)
    # One booking, one contact (Ann Lee's refused request wrote nothing), one confirmation SMS.
    assert await org_row_counts(pool, org) == {"bookings": 1, "contacts": 1, "sms_messages": 1}


async def test_same_tool_call_id_twice_books_once_and_answers_the_same(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    start = local_start(days_ahead=3, at=time(9, 30))
    call = vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()})
    first = await post(api, org, vapi_message(call))
    second = await post(api, org, vapi_message(call))
    assert first == second
    assert first["results"][0]["result"].startswith("Booked:")
    rows = await pool.fetch("SELECT id FROM bookings WHERE org_id = $1", org.id)
    assert len(rows) == 1
    await wait_for_phase2(pool, rows[0]["id"])
    sms = await pool.fetchval("SELECT count(*) FROM sms_messages WHERE org_id = $1", org.id)
    assert sms == 1


async def test_phone_defaults_to_the_callers_number(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    caller = unique_phone()
    start = local_start(days_ahead=4, at=time(15))
    call = vapi_call("book_appointment", {"name": "sam wilson", "start": start.isoformat()})
    answer = await post(api, org, vapi_message(call, caller=caller))
    assert answer["results"][0]["result"].startswith("Booked:")
    contact = await pool.fetchrow("SELECT phone, name FROM contacts WHERE org_id = $1", org.id)
    assert dict(contact) == {"phone": caller, "name": "Sam Wilson"}


async def test_a_day_with_nothing_free_names_the_next_open_day(
    api: httpx.AsyncClient, make_org: MakeOrg
) -> None:
    # Open on Mondays only: asking for the day after a Monday points to the next Monday.
    from core.domain.org_spec import OpeningSpec

    org = await make_org(hours=[OpeningSpec(weekday="mon", opens=time(9), closes=time(11))])
    day = local_start(days_ahead=1).date()
    while day.weekday() != 1:  # a Tuesday
        day += timedelta(days=1)
    call = vapi_call("check_availability", {"date": day.isoformat()})
    text = (await post(api, org, vapi_message(call)))["results"][0]["result"]
    next_monday = day + timedelta(days=6)
    assert "has nothing free on Tuesday" in text
    assert f"The next open day is Monday, {next_monday.strftime('%B')} {next_monday.day}" in text
    assert "every 30 minutes from 9:00 AM to 10:30 AM" in text


async def test_reschedule_and_cancel_without_a_booking_say_so(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    message = vapi_message(
        vapi_call("reschedule_appointment", {"new_start": f"{local_day(3)}T10:00"}, "r"),
        vapi_call("cancel_appointment", {"booking_id": "not-a-uuid"}, "c"),
        vapi_call("cancel_appointment", {"booking_id": str(uuid4())}, "d"),
    )
    results = (await post(api, org, message))["results"]
    assert "couldn't find an upcoming appointment" in results[0]["error"]
    assert "booking id isn't valid" in results[1]["error"]
    assert "couldn't find that booking" in results[2]["error"]


@pytest.mark.parametrize("kind", ["status-update", "end-of-call-report", "conversation-update"])
async def test_informational_messages_get_an_empty_200(
    api: httpx.AsyncClient, org: TestOrg, kind: str
) -> None:
    assert await post(api, org, {"message": {"type": kind, "status": "ended"}}) == {}


async def test_wrong_or_missing_secret_is_401(api: httpx.AsyncClient, org: TestOrg) -> None:
    body = vapi_message(vapi_call("check_availability", {"date": tomorrow()}))
    missing = await api.post("/voice/vapi", json=body)
    wrong = await api.post("/voice/vapi", json=body, headers={"X-Vapi-Secret": "bk_voice_x"})
    api_key = await api.post(
        "/voice/vapi",
        json=body,
        headers={"Authorization": f"Bearer {org.credentials.api_key}"},
    )
    assert [r.status_code for r in (missing, wrong, api_key)] == [401, 401, 401]
    legacy = await api.post(
        "/voice/vapi", json=body, headers={"X-Vapi-Secret": org.credentials.voice_secret}
    )
    assert legacy.status_code == 200
    assert "is free" in legacy.json()["results"][0]["result"]


def _book(**arguments: Any) -> dict[str, Any]:
    values = {"name": "Sam Wilson", "start": local_start(days_ahead=6).isoformat()}
    values.update(arguments)
    return {k: v for k, v in values.items() if v is not None}


BAD_TOOL_CALLS = [
    ("start missing", _book(start=None), "book_appointment: start is missing."),
    ("name missing", _book(name=None), "book_appointment: name is missing."),
    ("name is a number", _book(name=42), "book_appointment: name must be text."),
    ("start is a list", _book(start=["tomorrow"]), "book_appointment: start must be text."),
    ("garbage time", _book(start="next blursday"), "I couldn't understand that date and time"),
    ("date without time", _book(start=str(local_day(6))), "I need a time as well as the date."),
    ("invalid phone", _book(phone="12"), "phone number"),
    ("invalid email", _book(email="sam@", phone=None), "email"),
    ("unknown service", _book(service="Surgery"), "there is no service called Surgery"),
    ("unknown provider", _book(provider="Dr. Who"), "there is no provider called Dr. Who"),
    ("date missing", None, "check_availability: date is missing."),
    ("garbage date", {"date": "someday"}, "date"),
]


@pytest.mark.parametrize(
    ("case", "arguments", "expected"), BAD_TOOL_CALLS, ids=[c[0] for c in BAD_TOOL_CALLS]
)
async def test_bad_arguments_get_a_spoken_error_and_write_nothing(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    case: str,
    arguments: dict[str, Any] | None,
    expected: str,
    org: TestOrg,
) -> None:
    name = "check_availability" if arguments is None or "date" in arguments else "book_appointment"
    caller = None if case == "invalid email" else "+12125550123"
    answer = await post(
        api, org, vapi_message(vapi_call(name, arguments or {}, "bad"), caller=caller)
    )
    result = answer["results"][0]
    assert result["toolCallId"] == "bad"
    assert "result" not in result
    assert expected.lower() in result["error"].lower()
    assert "\n" not in result["error"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


RAW_BAD_CALLS = [
    (
        "arguments not JSON",
        {"id": "x", "function": {"name": "book_appointment", "arguments": "{nope"}},
        "not valid JSON",
    ),
    (
        "arguments a list",
        {"id": "x", "function": {"name": "book_appointment", "arguments": "[1]"}},
        "must be a JSON object",
    ),
    ("no function name", {"id": "x", "function": {"arguments": "{}"}}, "no function name"),
    ("no id", {"function": {"name": "check_availability", "arguments": "{}"}}, "has no id"),
]


@pytest.mark.parametrize(
    ("case", "call", "expected"), RAW_BAD_CALLS, ids=[c[0] for c in RAW_BAD_CALLS]
)
async def test_unreadable_tool_calls_get_an_error_result(
    api: httpx.AsyncClient,
    org: TestOrg,
    pool: asyncpg.Pool,
    case: str,
    call: dict[str, Any],
    expected: str,
) -> None:
    answer = await post(api, org, vapi_message(call))
    assert expected in answer["results"][0]["error"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_transport_problems_are_200_with_an_error(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    headers = vapi_headers(org)
    malformed = await api.post(
        "/voice/vapi", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    plain = await api.post(
        "/voice/vapi", content=b"hello", headers={**headers, "Content-Type": "text/plain"}
    )
    no_message = await api.post("/voice/vapi", json={"hello": 1}, headers=headers)
    huge = vapi_message(vapi_call("book_appointment", {"name": "x" * 300_000, "start": "t"}))
    oversized = await api.post("/voice/vapi", json=huge, headers=headers)
    for response, words in [
        (malformed, "not valid JSON"),
        (plain, "application/json"),
        (no_message, "no `message`"),
        (oversized, "256 KiB"),
    ]:
        assert response.status_code == 200
        assert words in response.json()["error"]
        assert response.json()["results"] == []
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_booked_answer_names_the_local_time_of_the_stored_booking(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    start = local_start(days_ahead=7, at=time(16, 30))
    call = vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()})
    result = (await post(api, org, vapi_message(call)))["results"][0]["result"]
    stored = await pool.fetchval("SELECT starts_at FROM bookings WHERE org_id = $1", org.id)
    assert stored == start
    assert result.endswith(" at 4:30 PM.")


HOSTILE_BODIES = [
    ("NUL in an argument", vapi_call("book_appointment", {"name": "Sam\u0000", "start": "x"})),
    (
        "NUL in the provider",
        vapi_call("check_availability", {"date": str(local_day(6)), "provider": "\u0000"}),
    ),
    ("lone surrogate as the id", {"id": "\ud800", "name": "book_appointment", "arguments": {}}),
    ("lone surrogate as the name", {"id": "s1", "name": "\ud800", "arguments": {}}),
    (
        "deeply nested arguments",
        {"id": "d1", "name": "book_appointment", "arguments": "[" * 50_000},
    ),
    ("year 9999", vapi_call("book_appointment", {"name": "Sam", "start": "9999-12-31T23:45"})),
    ("day in year 9999", vapi_call("check_availability", {"date": "9999-12-31"})),
    ("1000-character id", {"id": "x" * 1000, "name": "book_appointment", "arguments": {}}),
]


@pytest.mark.parametrize(("case", "call"), HOSTILE_BODIES, ids=[c[0] for c in HOSTILE_BODIES])
async def test_hostile_tool_calls_get_a_200_answer_and_write_nothing(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool, case: str, call: dict[str, Any]
) -> None:
    body = json.dumps({"message": {"type": "tool-calls", "toolCallList": [call]}})
    response = await api.post(
        "/voice/vapi",
        content=body.encode("utf-8", "surrogatepass"),
        headers={**vapi_headers(org), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    text = result.get("error") or result["result"]
    assert "\n" not in text
    assert "went wrong" not in text and "technical problem" not in text, text
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_deeply_nested_body_and_long_caller_number_are_answered(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    deep = await api.post(
        "/voice/vapi",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={**vapi_headers(org), "Content-Type": "application/json"},
    )
    assert deep.status_code == 200
    assert "not valid JSON" in deep.json()["error"]
    start = local_start(days_ahead=8, at=time(9))
    call = vapi_call("book_appointment", {"name": "Sam", "start": start.isoformat()})
    long_caller = await post(api, org, vapi_message(call, caller="+1" * 150))
    # The caller number is only a default: without a usable one the agent is asked for one.
    assert "phone number or an email" in long_caller["results"][0]["error"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_secret_in_x_vapi_secret_works_beside_another_authorization_header(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    body = vapi_message(vapi_call("check_availability", {"date": tomorrow()}))
    response = await api.post(
        "/voice/vapi",
        json=body,
        headers={
            "Authorization": "Bearer something-else",
            "X-Vapi-Secret": org.credentials.voice_secret,
        },
    )
    assert response.status_code == 200
    assert "is free" in response.json()["results"][0]["result"]
