"""Fuzzing the REST API: POST /bookings (with its Idempotency-Key), reschedule and cancel,
GET /bookings, GET /bookings/{id} and GET /availability. No input is a 5xx; a refusal is a
4xx in the error shape and writes nothing; a 201 writes exactly the booking it names."""

from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.bodies import (
    broken_bodies,
    content_types,
    encoded,
    idempotency_keys,
    odd_path_segments,
    query_strings,
)
from tests.fuzz.harness import Ledger, assert_error_body, assert_not_5xx, fuzz_settings
from tests.fuzz.strategies import (
    MISSING,
    bookable_start,
    booking_fields,
    good_booking_fields,
    hostile_value,
    json_values,
    known_booking,
    weighted,
)

pytestmark = pytest.mark.integration


def api_headers(ledger: Ledger, authorized: bool = True) -> dict[bytes, bytes]:
    token = ledger.org.credentials.api_key if authorized else "bk_api_not-a-key"
    return {b"authorization": f"Bearer {token}".encode()}


async def send(
    client: httpx.AsyncClient,
    ledger: Ledger,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[bytes, bytes] | None = None,
) -> tuple[httpx.Response, str]:
    """One request, checked for what every answer must be: not a 5xx, JSON, and in the error
    shape when it is a 4xx. Returns the response and a description for failure messages."""
    response = await client.request(method, url, content=body, headers=headers)
    what = f"{method} {url} {body[:300] if body else b''!r}: {response.text[:300]!r}"
    assert_not_5xx(response, what)
    if response.status_code >= 400:
        assert_error_body(response)
        event(f"{response.status_code} {response.json()['error']['code']}")
    else:
        event(str(response.status_code))
    return response, what


@st.composite
def booking_posts(draw: st.DrawFn) -> tuple[bytes, str, Any, bool]:
    """(body, content type, Idempotency-Key or MISSING, authorized)."""
    raw = weighted(draw, (6, booking_fields.map(encoded)), (1, broken_bodies(booking_fields)))
    content_type = weighted(draw, (6, st.just("application/json")), (1, content_types))
    key = weighted(draw, (5, st.uuids().map(lambda u: str(u).encode())), (3, idempotency_keys))
    return raw, content_type, key, weighted(draw, (12, st.just(True)), (1, st.just(False)))


@fuzz_settings(150)
@given(request=booking_posts())
async def test_post_bookings(
    api: httpx.AsyncClient, ledger: Ledger, request: tuple[bytes, str, Any, bool]
) -> None:
    raw, content_type, key, authorized = request
    headers = {**api_headers(ledger, authorized), b"content-type": content_type.encode()}
    if key is not MISSING:
        headers[b"idempotency-key"] = key
    before = await ledger.snapshot()
    response, what = await send(api, ledger, "POST", "/bookings", body=raw, headers=headers)
    booked: set[UUID] = set()
    if response.status_code == 201:
        answer = response.json()
        assert answer["outcome"] == "booked", what
        booked = {UUID(answer["booking_id"])}
        assert response.headers["location"] == f"/bookings/{answer['booking_id']}", what
    elif response.status_code == 200:
        # The same contact asking again for a time it already holds: that booking, no new one.
        answer = response.json()
        assert answer["outcome"] == "already_booked", what
        assert response.headers["location"] == f"/bookings/{answer['booking_id']}", what
    else:
        assert response.status_code in (400, 401, 409, 413, 415, 422), what
    await ledger.check_writes(before, booked=booked, may_write=bool(booked), what=what)


@st.composite
def changes(draw: st.DrawFn) -> tuple[str, str, bytes | None, str, Any]:
    """(reschedule or cancel, booking id in the path, body, content type, Idempotency-Key);
    sometimes a valid booking instead, so that there is always something left to change."""
    action = weighted(
        draw, (3, st.just("reschedule")), (2, st.just("cancel")), (1, st.just("book"))
    )
    if action == "book":
        key = str(draw(st.uuids())).encode()
        return action, "", encoded(draw(good_booking_fields)), "application/json", key
    target = weighted(draw, (6, known_booking), (1, st.uuids().map(str)), (2, odd_path_segments))
    if action == "reschedule":
        fields = weighted(
            draw,
            (5, st.builds(lambda start: {"start": start}, bookable_start)),
            (2, st.builds(lambda start: {"start": start}, hostile_value)),
            (1, json_values),
        )
    else:
        fields = weighted(
            draw,
            (4, st.just({"reason": "patient called"})),
            (2, st.just(MISSING)),
            (2, st.builds(lambda reason: {"reason": reason}, hostile_value)),
            (1, json_values),
        )
    body: bytes | None = None if fields is MISSING else encoded(fields)
    if body is not None and draw(st.integers(0, 9)) == 0:
        body = draw(broken_bodies(st.just(fields)))
    content_type = weighted(draw, (6, st.just("application/json")), (1, content_types))
    key = weighted(draw, (3, st.just(MISSING)), (2, idempotency_keys))
    return action, target, body, content_type, key


@fuzz_settings(100)
@given(change=changes())
async def test_reschedule_and_cancel(
    api: httpx.AsyncClient, seeded: Ledger, change: tuple[str, str, bytes | None, str, Any]
) -> None:
    ledger = seeded
    action, target, body, content_type, key = change
    headers = api_headers(ledger)
    if body is not None:
        headers[b"content-type"] = content_type.encode()
        body = ledger.resolve(body)
    if key is not MISSING:
        headers[b"idempotency-key"] = key
    url = ledger.resolve_text(f"/bookings/{target}/{action}" if target else "/bookings")
    before = await ledger.snapshot()
    response, what = await send(api, ledger, "POST", url, body=body, headers=headers)
    booked: set[UUID] = set()
    if action == "book":
        assert response.status_code in (201, 409), what  # 409: that slot is taken
        if response.status_code == 201:
            booked = {UUID(response.json()["booking_id"])}
    elif response.status_code == 200:
        answer = response.json()
        assert answer["outcome"] in ("rescheduled", "cancelled", "unchanged"), what
        assert isinstance(answer["message"], str) and answer["message"], what
    else:
        assert response.status_code in (400, 404, 409, 413, 415, 422), what
    may_write = response.status_code in (200, 201)
    await ledger.check_writes(before, booked=booked, may_write=may_write, what=what)


@st.composite
def queries(draw: st.DrawFn) -> str:
    """A GET on the list, on one booking, or on availability, with hostile parameters."""
    kind = draw(st.sampled_from(("list", "one", "availability")))
    if kind == "list":
        return "/bookings?" + draw(
            query_strings(("status", "from", "to", "phone", "cursor", "limit"))
        )
    if kind == "one":
        target = weighted(
            draw, (2, known_booking), (1, st.uuids().map(str)), (2, odd_path_segments)
        )
        return f"/bookings/{target}"
    return "/availability?" + draw(query_strings(("date", "service", "provider")))


@fuzz_settings(300)
@given(url=queries())
async def test_queries(api: httpx.AsyncClient, seeded: Ledger, url: str) -> None:
    ledger = seeded
    url = ledger.resolve_text(url)
    before = await ledger.snapshot()
    response, what = await send(api, ledger, "GET", url, headers=api_headers(ledger))
    if response.status_code == 200:
        answer = response.json()
        if url.startswith("/bookings?"):
            assert set(answer) == {"items", "next_cursor"}, what
        elif url.startswith("/availability"):
            assert isinstance(answer["free_starts"], list) and answer["message"], what
        else:
            assert answer["id"] in {str(known) for known in ledger.known}, what
    else:
        assert response.status_code in (404, 422), what
    await ledger.check_writes(before, booked=set(), may_write=False, what=what)
