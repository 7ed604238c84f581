"""Fixtures of the fuzz tests: a fresh org per test function (Hypothesis examples share it).
The tests talk to tests/conftest.py's `api`: the real app with its lifespan, and a real worker
behind it so that valid bookings really happen."""

from datetime import time
from uuid import UUID

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from tests.booking_helpers import local_start
from tests.conftest import MakeOrg
from tests.fuzz.harness import Ledger
from tests.fuzz.strategies import VALID_PHONES

RETELL_KEY = "key_retell_fuzz_0123456789"


@pytest.fixture
async def ledger(pool: asyncpg.Pool, temporal_client: Client, make_org: MakeOrg) -> Ledger:
    org = await make_org(retell_api_key=RETELL_KEY)
    return Ledger(pool=pool, temporal=temporal_client, org=org)


@pytest.fixture
async def seeded(api: httpx.AsyncClient, ledger: Ledger) -> Ledger:
    """The ledger with three bookings already made, one for each of the first three valid
    phones, so that reschedule and cancel calls (by id or by the caller's number) find some."""
    for days, phone in zip((4, 5, 6), VALID_PHONES[:3], strict=True):
        response = await api.post(
            "/bookings",
            json={"name": "Seed Booking", "phone": phone, "start": _ten_am(days)},
            headers={
                "Authorization": f"Bearer {ledger.org.credentials.api_key}",
                "Idempotency-Key": f"seed-{days}",
            },
        )
        assert response.status_code == 201, response.text
        ledger.learn({UUID(response.json()["booking_id"])})
    await ledger.settle()
    return ledger


def _ten_am(days_ahead: int) -> str:
    return local_start(days_ahead=days_ahead, at=time(10)).isoformat()
