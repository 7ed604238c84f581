"""POST /bookings and GET /availability: the REST twins of the voice tools.

One module, a few lines over 300, because the two routes are tested as one pair of REST twins with
the same `auth` helper and org; the availability cases alone would be a module under 100 lines.
"""

import gc
import logging
from datetime import time, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core.domain.org_spec import OpeningSpec
from core.infra.config import Settings
from tests.apiclient import api_client
from tests.booking_helpers import (
    dst_days,
    local_day,
    local_start,
    wait_for_status,
    weekday_name,
)
from tests.conftest import MakeOrg, running_worker
from tests.factories import TestOrg
from tests.voice_helpers import org_row_counts, vapi_call, vapi_headers, vapi_message

pytestmark = pytest.mark.integration


def auth(org: TestOrg, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {org.credentials.api_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def booking(days_ahead: int, at: time, **fields: Any) -> dict[str, Any]:
    values = {
        "name": "Sam Wilson",
        "phone": "(212) 555-0123",
        "start": local_start(days_ahead=days_ahead, at=at).isoformat(),
    }
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


async def test_post_books_and_a_retry_with_the_same_key_gets_the_same_booking(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    key = str(uuid4())
    first = await api.post("/bookings", json=booking(2, time(10)), headers=auth(org, key))
    again = await api.post("/bookings", json=booking(2, time(10)), headers=auth(org, key))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    body = first.json()
    assert body["outcome"] == "booked"
    assert body["start"] == local_start(days_ahead=2, at=time(10)).isoformat()
    assert first.headers["location"] == f"/bookings/{body['booking_id']}"
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 1
    detail = await api.get(first.headers["location"], headers=auth(org))
    assert detail.status_code == 200
    assert detail.json()["contact"]["phone"] == "+12125550123"
    await wait_for_status(pool, body["booking_id"], {"confirmed"})


async def test_taken_slot_is_409_with_alternatives(api: httpx.AsyncClient, org: TestOrg) -> None:
    first = await api.post("/bookings", json=booking(3, time(11)), headers=auth(org, "a"))
    taken = await api.post(
        "/bookings",
        json=booking(3, time(11), name="Ann Lee", phone="(212) 555-0144"),
        headers=auth(org, "b"),
    )
    assert first.status_code == 201
    assert taken.status_code == 409
    error = taken.json()["error"]
    assert error["code"] == "slot_unavailable"
    assert "already taken" in error["message"]
    assert error["alternatives"] == [
        local_start(days_ahead=3, at=at).isoformat()
        for at in (time(11, 30), time(12), time(12, 30))
    ]


async def test_idempotency_keys_are_per_org(
    api: httpx.AsyncClient, org: TestOrg, make_org: MakeOrg
) -> None:
    other = await make_org()
    mine = await api.post("/bookings", json=booking(4, time(9)), headers=auth(org, "same"))
    theirs = await api.post("/bookings", json=booking(4, time(9)), headers=auth(other, "same"))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["booking_id"] != theirs.json()["booking_id"]
    assert (
        await api.get(f"/bookings/{mine.json()['booking_id']}", headers=auth(other))
    ).status_code == 404


BAD_POSTS: list[tuple[str, dict[str, Any], dict[str, str], int, str]] = [
    ("invalid phone", booking(5, time(10), phone="12"), {}, 422, "phone"),
    ("invalid email", booking(5, time(10), phone=None, email="sam@@x"), {}, 422, "email"),
    ("garbage start", booking(5, time(10), start="whenever"), {}, 422, "date and time"),
    ("start missing", booking(5, time(10), start=None), {}, 422, "start: Field required"),
    (
        "name a number",
        booking(5, time(10), name=7),
        {},
        422,
        "name: Input should be a valid string",
    ),
    ("unknown provider", booking(5, time(10), provider="Dr. Nobody"), {}, 422, "Dr. Nobody"),
    ("outside hours", booking(5, time(22)), {}, 409, "not open"),
    ("NUL in notes", booking(5, time(10), notes="hi\x00"), {}, 422, "control characters"),
    ("end of year 9999", booking(5, time(10), start="9999-12-31T23:45"), {}, 422, "too far"),
    ("year 9999", booking(5, time(10), start="9999-12-30T10:00"), {}, 409, "too far ahead"),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "words"), BAD_POSTS, ids=[c[0] for c in BAD_POSTS]
)
async def test_bad_bookings_are_refused_and_write_nothing(
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    case: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    words: str,
    org: TestOrg,
) -> None:
    response = await api.post("/bookings", json=body, headers=auth(org, str(uuid4())))
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_transport_errors_are_clear_4xx_and_write_nothing(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    no_key = await api.post("/bookings", json=booking(5, time(10)), headers=auth(org))
    malformed = await api.post(
        "/bookings",
        content=b"{oops",
        headers={**auth(org, "k"), "Content-Type": "application/json"},
    )
    form = await api.post("/bookings", data={"name": "Sam"}, headers=auth(org, "k"))
    huge = await api.post(
        "/bookings", json=booking(5, time(10), notes="x" * 300_000), headers=auth(org, "k")
    )
    anonymous = await api.post(
        "/bookings", json=booking(5, time(10)), headers={"Idempotency-Key": "k"}
    )
    statuses = [r.status_code for r in (no_key, malformed, form, huge, anonymous)]
    assert statuses == [422, 400, 415, 413, 401]
    assert "idempotency-key" in no_key.json()["error"]["message"].lower()
    assert malformed.json()["error"]["code"] == "malformed_json"
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_availability_lists_free_times_in_the_org_zone(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    day = local_start(days_ahead=6).date()
    await api.post("/bookings", json=booking(6, time(8)), headers=auth(org, "early"))
    response = await api.get("/availability", params={"date": day.isoformat()}, headers=auth(org))
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == day.isoformat()
    assert body["time_zone"] == "America/New_York"
    assert body["free_starts"][0] == local_start(days_ahead=6, at=time(8, 30)).isoformat()
    assert len(body["free_starts"]) == 23  # 08:00-20:00 in 30-minute steps, 08:00 booked
    # No sync has run for this org's calendar: the answer says so rather than claim freshness.
    assert body["calendar_synced_at"] is None
    assert "from 8:30 AM to 7:30 PM" in body["message"]


async def test_availability_on_a_spring_forward_day(
    api: httpx.AsyncClient, make_org: MakeOrg
) -> None:
    # The next spring-forward day in New York: 02:00 becomes 03:00. Open 00:00-06:00 that day.
    day = dst_days()[0]
    org = await make_org(
        horizon_days=730,
        hours=[OpeningSpec(weekday=weekday_name(day), opens=time(0), closes=time(6))],
    )
    response = await api.get("/availability", params={"date": str(day)}, headers=auth(org))
    assert response.status_code == 200
    assert response.json()["free_starts"] == [
        f"{day}T00:00:00-05:00",
        f"{day}T00:30:00-05:00",
        f"{day}T01:00:00-05:00",
        f"{day}T01:30:00-05:00",
        f"{day}T03:00:00-04:00",
        f"{day}T03:30:00-04:00",
        f"{day}T04:00:00-04:00",
        f"{day}T04:30:00-04:00",
        f"{day}T05:00:00-04:00",
        f"{day}T05:30:00-04:00",
    ]


async def test_availability_on_a_fall_back_day(api: httpx.AsyncClient, make_org: MakeOrg) -> None:
    # The next fall-back day in New York: 02:00 EDT becomes 01:00 EST; 01:00-02:00 happens twice.
    day = dst_days()[1]
    org = await make_org(
        horizon_days=730,
        slot_step_minutes=60,
        services=[{"name": "Consultation", "duration_minutes": 60}],
        hours=[OpeningSpec(weekday=weekday_name(day), opens=time(0), closes=time(4))],
    )
    response = await api.get("/availability", params={"date": str(day)}, headers=auth(org))
    # Wall-clock grid, ambiguous 01:00 read as its first occurrence; 5 real hours of opening.
    assert response.json()["free_starts"] == [
        f"{day}T00:00:00-04:00",
        f"{day}T01:00:00-04:00",
        f"{day}T02:00:00-05:00",
        f"{day}T03:00:00-05:00",
    ]


# A day ahead for queries that must be refused for another reason than the date.
AHEAD = str(local_day(days_ahead=7))


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "date: Field required"),
        ({"date": "someday"}, "date"),
        ({"date": "2020-06-01"}, "already passed"),
        ({"date": AHEAD, "provider": "Dr. Nobody"}, "Dr. Nobody"),
        ({"date": AHEAD, "service": "Surgery"}, "Surgery"),
        ({"date": "9999-12-31"}, "too far ahead"),
        ({"date": AHEAD, "provider": "\x00"}, "control characters"),
    ],
)
async def test_bad_availability_queries_are_422(
    api: httpx.AsyncClient, org: TestOrg, params: dict[str, str], words: str
) -> None:
    response = await api.get("/availability", params=params, headers=auth(org))
    assert response.status_code == 422
    assert words in response.json()["error"]["message"]


async def test_availability_needs_the_org_key(api: httpx.AsyncClient) -> None:
    response = await api.get("/availability", params={"date": AHEAD})
    assert response.status_code == 401


async def test_no_answer_in_time_is_503_try_again_and_the_same_key_later_books(
    booking_settings: Settings,
    temporal_client: Client,
    pool: asyncpg.Pool,
    org: TestOrg,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No worker polls the queue, so BOOKING_ANSWER_TIMEOUT cuts the wait for the answer."""
    hurried = booking_settings.model_copy(update={"booking_answer_timeout": timedelta(seconds=1)})
    key = str(uuid4())
    async with api_client(hurried) as client:
        late = await client.post("/bookings", json=booking(6, time(10)), headers=auth(org, key))
        assert late.status_code == 503, late.text
        assert late.headers["Retry-After"] == "5"
        assert late.json()["error"]["code"] == "unavailable"
        spoken = await client.post(
            "/voice/vapi",
            json=vapi_message(vapi_call("book_appointment", booking(6, time(11)))),
            headers=vapi_headers(org),
        )
        assert spoken.status_code == 200
        assert "try again" in spoken.json()["results"][0]["error"]
        # The operator's log says "no answer in time" once per request and nothing more: no
        # asyncio traceback for a future of the timed-out request that nobody read.
        gc.collect()
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
        assert sum("no answer in time" in r.getMessage() for r in caplog.records) == 2
        # A worker comes back: the caller's retry with the same key gets the booking.
        async with running_worker(temporal_client, hurried, pool):
            retried = await client.post(
                "/bookings", json=booking(6, time(10)), headers=auth(org, key)
            )
    assert retried.status_code == 201, retried.text
    assert retried.json()["outcome"] == "booked"


async def test_a_change_with_no_answer_in_time_is_503(
    booking_settings: Settings,
    temporal_client: Client,
    pool: asyncpg.Pool,
    org: TestOrg,
) -> None:
    async with running_worker(temporal_client, booking_settings, pool):
        async with api_client(booking_settings) as client:
            made = await client.post(
                "/bookings", json=booking(6, time(14)), headers=auth(org, str(uuid4()))
            )
            assert made.status_code == 201, made.text
            booking_id = made.json()["booking_id"]
            await wait_for_status(pool, UUID(booking_id), {"confirmed"})
    hurried = booking_settings.model_copy(update={"booking_answer_timeout": timedelta(seconds=1)})
    async with api_client(hurried) as client:
        cancel = await client.post(
            f"/bookings/{booking_id}/cancel", json={"reason": "x"}, headers=auth(org)
        )
    assert cancel.status_code == 503, cancel.text
    assert cancel.json()["error"]["code"] == "unavailable"
