"""What `booking_workers` builds, the one place `booking worker`, the tests and the bench get
their workers from: which worker polls which task queue with which slots and grace, and what
each registers."""

from datetime import timedelta

import asyncpg
from temporalio.client import Client

from core.infra.config import Settings
from core.temporal.names import side_effect_task_queue
from worker.main import booking_workers
from workflows.booking import BookingWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow


def _names(activities: object) -> set[str]:
    assert isinstance(activities, list)
    return {activity.__name__ for activity in activities}


async def test_each_worker_polls_its_queue_with_its_workflows_activities_and_limits(
    temporal_client: Client, booking_settings: Settings, pool: asyncpg.Pool
) -> None:
    settings = booking_settings.model_copy(
        update={"worker_side_effect_slots": 7, "shutdown_grace": timedelta(seconds=9)}
    )
    async with booking_workers(temporal_client, settings, pool) as workers:
        answers, side_effects = workers.answers.config(), workers.side_effects.config()
    queue = settings.temporal_task_queue
    assert (answers["task_queue"], side_effects["task_queue"]) == (
        queue,
        side_effect_task_queue(queue),
    )
    assert answers["workflows"] == [BookingWorkflow]
    assert side_effects["workflows"] == [CalendarSyncWorkflow]
    assert _names(answers["activities"]) == {"reserve_booking", "move_slot", "cancel_booking"}
    assert _names(side_effects["activities"]) == {
        "confirm_booking_with_event",
        "confirm_booking",
        "release_slot",
        "restore_slot",
        "send_sms",
        "create_calendar_event",
        "move_calendar_event",
        "delete_calendar_event",
        "sync_calendar",
        "watch_calendar",
        "stop_calendar_channel",
    }
    # Phase 2's slots are limited apart; the answer path keeps the SDK's default.
    assert side_effects["max_concurrent_activities"] == 7
    assert answers.get("max_concurrent_activities") is None
    assert answers["graceful_shutdown_timeout"] == side_effects["graceful_shutdown_timeout"]
    assert answers["graceful_shutdown_timeout"] == timedelta(seconds=9)
