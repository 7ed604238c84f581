"""Where an answer's time goes, read from the workflows' own histories.

For a sample of booked answers: request sent → workflow started on the server (HTTP, auth,
parsing, the update-with-start RPC), → first workflow task picked up by the worker (task
queue dispatch), → that task completed (phase 1: workflow code and its one local
activity), → answer received (update result back through the server and the API).
Server event times and the bench's clock are the same host clock.
"""

import asyncio
import statistics
from typing import Any
from uuid import UUID

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.load import Run, booking_id
from bench.scenarios import percentile
from core.domain.ids import booking_workflow_id

_SEGMENTS = ("to_workflow_started", "task_queue_wait", "phase1_in_worker", "back_to_caller")


async def answer_breakdown(
    client: Client, org_id: UUID, run: Run, sample: int = 40
) -> dict[str, Any]:
    """Median and p95 milliseconds of each segment over up to `sample` booked answers."""
    booked = run.booked[:sample]
    histories = await asyncio.gather(
        *(
            client.get_workflow_handle(
                booking_workflow_id(booking_id(org_id, a.call))
            ).fetch_history()
            for a in booked
        )
    )
    segments: dict[str, list[float]] = {name: [] for name in _SEGMENTS}
    for answer, history in zip(booked, histories, strict=True):
        times: dict[int, float] = {}
        for event in history.events:
            # The first of each kind: the start and phase 1's workflow task.
            times.setdefault(event.event_type, event.event_time.ToNanoseconds() / 1e9)
        started = times[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
        task_started = times[EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED]
        task_completed = times[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
        answered = answer.sent_at + answer.seconds
        segments["to_workflow_started"].append(started - answer.sent_at)
        segments["task_queue_wait"].append(task_started - started)
        segments["phase1_in_worker"].append(task_completed - task_started)
        segments["back_to_caller"].append(answered - task_completed)
    return {
        "sample": len(booked),
        **{
            name: {
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(percentile(values, 95) * 1000, 1),
            }
            for name, values in segments.items()
            if values
        },
    }
