"""The Temporal worker: registers workflows and activities, runs until told to stop."""

import asyncio
import logging

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker

from core.config import Settings
from workflows.ping import PingWorkflow

log = logging.getLogger(__name__)


def build_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool, *, task_queue: str | None = None
) -> Worker:
    """A worker for the booking task queue with every workflow and activity registered."""
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=[PingWorkflow],
        activities=[],
    )


async def run_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event
) -> None:
    """Poll until `stop` is set, then let in-flight tasks finish before returning."""
    worker = build_worker(client, settings, pool)
    async with worker:
        log.info("worker polling task queue %s", settings.temporal_task_queue)
        await stop.wait()
        log.info("worker stopping; in-flight tasks finish first")
