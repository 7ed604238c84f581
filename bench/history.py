"""History events per booking: the unit Temporal Cloud bills, and what each booking costs the
server (every event is written, and every workflow task is a round trip to the worker).

Counted on a sample of confirmed bookings once their workflows are quiet (no activity and no
workflow task pending: phase 2 done, waiting on the timer until the appointment).
"""

import asyncio
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

# What each count means, in the report's words.
COUNTED = {
    "events": "events",
    "workflow_tasks": "workflow tasks",
    "activity_tasks": "activity tasks",
    "markers": "markers (local activities)",
    "timers": "timers",
}
_QUIET_TIMEOUT_S = 60.0


def history_counts(event_types: Iterable[int]) -> dict[str, int]:
    """Events, workflow tasks completed, activity tasks scheduled, markers (one per local
    activity, or a patch) and timers started, in one history given as its event types."""
    types = list(event_types)
    return {
        "events": len(types),
        "workflow_tasks": types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        "activity_tasks": types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        "markers": types.count(EventType.EVENT_TYPE_MARKER_RECORDED),
        "timers": types.count(EventType.EVENT_TYPE_TIMER_STARTED),
    }


def summarize_counts(histories: Sequence[dict[str, int]]) -> dict[str, Any]:
    """Median, min and max of each count over the sampled histories."""
    if not histories:
        return {"sample": 0}
    summary: dict[str, Any] = {"sample": len(histories)}
    for key in COUNTED:
        values = [h[key] for h in histories]
        summary[key] = {
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
    return summary


async def history_sample(client: Client, workflow_ids: Sequence[str]) -> dict[str, Any]:
    """Wait until each workflow is quiet, then count its history; summarized."""
    counts = await asyncio.gather(*(_counts_when_quiet(client, wid) for wid in workflow_ids))
    summary = summarize_counts([c for c in counts if c is not None])
    summary["not_quiet"] = sum(c is None for c in counts)
    return summary


async def _counts_when_quiet(client: Client, workflow_id: str) -> dict[str, int] | None:
    handle = client.get_workflow_handle(workflow_id)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _QUIET_TIMEOUT_S
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            break
        if loop.time() > deadline:
            return None  # reported as not quiet rather than counted half-way
        await asyncio.sleep(0.25)
    history = await handle.fetch_history()
    return history_counts(event.event_type for event in history.events)
