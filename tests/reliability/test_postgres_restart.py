"""Postgres stopped (fast shutdown) in the middle of a 200-booking load and started again on the
same data directory and socket: activities retry through the outage, callers hear "try again"
at worst, and every booking still ends right."""

import asyncio
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from core.infra.db import create_pool
from devstack.postgres import EmbeddedPostgres
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.conftest import Stack
from tests.factories import create_test_org
from tests.reliability.helpers import background_load, fast_settings, finish, load_plan
from tests.reliability.processes import start_worker, worker_processes

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

OUTAGE_S = 3


async def test_postgres_restart_mid_load_is_retried_through(
    stack: Stack,
    temporal_client: Client,
    own_sandboxes: Sandboxes,
    own_postgres: EmbeddedPostgres,
    tmp_path: Path,
) -> None:
    dsn = own_postgres.dsn
    settings = fast_settings(stack, own_sandboxes, database_url=dsn)
    async with await create_pool(settings) as setup:
        org = await create_test_org(setup)
    with worker_processes() as workers:
        await start_worker(workers, settings, tmp_path)
        async with api_client(settings) as http:
            async with background_load(http, org, load_plan("postgres", seed=3)) as load:
                await load.progress.wait_for(80)
                await asyncio.to_thread(own_postgres.stop)
                await asyncio.sleep(OUTAGE_S)
                assert await asyncio.to_thread(own_postgres.start) == dsn
                outcomes = await load.outcomes()
            # A pool opened after the outage, so the checks see no connection it broke.
            pool: asyncpg.Pool
            async with await create_pool(settings) as pool:
                await finish(
                    http=http,
                    pool=pool,
                    client=temporal_client,
                    sandboxes=own_sandboxes,
                    org=org,
                    outcomes=outcomes,
                )
