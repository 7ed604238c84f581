"""POST /voice/retell end to end: signatures over the raw body, the same tools as Vapi."""

import json
import time as clock
from collections.abc import Callable, Mapping
from datetime import time

import asyncpg
import httpx
import pytest

from tests.booking_helpers import local_day, local_start, unique_phone
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from tests.voice_helpers import org_row_counts, retell_body, retell_headers

pytestmark = pytest.mark.integration

RETELL_KEY = "key_retell_test_0123456789"


@pytest.fixture
async def org(make_org: MakeOrg) -> TestOrg:
    return await make_org(retell_api_key=RETELL_KEY)


def booking_args(days_ahead: int, at: time) -> dict[str, str]:
    return {"name": "Sam Wilson", "start": local_start(days_ahead=days_ahead, at=at).isoformat()}


async def test_signed_call_books_and_answers_with_result_and_facts(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    caller = unique_phone()
    body = retell_body("book_appointment", booking_args(2, time(10)), caller=caller)
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["result"].startswith("Booked: Consultation with Dr. Test on ")
    assert answer["outcome"] == "booked"
    assert answer["start"] == local_start(days_ahead=2, at=time(10)).isoformat()
    assert "error" not in answer
    row = await pool.fetchrow(
        "SELECT b.id, c.phone FROM bookings b JOIN contacts c ON c.id = b.contact_id "
        "WHERE b.org_id = $1",
        org.id,
    )
    assert str(row["id"]) == answer["booking_id"]
    assert row["phone"] == caller


async def test_org_may_be_named_in_a_query_parameter(api: httpx.AsyncClient, org: TestOrg) -> None:
    body = retell_body("check_availability", {"date": local_start(days_ahead=1).date().isoformat()})
    response = await api.post(
        f"/voice/retell?org={org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
    )
    assert response.status_code == 200
    assert "is free every 30 minutes" in response.json()["result"]
    day = local_start(days_ahead=1).date().isoformat()
    assert response.json()["free_starts"][0].startswith(f"{day}T08:00:00-0")


async def test_a_retried_request_books_once_with_the_same_answer(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    body = retell_body("book_appointment", booking_args(3, time(11)), call_id="retell-retry-1")
    answers = []
    for _ in range(3):  # Retell retries a failed request up to twice with the same body
        response = await api.post(
            f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
        )
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["outcome"] == "booked"
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 1


async def test_one_call_may_book_twice_with_different_arguments(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    for at in (time(13), time(14)):
        body = retell_body("book_appointment", booking_args(4, at), call_id="retell-two-bookings")
        response = await api.post(
            f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
        )
        assert response.json()["outcome"] == "booked"
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 2


async def test_args_at_root_with_the_function_named_in_the_url(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    body = json.dumps({"date": local_start(days_ahead=1).date().isoformat()}).encode()
    response = await api.post(
        f"/voice/retell/{org.slug}?tool=check_availability",
        content=body,
        headers=retell_headers(body, RETELL_KEY),
    )
    assert response.status_code == 200
    assert "is free" in response.json()["result"]


async def test_outbound_call_books_for_the_number_dialled(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    customer = unique_phone()
    payload = {
        "name": "book_appointment",
        "call": {
            "call_id": "retell-outbound",
            "from_number": "+12125550100",
            "to_number": customer,
            "direction": "outbound",
        },
        "args": booking_args(5, time(9)),
    }
    body = json.dumps(payload).encode()
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
    )
    assert response.json()["outcome"] == "booked"
    phone = await pool.fetchval("SELECT phone FROM contacts WHERE org_id = $1", org.id)
    assert phone == customer


def _now_ms() -> int:
    return clock.time_ns() // 1_000_000


BAD_SIGNATURES: dict[str, Callable[[bytes], Mapping[str, str] | Mapping[bytes, bytes]]] = {
    "missing": lambda body: {"Content-Type": "application/json"},
    "tampered body": lambda body: retell_headers(body.replace(b"Sam", b"Eve"), RETELL_KEY),
    "expired (6 minutes old)": lambda body: retell_headers(
        body, RETELL_KEY, at_ms=_now_ms() - 6 * 60 * 1000
    ),
    "from the future (6 minutes ahead)": lambda body: retell_headers(
        body, RETELL_KEY, at_ms=_now_ms() + 6 * 60 * 1000
    ),
    "wrong key": lambda body: retell_headers(body, "key_someone_else"),
    "garbage header": lambda body: {"X-Retell-Signature": "nonsense"},
    "timestamp not a number": lambda body: {"X-Retell-Signature": "v=abc,d=00"},
    "superscript digit timestamp": lambda body: {
        b"X-Retell-Signature": "v=\u00b2,d=ab".encode("latin-1")
    },
    "5000-digit timestamp": lambda body: {"X-Retell-Signature": "v=" + "9" * 5000 + ",d=ab"},
}


@pytest.mark.parametrize("case", BAD_SIGNATURES)
async def test_bad_signatures_are_401_and_write_nothing(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool, case: str
) -> None:
    body = retell_body("book_appointment", booking_args(6, time(10)))
    headers = BAD_SIGNATURES[case](body)
    # The tampered case signs other bytes; every other case sends the body it signed (or not).
    response = await api.post(f"/voice/retell/{org.slug}", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_signature_within_the_window_is_accepted(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    body = retell_body("check_availability", {"date": local_start(days_ahead=1).date().isoformat()})
    headers = retell_headers(body, RETELL_KEY, at_ms=_now_ms() - 4 * 60 * 1000)
    response = await api.post(f"/voice/retell/{org.slug}", content=body, headers=headers)
    assert response.status_code == 200


async def test_unknown_org_or_org_without_retell_key_is_401(
    api: httpx.AsyncClient, make_org: MakeOrg
) -> None:
    without_key = await make_org()
    body = retell_body("check_availability", {"date": str(local_day(6))})
    headers = retell_headers(body, RETELL_KEY)
    for path in (
        "/voice/retell/no-such-org",
        f"/voice/retell/{without_key.slug}",
        "/voice/retell",
        "/voice/retell/a%00b",
        "/voice/retell?org=a%00b",
    ):
        response = await api.post(path, content=body, headers=headers)
        assert response.status_code == 401, path


async def test_bad_arguments_are_200_with_a_spoken_error(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    cases = [
        (retell_body("book_appointment", {"name": "Sam"}), "start is missing"),
        (retell_body("book_appointment", {"name": "Sam", "start": "soonish"}), "understand"),
        (retell_body("fly_to_the_moon", {}), "There is no tool called fly_to_the_moon"),
        (b"{broken", "not valid JSON"),
        (json.dumps({"name": "book_appointment", "args": [1]}).encode(), "args must be"),
    ]
    for body, expected in cases:
        response = await api.post(
            f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
        )
        assert response.status_code == 200
        assert expected in response.json()["result"], body
        assert response.json()["error"] == response.json()["result"]
    assert await org_row_counts(pool, org) == {"bookings": 0, "contacts": 0, "sms_messages": 0}


async def test_booking_without_a_call_id_is_refused(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    body = json.dumps({"name": "book_appointment", "args": booking_args(7, time(10))}).encode()
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
    )
    assert "call's id" in response.json()["error"]
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 0
