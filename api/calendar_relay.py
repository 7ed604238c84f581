"""Passes Google's calendar change notifications on to the calendar syncs, coalesced.

Google notifies on every change to a watched calendar, this system's own event inserts
included, so a burst of bookings is a burst of notifications. Each calendar gets at most one
signal per window (`calendar_notification_coalesce`) from this process: a notification starts
a short wait, notifications for the same calendar during it are absorbed, and then one signal
goes out. Every notification is thus followed by a signal within the window, and the sync it
wakes reads what that notification announced; what a lost signal misses (the process stopping
mid-wait), the reconcile catches.
"""

import asyncio
import contextlib
import logging
from uuid import UUID

from temporalio.client import Client
from temporalio.service import RPCError

from core.infra.config import Settings
from core.temporal.models import CalendarRef
from workflows.client import calendar_changed, calendar_sync_timings

log = logging.getLogger(__name__)


class CalendarChangeRelay:
    def __init__(self, temporal: Client, settings: Settings) -> None:
        self._temporal = temporal
        self._task_queue = settings.temporal_task_queue
        self._timings = calendar_sync_timings(settings)
        self._window = settings.calendar_notification_coalesce.total_seconds()
        self._waiting: dict[UUID, asyncio.Task[None]] = {}
        self._closing = asyncio.Event()

    def changed(self, calendar: CalendarRef) -> None:
        """A notification for `calendar`: its sync is signalled within the window."""
        if calendar.provider_id not in self._waiting:
            task = asyncio.create_task(self._relay(calendar))
            self._waiting[calendar.provider_id] = task

    async def _relay(self, calendar: CalendarRef) -> None:
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=self._window)
        finally:
            # Removed before the signal goes out: a notification arriving from here on starts
            # a wait of its own, so none is covered by a signal sent before it arrived.
            self._waiting.pop(calendar.provider_id, None)
        await self._signal(calendar)

    async def _signal(self, calendar: CalendarRef) -> None:
        try:
            await calendar_changed(
                self._temporal,
                calendar,
                task_queue=self._task_queue,
                timings=self._timings,
            )
        except RPCError as error:
            log.warning("calendar change not passed on (the reconcile will): %s", error.message)

    async def aclose(self) -> None:
        """On shutdown, send what is waiting now rather than lose it."""
        self._closing.set()
        await asyncio.gather(*self._waiting.values(), return_exceptions=True)
