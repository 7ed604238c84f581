"""What every reliability scenario shares: fast settings, a load in the background that the
scenario disrupts mid-way, and the finish (retries, then every invariant).

    async with api_client(settings) as http:
        async with background_load(http, org, calls) as load:
            await load.progress.wait_for(80)
            ...break something, then repair it...
            outcomes = await load.outcomes()
        await finish(http=http, ..., outcomes=outcomes)
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from core.infra.config import Settings
from sandbox.runner import Sandboxes
from tests.booking_helpers import NEW_YORK
from tests.conftest import Stack, make_settings
from tests.factories import TestOrg
from tests.reliability.checks import check_invariants
from tests.reliability.load import (
    BookingCall,
    CallOutcome,
    Progress,
    assert_all_answered,
    assert_first_answers,
    plan_calls,
    retry_retryable,
    run_load,
)

LOAD_SIZE = 200
CONCURRENCY = 20
# The API answers "try again" (503) after this long without phase 1's answer.
ANSWER_TIMEOUT = timedelta(seconds=10)
# A caller gives up on one HTTP request after this long: no answer at all is a failure.
CALL_TIMEOUT = 30.0


def fast_settings(stack: Stack, sandboxes: Sandboxes, **overrides: Any) -> Settings:
    """Settings for a scenario: its own task queue, the sandboxes, short retries and waits."""
    values: dict[str, Any] = {
        "activity_retry_initial_interval": timedelta(milliseconds=100),
        "activity_retry_maximum_interval": timedelta(seconds=1),
        "booking_answer_timeout": ANSWER_TIMEOUT,
        "shutdown_grace": timedelta(seconds=2),
        "db_pool_max_size": 20,
        # Twilio status callbacks go nowhere (connection refused), never to a `booking dev`.
        "public_base_url": "http://127.0.0.1:9",
        "log_format": "text",
        **sandboxes.settings_overrides(),
    }
    values.update(overrides)
    return make_settings(stack, **values)


def load_plan(prefix: str, seed: int) -> list[BookingCall]:
    """The standard load: 200 requests from two days ahead, 15 of them for a slot another
    caller also wants and 5 copies of a request (same key)."""
    first_day = datetime.now(NEW_YORK).date() + timedelta(days=2)
    return plan_calls(
        LOAD_SIZE, contested=15, copies=5, first_day=first_day, seed=seed, prefix=prefix
    )


@dataclass
class BackgroundLoad:
    progress: Progress = field(default_factory=Progress)
    task: "asyncio.Task[list[CallOutcome]] | None" = None

    async def outcomes(self) -> list[CallOutcome]:
        assert self.task is not None
        return await self.task


@asynccontextmanager
async def background_load(
    http: httpx.AsyncClient, org: TestOrg, calls: list[BookingCall]
) -> AsyncIterator[BackgroundLoad]:
    """Run the load while the block disrupts things; cancelled if the block fails."""
    load = BackgroundLoad()
    load.task = asyncio.create_task(
        run_load(
            http,
            org,
            calls,
            concurrency=CONCURRENCY,
            progress=load.progress,
            timeout=CALL_TIMEOUT,
        )
    )
    try:
        yield load
    finally:
        if not load.task.done():
            load.task.cancel()
            await asyncio.gather(load.task, return_exceptions=True)


async def finish(
    *,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    client: Client,
    sandboxes: Sandboxes,
    org: TestOrg,
    outcomes: list[CallOutcome],
    settle_timeout: float = 90,
) -> str:
    """Retry what got "try again", then check every invariant; returns a one-line report."""
    first = assert_first_answers(outcomes)
    await retry_retryable(http, org, outcomes, timeout=CALL_TIMEOUT)
    assert_all_answered(outcomes)
    settled = await check_invariants(
        pool=pool,
        client=client,
        sandboxes=sandboxes,
        org=org,
        outcomes=outcomes,
        settle_timeout=settle_timeout,
    )
    waits = sorted(o.attempts[0].took for o in outcomes)
    report = (
        f"first answers {dict(first)} (p50 {waits[len(waits) // 2]:.1f}s, "
        f"p95 {waits[len(waits) * 95 // 100]:.1f}s); bookings {dict(settled.statuses)}; "
        f"retried {sum(len(o.attempts) > 1 for o in outcomes)} callers"
    )
    print(report)
    return report
