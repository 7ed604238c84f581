"""Postgres down: callers are told to try again (never "internal error"), and the same request
asked again once it is back gets a real answer, not the earlier "try again"."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.migrate import migrate
from devstack.postgres import EmbeddedPostgres
from tests.apiclient import api_client
from tests.booking_helpers import book, local_day, local_start, unique_phone
from tests.conftest import running_worker
from tests.factories import TestOrg, create_test_org
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A Postgres this test may stop; the session's one stays up for the others."""
    server = EmbeddedPostgres(tmp_path / "pg")
    try:
        await migrate(await asyncio.to_thread(server.start))
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_settings(booking_settings: Settings, own_postgres: EmbeddedPostgres) -> Settings:
    return booking_settings.model_copy(update={"database_url": own_postgres.dsn})


@pytest.fixture
async def org(outage_settings: Settings) -> TestOrg:
    pool = await create_pool(outage_settings)
    try:
        return await create_test_org(pool)
    finally:
        await pool.close()


async def test_with_postgres_down_rest_is_503_and_voice_says_try_again(
    outage_settings: Settings, own_postgres: EmbeddedPostgres, org: TestOrg
) -> None:
    async with api_client(outage_settings) as client:
        await asyncio.to_thread(own_postgres.stop)
        listed = await client.get(
            "/bookings", headers={"Authorization": f"Bearer {org.credentials.api_key}"}
        )
        spoken = await client.post(
            "/voice/vapi",
            json=vapi_message(vapi_call("check_availability", {"date": str(local_day(1))})),
            headers=vapi_headers(org),
        )
        await asyncio.to_thread(own_postgres.start)
    assert listed.status_code == 503, listed.text
    assert listed.headers["Retry-After"] == "5"
    assert "try again" in listed.json()["error"]["message"]
    assert spoken.status_code == 200, spoken.text
    assert "try again" in spoken.json()["error"]


async def test_after_a_phase_one_failure_the_same_key_books_once_postgres_is_back(
    outage_settings: Settings,
    own_postgres: EmbeddedPostgres,
    temporal_client: Client,
    org: TestOrg,
) -> None:
    pool = await create_pool(outage_settings)
    try:
        async with running_worker(temporal_client, outage_settings, pool):
            key, phone, start = "call-outage-1", unique_phone(), local_start(5)
            await asyncio.to_thread(own_postgres.stop)
            first = await book(
                temporal_client, outage_settings, org, start=start, key=key, phone=phone
            )
            await asyncio.to_thread(own_postgres.start)
            again = await book(
                temporal_client, outage_settings, org, start=start, key=key, phone=phone
            )
            once_more = await book(
                temporal_client, outage_settings, org, start=start, key=key, phone=phone
            )
        rows = await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id)
    finally:
        await pool.close()
    assert first.outcome == "error", first
    assert (again.outcome, once_more.outcome) == ("booked", "booked"), (again, once_more)
    assert again.booking_id == once_more.booking_id
    assert rows == 1
