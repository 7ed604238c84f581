"""CalendarSyncWorkflow: one provider calendar's busy times, kept in Postgres for the answer path.

Phase 1 of a booking and availability read busy blocks from Postgres, never from Google; this
workflow keeps them current. It syncs (in full the first time, incrementally after), keeps a
push channel open (renewed before it expires), and syncs again whenever the API passes on a push
notification and, because Google may drop notifications, at least every reconcile interval. It
runs, with its activities, on the side-effect task queue: no part of it is on an answer path.
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.activity_options import backoff
from workflows.failures import describe

with workflow.unsafe.imports_passed_through():
    from activities.calendar_sync import CalendarSyncActivities
    from core.temporal.models import (
        CalendarRef,
        CalendarSyncInput,
        CalendarSyncState,
        StopChannelInput,
    )

_SYNC_TIMEOUT = timedelta(minutes=5)
_SYNC_HEARTBEAT = timedelta(minutes=1)
_CHANNEL_TIMEOUT = timedelta(seconds=60)
# Past this many rounds the history is handed to a fresh run (continue-as-new).
_ROUNDS_PER_RUN = 200


@workflow.defn
class CalendarSyncWorkflow:
    """Keeps one provider calendar's busy blocks current until the provider is removed.

    Signal `changed` (no input): the calendar changed (a push notification); sync now.
    Signal `stop` (no input): close the push channel and end (from the Temporal UI).
    Query `status() -> CalendarSyncState`.
    """

    @workflow.init
    def __init__(self, start: CalendarSyncInput) -> None:
        self._changed = False
        self._stopping = False
        self._state = CalendarSyncState()

    @workflow.run
    async def run(self, start: CalendarSyncInput) -> None:
        ref = start.calendar
        for _ in range(_ROUNDS_PER_RUN):
            self._changed = False  # a notification during this round's sync is kept for the next
            if not await self._sync(ref, start):
                break  # the provider is gone
            await self._keep_channel_open(ref, start)
            await self._wait_for_change(start)
            if self._stopping:
                break
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(start)
        else:
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(start)
        await self._stop_channel(ref, start)
        await workflow.wait_condition(workflow.all_handlers_finished)

    @workflow.signal
    def changed(self) -> None:
        """The calendar changed: sync at once."""
        self._changed = True

    @workflow.signal
    def stop(self) -> None:
        """Close the push channel and end the sync."""
        self._stopping = True

    @workflow.query
    def status(self) -> CalendarSyncState:
        return self._state

    async def _sync(self, ref: CalendarRef, start: CalendarSyncInput) -> bool:
        """One sync, retried until it succeeds; False when the provider no longer exists."""
        self._state.waiting_for = "syncing"
        result = await workflow.execute_activity_method(
            CalendarSyncActivities.sync_calendar,
            ref,
            start_to_close_timeout=_SYNC_TIMEOUT,
            heartbeat_timeout=_SYNC_HEARTBEAT,
            retry_policy=backoff(start.timings),
        )
        self._state.syncs += 1
        self._state.last_result = result
        if result.removed:
            return False
        self._state.channel = result.channel
        return True

    async def _keep_channel_open(self, ref: CalendarRef, start: CalendarSyncInput) -> None:
        """Open a push channel when there is none or it expires soon. Google may refuse (an
        address it cannot reach over HTTPS): then the reconcile interval alone keeps the busy
        times fresh, and the state says why."""
        channel = self._state.channel
        renew_before = start.timings.channel_renew_before
        if channel is not None and channel.expires_at is not None:
            if channel.expires_at - renew_before > workflow.now():
                return
        self._state.waiting_for = "opening a push channel"
        try:
            channel = await workflow.execute_activity_method(
                CalendarSyncActivities.watch_calendar,
                ref,
                start_to_close_timeout=_CHANNEL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as error:
            self._state.push = f"push unavailable, reconciling only: {describe(error)}"
            workflow.logger.warning(self._state.push)
            return
        if channel is None:
            return  # the provider is gone; the next sync says so and ends this workflow
        self._state.channel = channel
        self._state.push = f"channel open until {_iso(channel.expires_at)}"

    async def _stop_channel(self, ref: CalendarRef, start: CalendarSyncInput) -> None:
        self._state.waiting_for = "stopping the push channel"
        await workflow.execute_activity_method(
            CalendarSyncActivities.stop_calendar_channel,
            StopChannelInput(calendar=ref, channel=self._state.channel),
            start_to_close_timeout=_CHANNEL_TIMEOUT,
            retry_policy=backoff(start.timings),
        )
        self._state.waiting_for = None

    async def _wait_for_change(self, start: CalendarSyncInput) -> None:
        """Until a notification, a stop, the reconcile interval, or the channel's renewal."""
        wake_in = start.timings.reconcile_interval
        channel = self._state.channel
        if channel is not None and channel.expires_at is not None:
            renew_in = channel.expires_at - start.timings.channel_renew_before - workflow.now()
            wake_in = max(min(wake_in, renew_in), timedelta(seconds=1))
        self._state.waiting_for = "a change notification or the next reconcile"
        try:
            await workflow.wait_condition(lambda: self._changed or self._stopping, timeout=wake_in)
        except TimeoutError:
            pass


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "unknown"
