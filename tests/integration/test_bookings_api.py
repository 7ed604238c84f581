"""Bookings REST API (read side) on the real stack: filters, keyset pages, the full record of
real workflow bookings, tenant walls, authentication and 422s for bad filter values.

One module because the list, page and detail cases read bookings seeded by `_seed` on the same far-
ahead `DAY`, and the 422 cases are the bad filter values of those same GET routes.
"""

import asyncio
import base64
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core.domain.ids import booking_workflow_id
from core.domain.statuses import BookingStatus
from core.infra.config import Settings
from core.vendors.calendar import event_id_for_booking
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.booking_helpers import (
    NEW_YORK,
    BookingEnv,
    local_start,
    unique_phone,
    wait_for_status,
)
from tests.conftest import MakeOrg
from tests.factories import TestOrg, insert_booking

# A day far enough ahead that no other test's bookings share it; in New York's summer time
# (EDT, UTC-4), which the offsets below spell out.
DAY = date(datetime.now(NEW_YORK).year + 5, 6, 3)
NEXT_DAY = DAY + timedelta(days=1)


def _auth(org: TestOrg) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.credentials.api_key}"}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


async def _seed(
    pool: asyncpg.Pool,
    org: TestOrg,
    start: datetime,
    *,
    status: str = BookingStatus.CONFIRMED,
    phone: str = "+12125550123",
) -> UUID:
    """A 30-minute booking for Sam Wilson, confirmed unless told otherwise."""
    return await insert_booking(pool, org, start, phone=phone, status=status)


async def _ids(client: httpx.AsyncClient, org: TestOrg, **params: Any) -> list[str]:
    response = await client.get("/bookings", params=params, headers=_auth(org))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_no_or_wrong_api_key_is_401(
    settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    booking_id = await _seed(pool, org, _at(DAY, 9))
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer bk_api_not-a-real-key"},
        {"Authorization": f"Basic {org.credentials.api_key}"},
        {"Authorization": f"Bearer {org.credentials.voice_secret}"},
    ]
    async with api_client(settings) as client:
        for headers in bad_headers:
            for path in ("/bookings", f"/bookings/{booking_id}"):
                response = await client.get(path, headers=headers)
                assert response.status_code == 401, (path, headers)
                assert response.json()["error"]["code"] == "unauthorized"
                assert "Sam Wilson" not in response.text


async def test_list_filters_by_status_repeated_or_comma_separated(
    settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    held = await _seed(pool, org, _at(DAY, 9), status="held")
    confirmed = await _seed(pool, org, _at(DAY, 10))
    cancelled = await _seed(pool, org, _at(DAY, 11), status="cancelled")
    failed = await _seed(pool, org, _at(DAY, 12), status="failed")
    async with api_client(settings) as client:
        assert await _ids(client, org) == [str(b) for b in (held, confirmed, cancelled, failed)]
        assert await _ids(client, org, status="held") == [str(held)]
        assert await _ids(client, org, status=["confirmed", "failed"]) == [
            str(confirmed),
            str(failed),
        ]
        assert await _ids(client, org, status="Cancelled, held") == [str(held), str(cancelled)]
        page = await client.get("/bookings", params={"status": "failed"}, headers=_auth(org))
        [item] = page.json()["items"]
        assert (item["status"], item["status_reason"]) == ("failed", "test")


async def test_list_filters_by_time_window_read_in_the_org_zone(
    settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    # 21:00 the evening before is already DAY in UTC; 23:30 on DAY is the next day in UTC.
    evening_before = await _seed(pool, org, _at(DAY - timedelta(days=1), 21))
    morning = await _seed(pool, org, _at(DAY, 9))
    late = await _seed(pool, org, _at(DAY, 23, 30))
    next_day = await _seed(pool, org, _at(DAY + timedelta(days=1), 9))
    day = DAY.isoformat()
    async with api_client(settings) as client:
        assert await _ids(client, org, **{"from": day, "to": day}) == [str(morning), str(late)]
        assert await _ids(client, org, **{"from": day}) == [str(morning), str(late), str(next_day)]
        assert await _ids(client, org, to=day) == [str(evening_before), str(morning), str(late)]
        # `from` is inclusive, `to` exclusive; an offset-less time is wall time in the org's zone.
        window = {"from": f"{day}T09:00:00-04:00", "to": f"{day}T23:30"}
        assert await _ids(client, org, **window) == [str(morning)]
        assert await _ids(client, org, **{"from": f"{DAY + timedelta(days=1)}T03:30:00Z"}) == [
            str(late),
            str(next_day),
        ]
        # An unencoded "+" arrives as a space; it is still read as the offset it was meant to be.
        response = await client.get(f"/bookings?to={day}T15:30:00+02:00", headers=_auth(org))
        assert [i["id"] for i in response.json()["items"]] == [str(evening_before), str(morning)]
        [item] = (
            await client.get(
                "/bookings", params={"from": day, "to": day, "limit": 1}, headers=_auth(org)
            )
        ).json()["items"]
    assert item["starts_at"] == f"{DAY}T13:00:00Z"
    assert item["starts_at_local"] == f"{DAY}T09:00:00-04:00"
    assert item["ends_at_local"] == f"{DAY}T09:30:00-04:00"
    assert item["time_zone"] == "America/New_York"


async def test_list_filters_by_phone_in_any_format_of_the_org_region(
    settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    sams = [await _seed(pool, org, _at(DAY, hour)) for hour in (9, 11)]
    await _seed(pool, org, _at(DAY, 10), phone="+12125550188")
    async with api_client(settings) as client:
        for spelled in ("(212) 555-0123", "212.555.0123", "+1 212 555 0123", "+12125550123"):
            assert await _ids(client, org, phone=spelled) == [str(b) for b in sams], spelled
        assert await _ids(client, org, phone="(212) 555-0199") == []
        page = await client.get("/bookings", params={"phone": "2125550188"}, headers=_auth(org))
    [other] = page.json()["items"]
    assert other["contact"] == {"name": "Sam Wilson", "phone": "+12125550188", "email": None}


async def test_pages_cover_every_booking_exactly_once_in_start_order(
    settings: Settings, pool: asyncpg.Pool, org: TestOrg
) -> None:
    # Three bookings share one start (two failed ones released the slot), so the id breaks ties.
    shared = _at(DAY, 10)
    for status in ("failed", "failed", "confirmed"):
        await _seed(pool, org, shared, status=status)
    for hour in (8, 9, 11, 12):
        await _seed(pool, org, _at(DAY, hour))
    async with api_client(settings) as client:
        everything = await _ids(client, org, limit=200)
        assert len(everything) == 7
        seen: list[str] = []
        cursors: list[str | None] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            response = await client.get("/bookings", params=params, headers=_auth(org))
            assert response.status_code == 200, response.text
            page = response.json()
            assert 1 <= len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            cursors.append(page["next_cursor"])
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        # A page that ends exactly at the last booking says so: no empty page to fetch.
        exact = (await client.get("/bookings", params={"limit": 7}, headers=_auth(org))).json()
        # Filters combine with the cursor: the confirmed ones, three per page.
        all_confirmed = await _ids(client, org, status="confirmed", limit=200)
        confirmed_pages = []
        params = {"limit": 3, "status": "confirmed"}
        for _ in range(2):
            body = (await client.get("/bookings", params=params, headers=_auth(org))).json()
            confirmed_pages.append([item["id"] for item in body["items"]])
            params["cursor"] = body["next_cursor"]
    assert seen == everything
    assert len(cursors) == 4 and cursors[-1] is None
    assert exact["next_cursor"] is None and len(exact["items"]) == 7
    assert [len(p) for p in confirmed_pages] == [3, 2]
    assert confirmed_pages[0] + confirmed_pages[1] == all_confirmed
    assert body["next_cursor"] is None


async def test_detail_of_a_real_workflow_booking_shows_sms_trail_and_workflow_link(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    phone = unique_phone()
    start = local_start(days_ahead=3, at=time(14))
    answer = await booking_env.book(
        start=start,
        phone=phone,
        email="Sam@Example.com",
        notes="first visit",
    )
    assert answer.outcome == "booked" and answer.booking_id is not None, answer
    await wait_for_status(pool, answer.booking_id, {"confirmed"})
    api_settings = booking_env.settings.model_copy(
        update={"temporal_ui_url": "http://ui.test:8080/"}
    )
    async with api_client(api_settings) as client:
        response = await client.get(f"/bookings/{answer.booking_id}", headers=_auth(org))
        listed = await _ids(client, org, phone=phone)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert listed == [str(answer.booking_id)]
    assert detail["id"] == str(answer.booking_id)
    assert (detail["status"], detail["status_reason"]) == ("confirmed", None)
    assert detail["contact"] == {"name": "Sam Wilson", "phone": phone, "email": "sam@example.com"}
    assert detail["provider"] == {"id": str(org.provider_id), "name": "Dr. Test"}
    assert detail["service"] == {"id": str(org.service_id), "name": "Consultation"}
    assert detail["notes"] == "first visit"
    assert datetime.fromisoformat(detail["starts_at"]) == start
    assert detail["starts_at"].endswith("Z")
    assert detail["starts_at_local"] == start.isoformat()
    assert datetime.fromisoformat(detail["ends_at"]) == start + timedelta(minutes=30)
    assert detail["calendar_event_id"] == event_id_for_booking(answer.booking_id)
    [sms] = detail["sms_messages"]
    assert (sms["kind"], sms["to"], sms["error_code"]) == ("confirmation", phone, None)
    assert sms["twilio_sid"] and sms["status"] in {"queued", "sending", "sent", "delivered"}
    trail = [(e["from_status"], e["to_status"]) for e in detail["events"]]
    assert trail == [(None, "held"), ("held", "confirmed")]
    assert all(datetime.fromisoformat(e["starts_at"]) == start for e in detail["events"])
    workflow_id = booking_workflow_id(answer.booking_id)
    assert detail["workflow"] == {
        "id": workflow_id,
        "temporal_ui_url": f"http://ui.test:8080/namespaces/default/workflows/{workflow_id}",
    }
    # The link names a workflow that really exists in Temporal.
    description = await temporal_client.get_workflow_handle(workflow_id).describe()
    assert description.id == workflow_id


async def test_detail_of_a_compensated_booking_shows_reason_apology_and_failed_trail(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", path_contains=org.calendar_id, method="POST", count=1
    )
    phone = unique_phone()
    answer = await booking_env.book(start=local_start(days_ahead=3), phone=phone)
    assert answer.booking_id is not None, answer
    await wait_for_status(pool, answer.booking_id, {"failed"})
    async with api_client(booking_env.settings) as client:
        # The apology is sent after the status changes; wait for it to be recorded.
        for _ in range(100):
            response = await client.get(f"/bookings/{answer.booking_id}", headers=_auth(org))
            detail = response.json()
            if detail["sms_messages"]:
                break
            await asyncio.sleep(0.1)
        failed = await _ids(client, org, status="failed")
    assert failed == [str(answer.booking_id)]
    assert detail["status"] == "failed" and "forbidden" in detail["status_reason"].lower()
    assert detail["calendar_event_id"] is None
    # No confirmation text went out: the event never existed, so only the apology did.
    assert [m["kind"] for m in detail["sms_messages"]] == ["apology"]
    assert {m["to"] for m in detail["sms_messages"]} == {phone}
    [*_, last] = detail["events"]
    assert (last["from_status"], last["to_status"]) == ("held", "failed")
    assert last["reason"] == detail["status_reason"]


async def test_another_orgs_booking_is_not_found_and_never_listed(
    settings: Settings, pool: asyncpg.Pool, make_org: MakeOrg
) -> None:
    org_a = await make_org()
    org_b = await make_org()
    booking_a = await _seed(pool, org_a, _at(DAY, 9))
    async with api_client(settings) as client:
        assert (await client.get(f"/bookings/{booking_a}", headers=_auth(org_a))).status_code == 200
        theirs = await client.get(f"/bookings/{booking_a}", headers=_auth(org_b))
        missing = await client.get(f"/bookings/{uuid4()}", headers=_auth(org_b))
        listed_by_b = await client.get(
            "/bookings", params={"phone": "+12125550123"}, headers=_auth(org_b)
        )
        everything_of_b = await _ids(client, org_b, limit=200)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert theirs.json()["error"]["code"] == "not_found"
    assert str(booking_a) not in theirs.text and "Sam Wilson" not in theirs.text
    assert listed_by_b.json() == {"items": [], "next_cursor": None}
    assert everything_of_b == []


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "booked"}, "status"),
        ({"status": "held,nope"}, "status"),
        ({"status": ["held", "CONFIRMED", "pending"]}, "status"),
        ({"from": "tomorrow"}, "from"),
        ({"from": f"{DAY}T25:00"}, "from"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "from"),
        ({"from": str(DAY) * 10}, "from"),
        ({"to": f"{DAY.year}-02-30"}, "to"),
        ({"to": "9999-12-31"}, "to"),
        ({"from": str(NEXT_DAY), "to": str(DAY)}, "to"),
        ({"from": f"{DAY}T10:00Z", "to": f"{DAY}T10:00Z"}, "to"),
        ({"phone": "555-CALL-NOW"}, "phone"),
        ({"phone": "12"}, "phone"),
        ({"phone": "+1 212 555 0123 ext 4"}, "phone"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "fifty"}, "limit"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"cursor": "x" * 500}, "cursor"),
        ({"cursor": _cursor({"starts_at": f"{DAY}T10:00:00+00:00"})}, "cursor"),
        ({"cursor": _cursor([f"{DAY}T10:00:00", str(uuid4())])}, "cursor"),
        ({"cursor": _cursor([f"{DAY}T10:00:00+00:00", "not-a-uuid"])}, "cursor"),
        ({"cursor": _cursor([1, 2])}, "cursor"),
        ({"cursor": _cursor(["0001-01-01T00:00:00+05:00", str(uuid4())])}, "cursor"),
    ],
)
async def test_bad_filter_values_are_422_naming_the_parameter(
    settings: Settings, params: dict[str, Any], field: str, org: TestOrg
) -> None:
    async with api_client(settings) as client:
        response = await client.get("/bookings", params=params, headers=_auth(org))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", field)


async def test_malformed_booking_id_is_422_and_unknown_one_404(
    settings: Settings, org: TestOrg
) -> None:
    async with api_client(settings) as client:
        malformed = await client.get("/bookings/not-a-uuid", headers=_auth(org))
        unknown = await client.get(f"/bookings/{uuid4()}", headers=_auth(org))
    assert malformed.status_code == 422
    assert malformed.json()["error"]["field"] == "booking_id"
    assert unknown.status_code == 404
    assert unknown.json() == {"error": {"code": "not_found", "message": "there is no such booking"}}


async def test_openapi_documents_the_booking_models(settings: Settings) -> None:
    async with api_client(settings) as client:
        spec = (await client.get("/openapi.json")).json()
    assert {"BookingPage", "BookingSummary", "BookingDetail", "SmsMessage", "StatusEvent"} <= set(
        spec["components"]["schemas"]
    )
    list_params = {p["name"] for p in spec["paths"]["/bookings"]["get"]["parameters"]}
    assert {"status", "from", "to", "phone", "cursor", "limit"} <= list_params
    assert "get" in spec["paths"]["/bookings/{booking_id}"]
