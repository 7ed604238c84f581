"""The Temporal floor: the same Vapi requests answered through HTTP and Temporal, minus our work.

Two processes, started by the bench beside the API and the worker, on the same Temporal dev
server:

    python -m bench.floor app PORT    POST /voice/vapi: for each tool call, an update-with-start
                                      of `FloorWorkflow` (id from the tool-call id, its own task
                                      queue) whose `book` update returns the answer; GET /health,
                                      GET /ready (once the floor worker polls its task queue)
    python -m bench.floor worker      the worker for that task queue

The worker is built from the booking worker's own configuration (`floor_worker`): the same
workflow runner and sandbox passthrough, slots, pollers and shutdown grace as `booking worker`,
with only the task queue, the workflow and the activity swapped. So the floor moves when the
booking worker's settings move, and the difference between a booking's answer and the floor's
is what our workflow, activities and API do, not the server or the worker's tuning.
"""

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.floor_workflow import FLOOR_TASK_QUEUE, FloorWorkflow, noop
from core.infra.config import Settings
from core.infra.db import create_pool
from core.temporal.client import connect_temporal
from worker.main import booking_workers


def floor_workflow_id(tool_call_id: str) -> str:
    return f"floor-{tool_call_id}"


def floor_answer(arguments: dict[str, Any]) -> str:
    """What the load generator counts as booked, shaped like our answer."""
    return (
        f"Booked: {arguments.get('service')} with {arguments.get('provider')} "
        f"at {arguments.get('start')}."
    )


def create_floor_app(settings: Settings, task_queue: str = FLOOR_TASK_QUEUE) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The API's own connection: same data converter, same namespace.
        app.state.temporal = await connect_temporal(settings)
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", response_model=None)
    async def ready(request: Request) -> JSONResponse:
        polling = await _worker_polls(request.app.state.temporal, task_queue)
        return JSONResponse({"ready": polling}, status_code=200 if polling else 503)

    @app.post("/voice/vapi")
    async def vapi(request: Request) -> dict[str, Any]:
        message = (await request.json())["message"]
        results = []
        for call in message["toolCallList"]:
            arguments = call["function"]["arguments"]
            if isinstance(arguments, str):
                arguments = json.loads(arguments)
            answer = floor_answer(arguments)
            text = await _book(request.app.state.temporal, task_queue, call["id"], answer)
            results.append({"toolCallId": call["id"], "result": text})
        return {"results": results}

    return app


async def _book(client: Client, task_queue: str, tool_call_id: str, answer: str) -> str:
    start = WithStartWorkflowOperation(
        FloorWorkflow.run,
        answer,
        id=floor_workflow_id(tool_call_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await client.execute_update_with_start_workflow(
        FloorWorkflow.book, start_workflow_operation=start
    )


async def _worker_polls(client: Client, task_queue: str) -> bool:
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers) > 0


def floor_worker(booking_worker: Worker, task_queue: str = FLOOR_TASK_QUEUE) -> Worker:
    """A worker configured exactly as `booking_worker` (the booking worker's answer-path
    worker, never run), but polling the floor's task queue with the floor's workflow and
    activity only."""
    config = booking_worker.config()
    config["task_queue"] = task_queue
    config["workflows"] = [FloorWorkflow]
    config["activities"] = [noop]
    return Worker(**config)


async def _serve_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    client = await connect_temporal(settings)
    # The booking worker is only built, for its configuration; its pool and vendor clients are
    # never used, but booking_workers wants real ones.
    pool = await create_pool(settings)
    try:
        async with (
            booking_workers(client, settings, pool) as booking,
            floor_worker(booking.answers),
        ):
            await stop.wait()
    finally:
        await pool.close()


def main() -> int:
    settings = Settings()
    match sys.argv[1:]:
        case ["app", port]:
            # Same server and defaults as `booking api` and the baseline.
            uvicorn.run(
                create_floor_app(settings), host="127.0.0.1", port=int(port), log_level="info"
            )
        case ["worker"]:
            asyncio.run(_serve_worker(settings))
        case _:
            print("usage: python -m bench.floor app PORT | worker", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
