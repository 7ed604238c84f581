"""A 200-booking load while Twilio and Google Calendar fail one request in five (5xx and 429 with
the vendors' own error codes) and answer everything 50-300 ms late: retries absorb it all, and
nothing is sent or created twice. Five calendar inserts are refused for good: those bookings are
compensated, and the rest are not disturbed."""

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client

from sandbox.control import SandboxControl
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.conftest import Stack
from tests.factories import TestOrg
from tests.reliability.helpers import background_load, fast_settings, finish, load_plan
from tests.reliability.processes import start_worker, worker_processes

pytestmark = [pytest.mark.reliability, pytest.mark.integration]


async def _fail_one_in_five(
    vendor: SandboxControl, *, server_error: int, rate_limited: str | int, seed: int
) -> None:
    """~20% failures (half 5xx, half 429 with the vendor's code) and 50-300 ms on everything.
    Faults are consulted in order, the first failing one that hits wins: 0.1 + 0.9 * 0.11."""
    await vendor.add_fault(status=server_error, share=0.1, seed=seed)
    await vendor.add_fault(status=429, code=rate_limited, share=0.11, seed=seed + 1)
    await vendor.add_fault(latency_ms=50)
    await vendor.add_fault(latency_ms=250, share=0.3, seed=seed + 2)


async def test_vendors_failing_one_request_in_five_are_retried_to_exactly_once(
    stack: Stack,
    pool: asyncpg.Pool,
    temporal_client: Client,
    own_sandboxes: Sandboxes,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    settings = fast_settings(stack, own_sandboxes)
    await _fail_one_in_five(own_sandboxes.twilio, server_error=503, rate_limited=20429, seed=40)
    # Five inserts Google refuses for good, two of them after storing the event: those bookings
    # must end failed and compensated (the stored events deleted), with one apology each.
    inserts: dict[str, Any] = {
        "method": "POST",
        "path_contains": "/events",
        "status": 403,
        "code": "forbidden",
    }
    await own_sandboxes.calendar.add_fault(count=3, **inserts)
    await own_sandboxes.calendar.add_fault(count=2, after_processing=True, **inserts)
    await _fail_one_in_five(
        own_sandboxes.calendar, server_error=503, rate_limited="rateLimitExceeded", seed=50
    )
    # And some answers are lost after the vendor acted (a gateway error once the message or
    # the event exists): retries must find what was created, not create it again.
    lost: dict[str, Any] = {"method": "POST", "share": 0.03, "after_processing": True}
    await own_sandboxes.twilio.add_fault(status=500, seed=60, **lost)
    await own_sandboxes.calendar.add_fault(status=503, path_contains="/events", seed=70, **lost)
    with worker_processes() as workers:
        await start_worker(workers, settings, tmp_path)
        async with api_client(settings) as http:
            async with background_load(http, org, load_plan("vendors", seed=4)) as load:
                outcomes = await load.outcomes()
            await finish(
                http=http,
                pool=pool,
                client=temporal_client,
                sandboxes=own_sandboxes,
                org=org,
                outcomes=outcomes,
            )
    compensated = await pool.fetchval(
        "SELECT count(*) FROM bookings WHERE org_id = $1 AND status = 'failed'", org.id
    )
    assert compensated == 5, "each refused insert fails its booking, and nothing else does"
    # The faults really fired, in both vendors and all kinds.
    for vendor in (own_sandboxes.twilio, own_sandboxes.calendar):
        statuses = [r["status"] for r in await vendor.requests()]
        failed = sum(s in (429, 503) for s in statuses) / len(statuses)
        assert 0.12 < failed < 0.3 and 429 in statuses and 503 in statuses, (vendor, failed)
        lost_answers = [f for f in await vendor.faults() if f["after_processing"] and f["fired"]]
        assert lost_answers, vendor
