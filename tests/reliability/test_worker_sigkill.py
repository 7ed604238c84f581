"""A `booking worker` process SIGKILLed in the middle of a 200-booking load, then replaced."""

from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.conftest import Stack
from tests.factories import TestOrg
from tests.reliability.helpers import background_load, fast_settings, finish, load_plan
from tests.reliability.processes import start_worker, worker_processes

pytestmark = [pytest.mark.reliability, pytest.mark.integration]


async def test_worker_sigkill_mid_load_loses_nothing_and_does_nothing_twice(
    stack: Stack,
    pool: asyncpg.Pool,
    temporal_client: Client,
    own_sandboxes: Sandboxes,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    settings = fast_settings(stack, own_sandboxes)
    # Slow vendors keep phase-2 calls (calendar inserts, SMS sends) in flight at the kill.
    await own_sandboxes.calendar.add_fault(latency_ms=150)
    await own_sandboxes.twilio.add_fault(latency_ms=150)
    with worker_processes() as workers:
        first = await start_worker(workers, settings, tmp_path)
        async with api_client(settings) as http:
            async with background_load(http, org, load_plan("kill", seed=1)) as load:
                await load.progress.wait_for(80)
                # Held means phase 2 (calendar, SMS, confirm) has not finished: it is in flight.
                held = await pool.fetchval(
                    "SELECT count(*) FROM bookings WHERE org_id = $1 AND status = 'held'", org.id
                )
                first.kill()
                assert held > 0, "the kill came after phase 2 was done: it tested nothing"
                await start_worker(workers, settings, tmp_path)
                outcomes = await load.outcomes()
            await finish(
                http=http,
                pool=pool,
                client=temporal_client,
                sandboxes=own_sandboxes,
                org=org,
                outcomes=outcomes,
            )
