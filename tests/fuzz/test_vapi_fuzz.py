"""Fuzzing POST /voice/vapi: authenticated calls are always HTTP 200 with the documented body,
a bad secret is 401, and what is refused writes nothing."""

import json
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from api.actions import bounded_key
from api.limits import MAX_BODY_BYTES, is_json
from api.voice import vapi
from core.errors import InvalidInput
from core.names import booking_id_for
from tests.fuzz.bodies import broken_bodies, content_types, encoded, vapi_message
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


async def post_and_check(
    client: httpx.AsyncClient,
    ledger: Ledger,
    raw: bytes,
    *,
    content_type: str = "application/json",
    auth: str = "bearer",
) -> None:
    """Send one webhook and check status, body shape and writes against what it carried."""
    raw = ledger.resolve(raw)
    headers, admitted = vapi_auth(ledger, auth)
    before = await ledger.snapshot()
    response = await client.post(
        "/voice/vapi", content=raw, headers={**headers, "Content-Type": content_type}
    )
    what = f"{response.status_code} {response.text[:300]!r} for {raw[:300]!r}"
    # The size limit is a transport limit, applied before any route (and so before auth).
    if not admitted and len(raw) <= MAX_BODY_BYTES:
        assert response.status_code == 401, what
        event("401")
        assert response.json()["error"]["code"] == "unauthorized", what
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    assert response.status_code == 200, what
    answer = response.json()
    assert isinstance(answer, dict), what
    message = _readable_message(raw, content_type)
    if message is None:
        assert answer["results"] == [] and answer["error"] == answer["result"], what
        assert_speakable(answer["error"], what)
        event("transport error")
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    if message.type != "tool-calls":
        assert answer == {}, what
        event("not a tool call")
        await ledger.check_writes(before, booked=set(), may_write=False, what=what)
        return
    assert set(answer) == {"results"}, what
    results = answer["results"]
    assert len(results) == len(message.tool_calls), what
    booked: set[UUID] = set()
    may_write = False
    for call, result in zip(message.tool_calls, results, strict=True):
        assert result["toolCallId"] == call.id, what
        [(kind, text)] = [(k, v) for k, v in result.items() if k != "toolCallId"]
        assert kind in ("result", "error"), what
        assert_speakable(text, what)
        event(f"{kind}: {' '.join(text.split(' ')[:5])}")
        if kind == "result" and text.startswith(("Booked", "Done")):
            may_write = True
        if kind == "result" and text.startswith("Booked"):
            key = bounded_key(f"vapi:{call.id}")
            booked.add(booking_id_for(ledger.org.id, key))
    await ledger.check_writes(before, booked=booked, may_write=may_write, what=what)


def _readable_message(raw: bytes, content_type: str) -> vapi.VapiMessage | None:
    """The message the route should have read, or None when it should answer a transport
    error (not JSON, too big, no message)."""
    if not is_json(content_type) or len(raw) > MAX_BODY_BYTES:
        return None
    try:
        return vapi.parse_message(json.loads(raw))
    except (ValueError, RecursionError, InvalidInput):
        return None


@fuzz_settings(200)
@given(body=vapi_message())
async def test_tool_calls_with_hostile_arguments(
    client: httpx.AsyncClient, seeded: Ledger, body: dict[str, Any]
) -> None:
    await post_and_check(client, seeded, encoded(body))


@fuzz_settings(150)
@given(
    raw=st.one_of(broken_bodies(vapi_message()), vapi_message().map(encoded)),
    content_type=content_types,
    auth=st.sampled_from(AUTH),
)
async def test_broken_bodies_content_types_and_secrets(
    client: httpx.AsyncClient, ledger: Ledger, raw: bytes, content_type: str, auth: str
) -> None:
    await post_and_check(client, ledger, raw, content_type=content_type, auth=auth)
