"""POST /voice/retell accepts requests signed by Retell's own signing code (`retell-sdk`),
sent as Retell sends them, and refuses them once a byte, the key or the time is off."""

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from retell.lib.webhook_auth import symmetric

from core.infra.config import Settings
from tests.apiclient import api_client
from tests.booking_helpers import local_start
from tests.conftest import MakeOrg
from tests.factories import TestOrg

pytestmark = pytest.mark.integration

RETELL_KEY = "key_retell_sdk_0123456789"


@pytest.fixture
async def org(make_org: MakeOrg) -> TestOrg:
    return await make_org(retell_api_key=RETELL_KEY)


@pytest.fixture
async def client(booking_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(booking_settings) as running:
        yield running


def retell_request(day: str) -> str:
    """A check_availability call as Retell sends it: compact JSON, non-ASCII left as is."""
    payload = {
        "name": "check_availability",
        "call": {
            "call_id": "call_sdk_signed",
            "agent_id": "agent_sdk",
            "from_number": "+12125550123",
            "to_number": "+12125550100",
            "direction": "inbound",
            "metadata": {"clinic": "Clínica Núñez"},
        },
        "args": {"date": day},
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_by_retell(body: str, key: str, *, minutes_ago: int = 0) -> dict[str, str]:
    stamp = time.time_ns() // 1_000_000 - minutes_ago * 60 * 1000
    return {
        "X-Retell-Signature": symmetric["sign"](body, key, stamp),
        "Content-Type": "application/json",
    }


async def test_a_request_signed_by_retell_is_answered(
    client: httpx.AsyncClient, org: TestOrg
) -> None:
    day = local_start(days_ahead=1).date().isoformat()
    body = retell_request(day)
    response = await client.post(
        f"/voice/retell/{org.slug}",
        content=body.encode(),
        headers=signed_by_retell(body, RETELL_KEY),
    )
    assert response.status_code == 200, response.text
    assert "is free every 30 minutes" in response.json()["result"]
    assert response.json()["date"] == day


@pytest.mark.parametrize("change", ["other arguments", "other key", "six minutes old"])
async def test_a_request_signed_by_retell_then_changed_is_refused(
    client: httpx.AsyncClient, org: TestOrg, change: str
) -> None:
    day = local_start(days_ahead=1).date().isoformat()
    body = retell_request(day)
    headers = {
        "other arguments": signed_by_retell(body, RETELL_KEY),
        "other key": signed_by_retell(body, RETELL_KEY + "x"),
        "six minutes old": signed_by_retell(body, RETELL_KEY, minutes_ago=6),
    }[change]
    sent = body.replace(day, local_start(days_ahead=2).date().isoformat())
    response = await client.post(
        f"/voice/retell/{org.slug}",
        content=(sent if change == "other arguments" else body).encode(),
        headers=headers,
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
