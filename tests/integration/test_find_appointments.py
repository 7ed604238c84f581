"""find_appointments through Vapi and Retell, and GET /bookings/upcoming, on the real app.

Bookings are seeded by phase 1's own statement (`insert_booking`): the tool reads Postgres only,
so no workflow needs to run behind them. Each test seeds the caller's two upcoming bookings
beside what must not be listed: a cancelled, a failed and a past one of the same number, and
another number's booking.
"""

from dataclasses import dataclass
from datetime import time
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from core.domain.statuses import BookingStatus
from tests.booking_helpers import local_start, unique_phone
from tests.conftest import MakeOrg
from tests.factories import TestOrg, insert_booking
from tests.voice_helpers import (
    retell_body,
    retell_headers,
    vapi_call,
    vapi_headers,
    vapi_message,
)

pytestmark = pytest.mark.integration

RETELL_KEY = "key_retell_find_0123456789"
NOTHING = "I couldn't find any upcoming appointments for this number."


@dataclass(frozen=True)
class Seeded:
    phone: str
    held: UUID  # two days ahead at 9:00
    confirmed: UUID  # three days ahead at 14:30


@pytest.fixture
async def org(make_org: MakeOrg) -> TestOrg:
    return await make_org(retell_api_key=RETELL_KEY)


@pytest.fixture
async def seeded(pool: asyncpg.Pool, org: TestOrg) -> Seeded:
    phone = unique_phone()
    # Seeded out of start order, so the answer's order is the query's, not the insertion's.
    confirmed = await insert_booking(
        pool, org, local_start(3, time(14, 30)), phone=phone, status=BookingStatus.CONFIRMED
    )
    held = await insert_booking(pool, org, local_start(2, time(9)), phone=phone)
    for status in (BookingStatus.CANCELLED, BookingStatus.FAILED):
        await insert_booking(pool, org, local_start(1, time(11)), phone=phone, status=status)
    await insert_booking(pool, org, local_start(1, time(12)), phone=unique_phone())
    # Yesterday's, still confirmed (the workflow completes it only after its end).
    await insert_booking(
        pool, org, local_start(-1, time(10)), phone=phone, status=BookingStatus.CONFIRMED
    )
    return Seeded(phone, held, confirmed)


def spoken_day(days_ahead: int) -> str:
    day = local_start(days_ahead).date()
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def expected_sentence() -> str:
    return (
        f"You have 2 upcoming appointments: Consultation with Dr. Test on {spoken_day(2)} at "
        f"9:00 AM and Consultation with Dr. Test on {spoken_day(3)} at 2:30 PM."
    )


def expected_facts(seeded: Seeded) -> list[dict[str, str]]:
    return [
        {
            "booking_id": str(seeded.held),
            "start": local_start(2, time(9)).isoformat(),
            "service": "Consultation",
            "provider": "Dr. Test",
            "status": "held",
        },
        {
            "booking_id": str(seeded.confirmed),
            "start": local_start(3, time(14, 30)).isoformat(),
            "service": "Consultation",
            "provider": "Dr. Test",
            "status": "confirmed",
        },
    ]


async def vapi(
    api: httpx.AsyncClient, org: TestOrg, arguments: dict[str, Any], caller: str | None
) -> dict[str, Any]:
    """The one result of a find_appointments call through /voice/vapi."""
    call = vapi_call("find_appointments", arguments)
    response = await api.post(
        "/voice/vapi", json=vapi_message(call, caller=caller), headers=vapi_headers(org)
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["toolCallId"] == call["id"]
    return dict(result)


async def retell(
    api: httpx.AsyncClient, org: TestOrg, arguments: dict[str, Any], caller: str
) -> dict[str, Any]:
    body = retell_body("find_appointments", arguments, caller=caller)
    response = await api.post(
        f"/voice/retell/{org.slug}", content=body, headers=retell_headers(body, RETELL_KEY)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_vapi_lists_the_callers_two_upcoming_bookings(
    api: httpx.AsyncClient, org: TestOrg, seeded: Seeded
) -> None:
    result = await vapi(api, org, {}, caller=seeded.phone)
    assert result.get("result") == expected_sentence(), result
    assert "error" not in result


async def test_retell_lists_them_with_what_reschedule_and_cancel_need(
    api: httpx.AsyncClient, org: TestOrg, seeded: Seeded
) -> None:
    answer = await retell(api, org, {}, caller=seeded.phone)
    assert answer["result"] == expected_sentence()
    assert answer["appointments"] == expected_facts(seeded)
    assert answer["more"] is False
    assert "error" not in answer


async def test_a_given_phone_in_national_format_is_looked_up_instead_of_the_caller(
    api: httpx.AsyncClient, org: TestOrg, seeded: Seeded
) -> None:
    national = f"({seeded.phone[2:5]}) {seeded.phone[5:8]}-{seeded.phone[8:]}"
    result = await vapi(api, org, {"phone": national}, caller=unique_phone())
    assert result.get("result") == expected_sentence(), result
    answer = await retell(api, org, {"phone": national}, caller=unique_phone())
    assert answer["appointments"] == expected_facts(seeded)


async def test_nothing_upcoming_is_said_plainly_on_both_platforms(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool, seeded: Seeded
) -> None:
    """A number whose only bookings are cancelled or failed, and a number without any."""
    ended = unique_phone()
    for status in (BookingStatus.CANCELLED, BookingStatus.FAILED):
        await insert_booking(pool, org, local_start(2, time(15)), phone=ended, status=status)
    for caller in (ended, unique_phone()):
        result = await vapi(api, org, {}, caller=caller)
        assert result.get("result") == NOTHING, result
        assert "error" not in result
        answer = await retell(api, org, {}, caller=caller)
        assert (answer["result"], answer["appointments"], answer["more"]) == (NOTHING, [], False)
        assert "error" not in answer


@pytest.mark.parametrize(
    ("arguments", "caller", "said"),
    [
        ({}, None, "Which phone number are the appointments under?"),
        ({"phone": "not a number"}, "+12125550123", "I couldn't understand that phone number."),
        ({"phone": "+1 555 123 4567"}, None, "I couldn't understand that phone number."),
        ({"phone": 12125550123}, "+12125550123", "find_appointments: phone must be text."),
        (
            {},
            "anonymous",
            "I can't read the number you're calling from; "
            "which phone number are the appointments under?",
        ),
    ],
)
async def test_no_or_bad_number_is_a_spoken_error(
    api: httpx.AsyncClient,
    org: TestOrg,
    arguments: dict[str, Any],
    caller: str | None,
    said: str,
) -> None:
    result = await vapi(api, org, arguments, caller=caller)
    assert result.get("error") == said, result
    assert "result" not in result


async def test_retell_caller_without_a_usable_number_is_asked_for_one(
    api: httpx.AsyncClient, org: TestOrg
) -> None:
    answer = await retell(api, org, {}, caller="anonymous")
    assert answer["error"] == answer["result"]
    assert answer["result"].startswith("I can't read the number you're calling from")


# REST -------------------------------------------------------------------------------------------


def _auth(org: TestOrg) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.credentials.api_key}"}


async def test_rest_lists_a_numbers_upcoming_bookings_with_the_spoken_answer(
    api: httpx.AsyncClient, org: TestOrg, seeded: Seeded
) -> None:
    national = f"{seeded.phone[2:5]}-{seeded.phone[5:8]}-{seeded.phone[8:]}"
    response = await api.get("/bookings/upcoming", params={"phone": national}, headers=_auth(org))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": expected_sentence(),
        "items": [
            {
                "id": fact["booking_id"],
                "status": fact["status"],
                "start": fact["start"],
                "service": fact["service"],
                "provider": fact["provider"],
            }
            for fact in expected_facts(seeded)
        ],
        "more": False,
    }


async def test_rest_says_when_more_follow_than_it_lists(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    phone = unique_phone()
    for days_ahead in range(1, 8):
        await insert_booking(pool, org, local_start(days_ahead, time(10)), phone=phone)
    response = await api.get("/bookings/upcoming", params={"phone": phone}, headers=_auth(org))
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["start"] for item in page["items"]] == [
        local_start(days_ahead, time(10)).isoformat() for days_ahead in range(1, 6)
    ]
    assert page["more"] is True
    assert page["message"].startswith("You have more than 5 upcoming appointments. The next 3: ")


@pytest.mark.parametrize(
    "params", [{}, {"phone": ""}, {"phone": "not a number"}, {"phone": "1" * 101}]
)
async def test_rest_without_a_valid_phone_is_422_naming_it(
    api: httpx.AsyncClient, org: TestOrg, params: dict[str, str]
) -> None:
    response = await api.get("/bookings/upcoming", params=params, headers=_auth(org))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "phone", response.text


async def test_rest_without_an_api_key_is_401(api: httpx.AsyncClient, seeded: Seeded) -> None:
    response = await api.get("/bookings/upcoming", params={"phone": seeded.phone})
    assert response.status_code == 401, response.text
