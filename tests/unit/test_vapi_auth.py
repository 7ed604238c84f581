"""The pure Vapi auth check: HMAC signatures as Vapi's HmacAuthenticationPlan describes them,
the freshness window, and which header carries the voice secret."""

import base64
import hashlib
import hmac
from typing import Any

import pytest
from pydantic import ValidationError

from core.domain.vapi_auth import (
    HmacSettings,
    VapiAuthSettings,
    presented_secret,
    signature_problem,
    timestamp_seconds,
)

SECRET = "whsec-test-0123456789abcdef"
BODY = b'{"message": {"type": "tool-calls"}}'
NOW = 1_800_000_000.0


def plan(**overrides: Any) -> HmacSettings:
    return HmacSettings.model_validate({"secret": SECRET, **overrides})


def reference_signature(
    *, algorithm: str = "sha256", encoding: str = "hex", prefix: str = "", stamp: str
) -> str:
    """Written from Vapi's description, independently of `sign`: HMAC over `{timestamp}.{body}`."""
    digest = hmac.new(SECRET.encode(), stamp.encode() + b"." + BODY, algorithm).digest()
    return prefix + (digest.hex() if encoding == "hex" else base64.b64encode(digest).decode())


def check(settings: HmacSettings, headers: dict[str, str], now: float = NOW) -> str | None:
    return signature_problem(settings, body=BODY, headers=headers, method="POST", now=now)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {}),
        ({"algorithm": "sha512"}, {"algorithm": "sha512"}),
        ({"algorithm": "sha1", "encoding": "base64"}, {"algorithm": "sha1", "encoding": "base64"}),
        ({"signature_prefix": "sha256="}, {"prefix": "sha256="}),
    ],
)
def test_a_signature_made_as_vapi_describes_passes(
    options: dict[str, str], expected: dict[str, str]
) -> None:
    stamp = str(int(NOW))
    signature = reference_signature(stamp=stamp, **expected)
    assert check(plan(**options), {"x-signature": signature, "x-timestamp": stamp}) is None


def test_milliseconds_timestamps_are_read_as_such() -> None:
    stamp = str(int(NOW * 1000))
    headers = {"x-signature": reference_signature(stamp=stamp), "x-timestamp": stamp}
    assert check(plan(), headers) is None
    assert timestamp_seconds(stamp) == NOW


def test_the_window_holds_both_ways() -> None:
    settings = plan(max_age_seconds=60)
    for stamp, fresh in ((NOW - 61, False), (NOW + 61, False), (NOW - 59, True), (NOW + 59, True)):
        text = str(int(stamp))
        headers = {"x-signature": reference_signature(stamp=text), "x-timestamp": text}
        assert (check(settings, headers) is None) is fresh, stamp


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"x-timestamp": str(int(NOW))}, "missing"),
        ({"x-signature": "abc", "x-timestamp": "yesterday"}, "not a Unix timestamp"),
        ({"x-signature": "abc", "x-timestamp": "-1"}, "not a Unix timestamp"),
        ({"x-signature": "abc", "x-timestamp": "١٢٣"}, "not a Unix timestamp"),
        ({"x-signature": "é" * 64, "x-timestamp": str(int(NOW))}, "does not match"),
    ],
)
def test_unsigned_or_malformed_requests_are_refused(headers: dict[str, str], reason: str) -> None:
    problem = check(plan(), headers)
    assert problem is not None and reason in problem


def test_a_changed_body_secret_or_option_is_refused() -> None:
    stamp = str(int(NOW))
    good = {"x-signature": reference_signature(stamp=stamp), "x-timestamp": stamp}
    assert check(plan(), good) is None
    changed = signature_problem(plan(), body=BODY + b" ", headers=good, method="POST", now=NOW)
    assert changed == "the signature does not match"
    other_secret = plan(secret="another-secret-of-enough-length")
    for settings in (other_secret, plan(algorithm="sha512"), plan(encoding="base64")):
        assert check(settings, good) == "the signature does not match"
    assert check(plan(signature_prefix="sha256="), good) == "the signature does not match"


def test_custom_header_names_and_payload_format() -> None:
    settings = plan(
        signature_header="X-Vapi-Signature",
        timestamp_header="X-Vapi-Timestamp",
        payload_format="{method}:{timestamp}:{body}",
    )
    stamp = str(int(NOW))
    payload = b"POST:" + stamp.encode() + b":" + BODY
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    headers = {"x-vapi-signature": signature, "x-vapi-timestamp": stamp}
    assert check(settings, headers) is None
    assert check(settings, {"x-signature": signature, "x-timestamp": stamp}) is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"payload_format": "{body}"},
        {"payload_format": "{timestamp}"},
        {"payload_format": "{timestamp}.{body}.{url}"},
        {"signature_header": "x signature"},
        {"algorithm": "md5"},
        {"encoding": "base32"},
        {"secret": "short"},
        {"max_age_seconds": 0},
        {"unknown_option": 1},
    ],
)
def test_settings_that_cannot_protect_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        plan(**bad)
    assert SECRET not in str(refused.value)


def test_the_voice_secret_is_read_from_the_configured_header() -> None:
    default = VapiAuthSettings()
    assert presented_secret(default, {"authorization": "Bearer s1"}) == "s1"
    assert presented_secret(default, {"x-vapi-secret": "s2"}) == "s2"
    assert presented_secret(default, {"authorization": "Basic s1"}) is None
    renamed = VapiAuthSettings(bearer_header="X-Clinic-Token")
    assert presented_secret(renamed, {"x-clinic-token": "Bearer s3"}) == "s3"
    assert presented_secret(renamed, {"authorization": "Bearer s1"}) is None
    bare = VapiAuthSettings(bearer_header="x-clinic-token", bearer_prefix=False)
    assert presented_secret(bare, {"x-clinic-token": "s4"}) == "s4"


def test_public_settings_never_hold_the_secret() -> None:
    settings = VapiAuthSettings(hmac=plan())
    assert SECRET not in repr(settings.public()) and SECRET not in repr(settings)
