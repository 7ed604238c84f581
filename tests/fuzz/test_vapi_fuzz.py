"""Fuzzing POST /voice/vapi: authenticated calls are always HTTP 200 with the documented body,
a bad secret is 401, and what is refused writes nothing.

What each answer must be comes with the drawn request (tests/fuzz/bodies.py), from the test's
own inputs: which toolCallIds, in which order, which calls must fail, what must not be read."""

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from vapi.core.pydantic_utilities import parse_obj_as
from vapi.types import ToolCallResult

from tests.fuzz.bodies import (
    VapiBody,
    content_types,
    encoded,
    vapi_message,
    vapi_raw_bodies,
)
from tests.fuzz.harness import Ledger, assert_speakable, fuzz_settings

pytestmark = pytest.mark.integration

AUTH = ("bearer", "x-vapi-secret", "wrong bearer, right x-vapi-secret", "wrong", "none", "basic")


def vapi_auth(ledger: Ledger, kind: str) -> tuple[dict[str, str], bool]:
    """Headers for one way of presenting the secret, and whether it should get in."""
    secret = ledger.org.credentials.voice_secret
    headers = {
        "bearer": {"Authorization": f"bearer   {secret} "},
        "x-vapi-secret": {"X-Vapi-Secret": secret},
        "wrong bearer, right x-vapi-secret": {
            "Authorization": "Bearer not-it",
            "X-Vapi-Secret": secret,
        },
        "wrong": {"Authorization": f"Bearer {secret}x", "X-Vapi-Secret": "nope"},
        "none": {},
        "basic": {"Authorization": f"Basic {secret}"},
    }[kind]
    return headers, kind in ("bearer", "x-vapi-secret", "wrong bearer, right x-vapi-secret")


# The route reads these as JSON, and nothing else the strategies send (media types are
# case-insensitive; `+json` suffixes are JSON).
JSON_CONTENT_TYPES = frozenset(
    {
        "application/json",
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "APPLICATION/JSON",
    }
)
# Bodies past 256 KiB are refused before any route (and so before auth) reads them.
BODY_LIMIT = 256 * 1024


async def post_and_check(
    client: httpx.AsyncClient,
    ledger: Ledger,
    raw: bytes,
    expected: VapiBody | None,
    *,
    content_type: str = "application/json",
    auth: str = "bearer",
) -> None:
    """Send one webhook and check status, body and writes against the answer drawn with it
    (`expected` None: the body cannot be read)."""
    raw = ledger.resolve(raw)
    headers, admitted = vapi_auth(ledger, auth)
    before = await ledger.snapshot()
    response = await client.post(
        "/voice/vapi", content=raw, headers={**headers, "Content-Type": content_type}
    )
    what = f"{response.status_code} {response.text[:300]!r} for {raw[:300]!r}"
    too_big = len(raw) > BODY_LIMIT
    if not admitted and not too_big:
        assert response.status_code == 401, what
        event("401")
        assert response.json()["error"]["code"] == "unauthorized", what
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    assert response.status_code == 200, what
    answer = response.json()
    assert isinstance(answer, dict), what
    if too_big or content_type not in JSON_CONTENT_TYPES or expected is None:
        expected_kind = "unreadable"
    else:
        expected_kind = expected.kind
    if expected_kind == "unreadable":
        assert set(answer) == {"results", "result", "error"}, what
        assert answer["results"] == [] and answer["error"] == answer["result"], what
        assert_speakable(answer["error"], what)
        event("transport error")
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    if expected_kind == "ignored":
        assert answer == {}, what
        event("not a tool call")
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    assert expected is not None
    assert set(answer) == {"results"}, what
    results = answer["results"]
    # One result per call, in the calls' order, each carrying its call's id.
    assert [result.get("toolCallId") for result in results] == [
        e.tool_call_id for e in expected.results
    ], what
    booked_now: set[str] = set()
    may_write = False
    for wanted, result in zip(expected.results, results, strict=True):
        # Vapi's ToolCallResult requires `name` beside `toolCallId` ("" for a nameless call).
        assert isinstance(parse_obj_as(ToolCallResult, result).name, str), what
        [(kind, text)] = [(k, v) for k, v in result.items() if k not in ("toolCallId", "name")]
        assert kind in ("result", "error"), what
        if wanted.must_fail:
            assert kind == "error", f"{wanted}: {what}"
        assert_speakable(text, what)
        event(f"{kind}: {' '.join(text.split(' ')[:5])}")
        if kind == "result" and text.startswith(("Booked", "Done")):
            may_write = True
        if kind == "result" and text.startswith("Booked"):
            booked_now.add(wanted.tool_call_id)
    # A call id answered "Booked" for the first time made one booking; a repeat joins it.
    fresh = booked_now - ledger.booked_calls
    ledger.booked_calls |= booked_now
    await ledger.check_writes(
        before, new_bookings=len(fresh), may_write=may_write, what=f"{fresh}: {what}"
    )


@fuzz_settings(200)
@given(body=vapi_message())
async def test_tool_calls_with_hostile_arguments(
    api: httpx.AsyncClient, seeded: Ledger, body: VapiBody
) -> None:
    await post_and_check(api, seeded, encoded(body.body), body)


@fuzz_settings(150)
@given(
    request=vapi_raw_bodies(),
    content_type=content_types,
    auth=st.sampled_from(AUTH),
)
async def test_broken_bodies_content_types_and_secrets(
    api: httpx.AsyncClient,
    ledger: Ledger,
    request: tuple[bytes, VapiBody | None],
    content_type: str,
    auth: str,
) -> None:
    raw, expected = request
    await post_and_check(api, ledger, raw, expected, content_type=content_type, auth=auth)
