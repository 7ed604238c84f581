"""The worker registers the project's workflows and serves its own task queue."""

import uuid

import asyncpg
from temporalio.client import Client

from core.config import Settings
from worker.main import build_worker
from workflows.ping import PingWorkflow


async def test_worker_runs_registered_workflow(
    settings: Settings, temporal_client: Client, pool: asyncpg.Pool
) -> None:
    async with build_worker(temporal_client, settings, pool):
        result = await temporal_client.execute_workflow(
            PingWorkflow.run, id=f"ping-{uuid.uuid4()}", task_queue=settings.temporal_task_queue
        )
    assert result == "pong"
