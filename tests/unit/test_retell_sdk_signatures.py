"""Our Retell signature check against Retell's own code (the `retell-sdk` package), not only
against our own signer: what we sign Retell verifies, what Retell signs we accept.

Retell signs the request body it sends (compact JSON, UTF-8, non-ASCII kept) as
`v=<unix ms>,d=<hex HMAC-SHA256(API key, body + ms)>`; `retell.lib.webhook_auth` holds both
halves (`symmetric["sign"]`, and `verify`, which the client exposes as `Retell.verify`).
"""

import json
import time

import pytest
from retell import Retell
from retell.lib.webhook_auth import symmetric

from api.voice.retell import sign, signature_valid
from tests.voice_helpers import retell_body, retell_headers

KEY = "key_6e1c0f4b2a9d"
# A known-answer vector made with retell-sdk 6.2.13: symmetric["sign"](BODY, KEY, STAMP).
# Recorded, so it still pins the scheme if the SDK changes.
STAMP = 1_790_000_000_000
BODY = (
    '{"name":"cancel_appointment","call":{"call_id":"call_9f2c","from_number":"+12125550123",'
    '"to_number":"+12125550100","direction":"inbound"},"args":{"reason":"Núñez can’t come"}}'
)
SIGNED = "v=1790000000000,d=08963e3d7709954127dd3c1670ce87218dc17aaef8333a0c4613b084af335098"


def retell_sign(body: str, key: str, stamp: int) -> str:
    signed: str = symmetric["sign"](body, key, stamp)
    return signed


def retell_verifies(body: str, key: str, signature: str, *, now: int | None = None) -> bool:
    if now is None:
        return bool(Retell(api_key=key).verify(body, key, signature))
    return bool(symmetric["verify"](body, key, signature, {"timestamp": now}))


def as_retell_sends(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def test_the_recorded_vector_is_what_we_sign_and_what_retell_verifies() -> None:
    assert sign(BODY.encode(), KEY, STAMP) == SIGNED
    assert signature_valid(BODY.encode(), SIGNED, KEY, STAMP)
    assert retell_verifies(BODY, KEY, SIGNED, now=STAMP)
    # The vector is still Retell's: the installed SDK signs it the same way.
    assert retell_sign(BODY, KEY, STAMP) == SIGNED


BODIES = {
    "ascii": as_retell_sends({"name": "check_availability", "args": {"date": "tomorrow"}}),
    "non-ascii kept": BODY,
    "spaces and escapes": json.dumps({"name": "x", "args": {"note": 'a "quoted"\\n line'}}),
    "empty": "",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=list(BODIES))
def test_what_we_sign_retells_verify_accepts(body: str) -> None:
    now = time.time_ns() // 1_000_000
    assert retell_verifies(body, KEY, sign(body.encode(), KEY, now))


def test_what_the_test_helpers_sign_retells_verify_accepts() -> None:
    raw = retell_body("check_availability", {"date": "tomorrow"}, caller="+12125550123")
    header = retell_headers(raw, KEY)["X-Retell-Signature"]
    assert retell_verifies(raw.decode(), KEY, header)


@pytest.mark.parametrize("body", BODIES.values(), ids=list(BODIES))
def test_what_retell_signs_we_accept_and_a_change_we_refuse(body: str) -> None:
    now = time.time_ns() // 1_000_000
    header = retell_sign(body, KEY, now)
    assert signature_valid(body.encode(), header, KEY, now)
    # The other key, other bytes, or outside the five minutes: both sides refuse.
    refusals = [
        (body, retell_sign(body, KEY + "x", now), now),
        (body + " ", header, now),
        (body, header, now + 5 * 60 * 1000 + 1),
    ]
    for other_body, other_header, at in refusals:
        assert not retell_verifies(other_body, KEY, other_header, now=at)
        assert not signature_valid(other_body.encode(), other_header, KEY, at)
