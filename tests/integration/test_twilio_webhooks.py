"""POST /twilio/status and /twilio/inbound on the real stack, and opt-outs honoured when booking.

Webhooks are signed as Twilio signs them, with `RequestValidator(token).compute_signature` over
the *public* URL; the app is reached as http://testserver, so a route that checked the URL the
request arrived on would refuse every one of them. The last tests serve the API with uvicorn on
a loopback port and let the Twilio sandbox deliver its own signed status callbacks to it.

One module because status callbacks, inbound STOP/START and the opt-outs honoured when booking are
all Twilio-signed webhooks to the same app, built by the same `signature` and `post_signed` helpers.
"""

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import time
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from twilio.request_validator import RequestValidator

from core.infra.config import Settings
from sandbox.runner import Sandboxes
from tests.apiclient import api_client, served_api
from tests.booking_helpers import (
    BookingEnv,
    book,
    local_start,
    sms_rows,
    unique_phone,
    wait_for_phase2,
)
from tests.conftest import MakeOrg, running_worker
from tests.factories import TestOrg

# What Twilio was told to call; deliberately not where the test client sends requests.
PUBLIC_BASE_URL = "https://voice.example.com/booking"
STATUS_PATH = "/twilio/status"
INBOUND_PATH = "/twilio/inbound"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture
def api_settings(booking_settings: Settings) -> Settings:
    return booking_settings.model_copy(update={"public_base_url": PUBLIC_BASE_URL})


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(api_settings) as client:
        yield client


def _token(settings: Settings) -> str:
    assert settings.twilio_auth_token is not None
    return settings.twilio_auth_token.get_secret_value()


def signature(settings: Settings, path: str, params: dict[str, str], *, token: str = "") -> str:
    url = f"{PUBLIC_BASE_URL}{path}"
    return RequestValidator(token or _token(settings)).compute_signature(url, params)


async def post_signed(
    api: httpx.AsyncClient, settings: Settings, path: str, params: dict[str, str]
) -> httpx.Response:
    headers = {"X-Twilio-Signature": signature(settings, path, params)}
    return await api.post(path, data=params, headers=headers)


def status_params(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+12125550123",
        "From": "+12125550100",
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


def inbound_params(*, body: str, phone: str, sender: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "MessageSid": "SM" + "1" * 32,
        "From": phone,
        "To": sender,
        "Body": body,
        "NumMedia": "0",
    }


def unique_sender() -> str:
    """A sender number of this test's own, so its opt-outs cannot touch other tests."""
    return f"+1555{random.randint(1_000_000, 9_999_999)}"


async def sms_row(pool: asyncpg.Pool, sid: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT status, error_code, updated_at FROM sms_messages WHERE twilio_sid = $1", sid
    )
    assert row is not None
    return row


async def opt_out_source(pool: asyncpg.Pool, sender: str, phone: str) -> str | None:
    """What recorded this opt-out ("STOP", "twilio:21610", ...), or None if there is none."""
    source: str | None = await pool.fetchval(
        "SELECT source FROM sms_opt_outs WHERE sender = $1 AND phone = $2", sender, phone
    )
    return source


async def book_and_settle(
    env: BookingEnv, org: TestOrg, phone: str, *, at: time = time(10)
) -> list[asyncpg.Record]:
    """Book with `org` for `phone`, wait until phase 2 is over (confirmed, then the text),
    return SMS rows."""
    answer = await env.book(start=local_start(at=at), phone=phone, org=org)
    assert answer.outcome == "booked", answer
    assert answer.booking_id is not None
    await wait_for_phase2(env.pool, answer.booking_id)
    return await sms_rows(env.pool, answer.booking_id)


async def sent_sid(env: BookingEnv) -> str:
    """The Twilio SID of a real confirmation SMS of the env's org, left `queued` by the
    worker."""
    [row] = await book_and_settle(env, env.org, unique_phone())
    assert row["twilio_sid"] is not None, row
    return str(row["twilio_sid"])


# Status callbacks ---------------------------------------------------------------------------


async def test_signed_status_callbacks_move_the_row_forward(
    booking_env: BookingEnv, api_settings: Settings, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    sid = await sent_sid(booking_env)
    before = await sms_row(pool, sid)
    assert before["status"] == "queued"

    response = await post_signed(api, api_settings, STATUS_PATH, status_params(sid, "sent"))
    assert (response.status_code, response.content) == (200, b"")
    sent = await sms_row(pool, sid)
    assert sent["status"] == "sent" and sent["updated_at"] > before["updated_at"]

    response = await post_signed(
        api, api_settings, STATUS_PATH, status_params(sid, "undelivered", "30003")
    )
    assert response.status_code == 200
    after = await sms_row(pool, sid)
    assert (after["status"], after["error_code"]) == ("undelivered", "30003")


async def test_out_of_order_callbacks_never_move_the_row_backwards(
    booking_env: BookingEnv, api_settings: Settings, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    sid = await sent_sid(booking_env)

    await post_signed(api, api_settings, STATUS_PATH, status_params(sid, "delivered"))
    delivered = await sms_row(pool, sid)
    for late in ("sent", "sending", "queued", "delivered", "failed", "some_new_status"):
        response = await post_signed(api, api_settings, STATUS_PATH, status_params(sid, late))
        assert response.status_code == 200, late
    assert await sms_row(pool, sid) == delivered


async def test_bad_signatures_are_403_and_change_nothing(
    booking_env: BookingEnv, api_settings: Settings, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    sid = await sent_sid(booking_env)
    before = await sms_row(pool, sid)
    params = status_params(sid, "delivered")
    forged = {
        "wrong token": signature(api_settings, STATUS_PATH, params, token="not-the-auth-token"),
        "tampered body": signature(api_settings, STATUS_PATH, {**params, "MessageStatus": "sent"}),
        # What a route validating the local URL would accept; behind a proxy it is not ours.
        "arrival url": RequestValidator(_token(api_settings)).compute_signature(
            f"http://testserver{STATUS_PATH}", params
        ),
        "garbage": "not base64 at all",
    }
    for case, forged_signature in forged.items():
        response = await api.post(
            STATUS_PATH, data=params, headers={"X-Twilio-Signature": forged_signature}
        )
        assert response.status_code == 403, case
        assert response.json()["error"]["code"] == "forbidden"
    assert await sms_row(pool, sid) == before


async def test_missing_signature_is_403_and_changes_nothing(
    booking_env: BookingEnv, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    sid = await sent_sid(booking_env)
    before = await sms_row(pool, sid)

    response = await api.post(STATUS_PATH, data=status_params(sid, "delivered"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    response = await api.post(
        INBOUND_PATH, data=inbound_params(body="STOP", phone=unique_phone(), sender="+15550001")
    )
    assert response.status_code == 403
    assert await sms_row(pool, sid) == before


async def test_unknown_sid_is_200_logged_and_writes_nothing(
    api_settings: Settings,
    pool: asyncpg.Pool,
    api: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="api.routes.twilio")
    sid = "SM" + "f" * 32
    rows_before = await pool.fetchval("SELECT count(*) FROM sms_messages")

    response = await post_signed(api, api_settings, STATUS_PATH, status_params(sid, "delivered"))

    assert (response.status_code, response.content) == (200, b"")
    assert await pool.fetchval("SELECT count(*) FROM sms_messages") == rows_before
    assert not await pool.fetchval("SELECT count(*) FROM sms_messages WHERE twilio_sid = $1", sid)
    assert f"unknown message {sid}" in caplog.text


async def test_malformed_webhooks_are_4xx_not_500(
    api_settings: Settings, api: httpx.AsyncClient
) -> None:
    signed = {"X-Twilio-Signature": "c2lnbmF0dXJl"}
    form = {"content-type": "application/x-www-form-urlencoded", **signed}
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        ("json body", {"content-type": "application/json", **signed}, b'{"a": 1}', 415),
        ("no content type", signed, b"MessageSid=SM1", 415),
        ("not utf-8", form, b"MessageSid=\xff\xfe", 400),
        ("bad percent escape", form, b"Body=%FF", 400),
        ("too many fields", form, "&".join(f"f{i}=1" for i in range(500)).encode(), 400),
        ("nul byte", form, b"MessageSid=SM%00", 400),
    ]
    for case, headers, body, expected in cases:
        for path in (STATUS_PATH, INBOUND_PATH):
            response = await api.post(path, content=body, headers=headers)
            assert response.status_code == expected, (case, path, response.text)
            assert "error" in response.json()
    # Correctly signed, but not a status callback.
    response = await post_signed(api, api_settings, STATUS_PATH, {"MessageSid": "SM1"})
    assert response.status_code == 400
    response = await api.get(STATUS_PATH)
    assert response.status_code == 405


# Inbound STOP / START -----------------------------------------------------------------------


async def test_stop_then_booking_skips_the_sms_and_start_sends_again(
    booking_env: BookingEnv,
    api_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    api: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    make_org: MakeOrg,
) -> None:
    caplog.set_level(logging.INFO)
    sender = unique_sender()
    org = await make_org(sms_sender=sender)
    phone = unique_phone()

    response = await post_signed(
        api, api_settings, INBOUND_PATH, inbound_params(body="  stop\n", phone=phone, sender=sender)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == EMPTY_TWIML
    assert await opt_out_source(pool, sender, phone) == "STOP"

    [row] = await book_and_settle(booking_env, org, phone)
    assert (row["kind"], row["status"], row["error_code"]) == (
        "confirmation",
        "skipped",
        "opted_out",
    )
    assert row["twilio_sid"] is None
    assert await sandboxes.twilio.count_messages(to=phone) == 0
    assert phone not in caplog.text  # logged masked, never raw

    response = await post_signed(
        api, api_settings, INBOUND_PATH, inbound_params(body="Start", phone=phone, sender=sender)
    )
    assert response.text == EMPTY_TWIML
    assert await opt_out_source(pool, sender, phone) is None

    [row] = await book_and_settle(booking_env, org, phone, at=time(11))
    assert (row["status"], row["error_code"]) == ("queued", None)
    assert row["twilio_sid"] is not None
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    assert phone not in caplog.text


async def test_opt_out_covers_every_org_sharing_the_sender_number(
    booking_env: BookingEnv,
    api_settings: Settings,
    sandboxes: Sandboxes,
    api: httpx.AsyncClient,
    make_org: MakeOrg,
) -> None:
    sender = unique_sender()
    first = await make_org(sms_sender=sender)
    second = await make_org(sms_sender=sender)
    elsewhere = await make_org(sms_sender=unique_sender())
    phone = unique_phone()

    await post_signed(
        api,
        api_settings,
        INBOUND_PATH,
        inbound_params(body="UNSUBSCRIBE", phone=phone, sender=sender),
    )

    for org in (first, second):
        [row] = await book_and_settle(booking_env, org, phone)
        assert (row["status"], row["error_code"]) == ("skipped", "opted_out")
    # Twilio blocks per sender: another number of ours may still text this person.
    [row] = await book_and_settle(booking_env, elsewhere, phone)
    assert row["twilio_sid"] is not None
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_ordinary_texts_and_unusable_numbers_write_nothing(
    api_settings: Settings, pool: asyncpg.Pool, api: httpx.AsyncClient
) -> None:
    sender = unique_sender()
    phone = unique_phone()
    texts = [
        ("please stop", phone, sender),
        ("STOP!", phone, sender),
        ("HELP", phone, sender),
        ("Can I move my appointment?", phone, sender),
        ("STOP", "not-a-number", sender),
        ("STOP", phone, ""),
    ]
    for body, from_, to in texts:
        params = inbound_params(body=body, phone=from_, sender=to)
        response = await post_signed(api, api_settings, INBOUND_PATH, params)
        assert (response.status_code, response.text) == (200, EMPTY_TWIML), body
    count = await pool.fetchval("SELECT count(*) FROM sms_opt_outs WHERE phone = $1", phone)
    assert count == 0
    assert not await pool.fetchval(
        "SELECT count(*) FROM sms_opt_outs WHERE phone = 'not-a-number' OR sender = $1", sender
    )


async def test_start_without_a_prior_stop_is_harmless(
    api_settings: Settings, api: httpx.AsyncClient
) -> None:
    params = inbound_params(body="YES", phone=unique_phone(), sender=unique_sender())
    response = await post_signed(api, api_settings, INBOUND_PATH, params)
    assert (response.status_code, response.text) == (200, EMPTY_TWIML)


async def test_twilio_21610_refusal_records_the_opt_out(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, make_org: MakeOrg
) -> None:
    sender = unique_sender()
    org = await make_org(sms_sender=sender)
    phone = unique_phone()
    await sandboxes.twilio.set_number(phone, "opted_out")

    [row] = await book_and_settle(booking_env, org, phone)
    assert (row["status"], row["error_code"]) == ("failed", "21610")
    assert await opt_out_source(pool, sender, phone) == "twilio:21610"

    # Twilio would accept it now, but we no longer ask: the opt-out stands until START.
    await sandboxes.twilio.set_number(phone, "ok")
    [row] = await book_and_settle(booking_env, org, phone, at=time(11))
    assert (row["status"], row["error_code"]) == ("skipped", "opted_out")
    attempts = [
        r
        for r in await sandboxes.twilio.requests(path_contains="/Messages.json", method="POST")
        if r["body"].get("To") == phone
    ]
    assert len(attempts) == 1


# End to end: the sandbox's own callbacks reach the API on a real port -----------------------


async def _wait_for_row_status(
    pool: asyncpg.Pool, booking_id: UUID, status: str, timeout: float = 10
) -> asyncpg.Record:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await sms_rows(pool, booking_id)  # none until phase 2 claims the send
        if rows and rows[0]["status"] == status:
            return rows[0]
        assert asyncio.get_running_loop().time() < deadline, f"sms rows: {rows}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("behaviour", "final", "error_code"),
    [("ok", "delivered", None), ("undelivered", "undelivered", "30003")],
)
async def test_sandbox_status_callbacks_reach_the_served_api(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    behaviour: str,
    final: str,
    error_code: str | None,
    make_org: MakeOrg,
) -> None:
    # The sandbox signs with the auth token the settings carry, as Twilio signs with ours.
    assert _token(booking_settings) == sandboxes.twilio_auth_token
    phone = unique_phone()
    await sandboxes.twilio.set_number(phone, behaviour)
    # Slow enough that the worker has recorded the SID before the first callback arrives.
    await sandboxes.twilio.set_callback_delay(400)
    try:
        async with (
            served_api(booking_settings) as served,
            running_worker(temporal_client, served, pool),
        ):
            org = await make_org(sms_sender=unique_sender())
            answer = await book(temporal_client, served, org, start=local_start(), phone=phone)
            assert answer.booking_id is not None
            row = await _wait_for_row_status(pool, answer.booking_id, final)
            callback_url = f"{served.public_base_url}/twilio/status"
            attempts = await _callbacks_for(sandboxes, callback_url, str(row["twilio_sid"]))
    finally:
        await sandboxes.twilio.set_callback_delay(50)
        await sandboxes.twilio.set_number(phone, "ok")
    assert row["error_code"] == error_code
    assert [(a["params"]["MessageStatus"], a["status_code"]) for a in attempts] == [
        ("sent", 200),
        (final, 200),
    ]


async def _callbacks_for(sandboxes: Sandboxes, url: str, sid: str) -> list[dict[str, Any]]:
    """The sandbox's finished callback attempts for this message, once both are answered."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        attempts = [
            a
            for a in await sandboxes.twilio.callbacks()
            if a["url"] == url and a["params"]["MessageSid"] == sid
        ]
        if len(attempts) == 2 and all(a["status_code"] or a["error"] for a in attempts):
            return attempts
        assert asyncio.get_running_loop().time() < deadline, attempts
        await asyncio.sleep(0.05)
