"""Masking of phone numbers and emails in log text: what is masked, and what is left alone."""

import random
import uuid

import pytest

from core.infra.masking import mask_phone, mask_text

MASKED = [
    ("+14155550123", "+1******0123"),
    ("to +14155550123.", "to +1******0123."),
    ('{"to": "+12125551234"}', '{"to": "+1******1234"}'),
    ("tel:+14155550123", "tel:+1******0123"),
    ("+1 415 555 0123", "+1 *** *** 0123"),
    ("+1 (415) 555-0123", "+1 (***) ***-0123"),
    ("+1-415-555-0123", "+1-***-***-0123"),
    ("+44 20 7946 0958", "+4* ** **** 0958"),
    ("+447700900123", "+4*******0123"),
    ("(415) 555-0123", "(***) ***-0123"),
    ("(415)555-0123", "(***)***-0123"),
    ("415-555-0123", "***-***-0123"),
    ("415.555.0123", "***.***.0123"),
    ("415 555 0123", "*** *** 0123"),
    ("1-415-555-0123", "*-***-***-0123"),
    ("4155550123", "******0123"),
    ("14155550123", "*******0123"),
    ("phone=4155550123&x=1", "phone=******0123&x=1"),
    ("tel:4155550123", "tel:******0123"),
    ("020 7946 0958", "*** **** 0958"),
    ("07700900123", "*******0123"),
    # URL-encoded, as in query strings and Twilio's form bodies.
    ("To=%2B14155550123&From=%2b12125550100", "To=%2B1******0123&From=%2b1******0100"),
    ("phone=%2B1%20415%20555%200123", "phone=%2B1%20***%20***%200123"),
    ("phone=%28415%29%20555-0123", "phone=%28***%29%20***-0123"),
    ("phone=415+555+0123", "phone=***+***+0123"),
    # Emails.
    ("sam.wilson@example.com", "s***@example.com"),
    ("Sam <sam+test@mail.example.co.uk>", "Sam <s***@mail.example.co.uk>"),
    ("email=sam.wilson%40example.com", "email=s***%40example.com"),
    ("email=sam%2Btest%40example.com", "email=s***%40example.com"),
]

KEPT = [
    "2026-11-24T15:00:00",
    "2026-11-24T15:00:00+02:00",
    "2026-11-24T15:00:00.123456Z",
    "2026-11-24 15:00:00,123",
    "15:08:00.711699 and 15:08:00.7116 99",
    "on 2026-11-24 at 15:00",
    "3f0c8a52-6f7e-4f0e-9a53-5b7e0e3c1d21",
    "booking-3f0c8a52-6f7e-4f0e-9a53-5b7e0e3c1d21",
    "12345678-1234-1234-1234-123456789012",
    "0199a3b2-7c1e-7a3b-9f00-234567890123",
    "SM0123456789abcdef0123456789abcdef",
    "SM01234567890123456789012345678901",
    "AC2345678901234567890123456789012a",
    '127.0.0.1:54321 - "POST /voice/vapi HTTP/1.1" 200',
    "took 1500ms, 0.25s, PT15M",
    "timeout 15.0s after 3 attempts",
    "epoch 1764000000 or 1764000000123 ms",
    "version 1.234.5678, ip 192.168.100.200",
    "Twilio error 21211 (HTTP 400)",
    "offsets +0200 and +05:30",
    "already masked: +1******0123, (***) ***-0123, s***@example.com",
    "pid [12345], port 8000, line 1234",
    "a short code 12345 and 555-0123",
]


@pytest.mark.parametrize(("raw", "masked"), MASKED, ids=[m[0] for m in MASKED])
def test_phone_numbers_and_emails_are_masked(raw: str, masked: str) -> None:
    assert mask_text(raw) == masked


@pytest.mark.parametrize("text", KEPT)
def test_ids_times_and_numbers_that_are_not_phones_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_random_uuids_sids_and_timestamps_are_left_alone() -> None:
    rng = random.Random(6)
    for _ in range(2000):
        # Digit-heavy UUIDs are the ones a phone pattern could bite.
        value = uuid.UUID(int=rng.getrandbits(128))
        digits_only = "".join(rng.choice("0123456789") for _ in range(32))
        sid = "SM" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
        stamp = f"{rng.randint(2000, 2099)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        stamp += f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.{rng.randint(0, 999999)}"
        for text in (str(value), str(uuid.UUID(digits_only)), sid, stamp):
            assert mask_text(text) == text


def test_mask_phone_keeps_the_country_digit_and_the_last_four() -> None:
    assert mask_phone("+15551234567") == "+1******4567"
    assert mask_phone("+447700900123") == "+4*******0123"
    assert mask_phone("12345") == "***45"
    assert mask_phone("12") == "**"
