"""Google's change notifications reach each calendar's sync coalesced: one signal per calendar
per window, and what is waiting when the API stops is sent, not lost."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any, cast

from temporalio.client import Client

from api.calendar_relay import CalendarChangeRelay
from core.domain.ids import calendar_sync_workflow_id
from core.infra.config import Settings
from core.temporal.models import CalendarRef, CalendarSyncInput
from core.temporal.names import side_effect_task_queue
from tests.booking_helpers import wait_until
from workflows.calendar_sync import CalendarSyncWorkflow


class RecordingTemporal:
    """Stands in for the Temporal client: records each signal-with-start it is asked for."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    async def start_workflow(self, workflow: object, arg: object, **options: Any) -> None:
        self.started.append({"input": arg, **options})


def _relay(window: timedelta) -> tuple[CalendarChangeRelay, RecordingTemporal]:
    temporal = RecordingTemporal()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, temporal_task_queue="relay-test", calendar_notification_coalesce=window
    )
    return CalendarChangeRelay(cast(Client, temporal), settings), temporal


def _calendar() -> CalendarRef:
    return CalendarRef(org_id=uuid.uuid4(), provider_id=uuid.uuid4())


async def test_notifications_within_the_window_wake_each_calendar_once() -> None:
    relay, temporal = _relay(timedelta(milliseconds=100))
    busy, quiet = _calendar(), _calendar()
    for _ in range(5):
        relay.changed(busy)
    relay.changed(quiet)
    assert temporal.started == []  # nothing before the window is over

    await wait_until(lambda: len(temporal.started) >= 2, timeout=5, what="two signals")
    await asyncio.sleep(0.3)  # time for a third, which must not come

    ids = sorted(s["id"] for s in temporal.started)
    expected = sorted(calendar_sync_workflow_id(c.provider_id) for c in (busy, quiet))
    assert ids == expected
    assert all(s["start_signal"] == CalendarSyncWorkflow.changed.__name__ for s in temporal.started)
    queue = side_effect_task_queue("relay-test")
    assert all(s["task_queue"] == queue for s in temporal.started)
    for started in temporal.started:
        calendar = cast(CalendarSyncInput, started["input"]).calendar
        assert started["id"] == calendar_sync_workflow_id(calendar.provider_id)

    # A notification after the signal went out starts a wait of its own.
    relay.changed(busy)
    await wait_until(lambda: len(temporal.started) == 3, timeout=5, what="a third signal")
    assert temporal.started[-1]["id"] == calendar_sync_workflow_id(busy.provider_id)
    await relay.aclose()


async def test_what_waits_at_shutdown_is_sent_at_once() -> None:
    relay, temporal = _relay(timedelta(minutes=5))
    calendar = _calendar()
    relay.changed(calendar)

    await asyncio.wait_for(relay.aclose(), timeout=5)

    assert [s["id"] for s in temporal.started] == [calendar_sync_workflow_id(calendar.provider_id)]
