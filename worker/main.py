"""The Temporal worker: registers workflows and activities, runs until told to stop."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, get_args

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.calendar import CalendarActivities
from activities.calendar_sync import CalendarSyncActivities
from activities.confirmation import ConfirmationActivities
from activities.reservations import ReservationActivities
from activities.slots import SlotActivities
from activities.sms import SmsActivities
from core.infra.config import Settings
from core.repositories import calendar_syncs as sync_repo
from core.services.scheduling import CatalogCache
from core.temporal.names import side_effect_task_queue
from core.vendors.calendar import CalendarClient
from core.vendors.integrations import build_calendar_client, build_sms_sender
from core.vendors.sms import SmsSender
from workflows.booking import BookingWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow
from workflows.client import ensure_calendar_syncs

log = logging.getLogger(__name__)


# Every workflow type, for the replay test; each worker registers its own.
WORKFLOWS = [BookingWorkflow, CalendarSyncWorkflow]


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox our workflows run in.

    The sandbox re-imports a workflow's modules for every new run unless they are passed
    through; ours keep no module-level state (constants, classes and functions only), so every
    module is passed through, which saves that per-booking cost. The price: the sandbox's
    restricted proxies only wrap modules it imports itself, so it still refuses the builtins
    (open(), input()) but no longer calls such as datetime.now(), random.random(), time.time()
    or socket I/O. tests/unit/test_workflow_determinism.py keeps those out of workflows/
    instead; tests/integration/test_workflow_sandbox.py shows both sides on the real server.
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    )


WorkerRole = Literal["all", "answers", "side-effects"]
WORKER_ROLES: tuple[WorkerRole, ...] = get_args(WorkerRole)


@dataclass(frozen=True)
class BookingWorkers:
    """The two workers of one process.

    `answers` polls the booking task queue: workflow tasks and the local activities of the
    answer path (phase 1, moves, cancellations), everything a waiting caller depends on.
    `side_effects` polls its own task queue (`core.temporal.names.side_effect_task_queue`):
    the calendar, SMS and compensation activities and the calendar syncs (workflows and
    activities), with a slot limit of their own, so a burst of phase 2 work waits on the server
    instead of competing with answers.
    """

    answers: Worker
    side_effects: Worker

    @contextlib.asynccontextmanager
    async def running(self, role: "WorkerRole" = "all") -> AsyncIterator[None]:
        """Poll the role's workers until the block exits, then let work in flight finish
        (graceful). Separate processes for the two roles keep a burst of side effects, and the
        vendor SDKs' CPU work in threads, from holding the answer path's interpreter lock."""
        async with contextlib.AsyncExitStack() as running:
            if role in ("all", "side-effects"):
                await running.enter_async_context(self.side_effects)
            if role in ("all", "answers"):
                await running.enter_async_context(self.answers)
            yield


@contextlib.asynccontextmanager
async def booking_workers(
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    sms_sender: SmsSender | None = None,
    calendar: CalendarClient | None = None,
) -> AsyncIterator[BookingWorkers]:
    """Both workers for `settings`' task queue, every workflow and activity registered, built
    but not polling: `booking worker`, the tests and the bench all build them here.

    The vendor clients are the ones `settings` names unless given; those built here are closed
    when the block exits, given ones are left to their owner.
    """
    async with contextlib.AsyncExitStack() as owned:
        if sms_sender is None:
            sms_sender = build_sms_sender(settings)
            owned.push_async_callback(sms_sender.aclose)
        if calendar is None:
            calendar = build_calendar_client(settings)
        yield _build_workers(client, settings, pool, sms_sender=sms_sender, calendar=calendar)


def _build_workers(
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    sms_sender: SmsSender,
    calendar: CalendarClient,
) -> BookingWorkers:
    """The workers' activities bound to their clients, and which worker registers what."""
    queue = settings.temporal_task_queue
    catalogs = CatalogCache(pool)
    reservations = ReservationActivities(pool, catalogs)
    slots = SlotActivities(pool, catalogs)
    sms = SmsActivities(pool, sms_sender, f"{settings.resolved_public_base_url}/twilio/status")
    calendar_activities = CalendarActivities(pool, calendar)
    confirmation = ConfirmationActivities(pool, calendar_activities, sms)
    calendar_sync = CalendarSyncActivities(
        pool,
        calendar,
        notification_url=f"{settings.resolved_public_base_url}/calendar/notifications",
        channel_ttl=settings.calendar_channel_ttl,
    )
    answers = Worker(
        client,
        task_queue=queue,
        graceful_shutdown_timeout=settings.shutdown_grace,
        workflow_runner=workflow_runner(),
        workflows=[BookingWorkflow],
        # Local activities only: they run inside the workflow task that needs them.
        activities=[reservations.reserve_booking, slots.move_slot, slots.cancel_booking],
    )
    side_effects = Worker(
        client,
        task_queue=side_effect_task_queue(queue),
        # On shutdown, activities in flight (an SMS on its way, an event being created) get
        # this long to finish and report; only past it are they cancelled and retried elsewhere.
        graceful_shutdown_timeout=settings.shutdown_grace,
        max_concurrent_activities=settings.worker_side_effect_slots,
        # The calendar syncs are side effects through and through: their workflow tasks too
        # stay off the answer path's worker.
        workflow_runner=workflow_runner(),
        workflows=[CalendarSyncWorkflow],
        activities=[
            confirmation.confirm_booking_with_event,
            slots.confirm_booking,
            slots.release_slot,
            slots.restore_slot,
            sms.send_sms,
            calendar_activities.create_calendar_event,
            calendar_activities.move_calendar_event,
            calendar_activities.delete_calendar_event,
            calendar_sync.sync_calendar,
            calendar_sync.watch_calendar,
            calendar_sync.stop_calendar_channel,
        ],
    )
    return BookingWorkers(answers=answers, side_effects=side_effects)


async def run_worker(
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    role: WorkerRole = "all",
) -> None:
    """Poll until `stop` is set, then let in-flight tasks finish before returning. The
    side-effect role also keeps every provider calendar's sync running."""
    async with booking_workers(client, settings, pool) as workers, workers.running(role):
        log.info("worker polling task queue %s (%s)", settings.temporal_task_queue, role)
        supervising = None
        if role != "answers" and settings.calendar_sync_autostart:
            supervising = asyncio.create_task(keep_calendar_syncs_running(client, settings, pool))
        await stop.wait()
        if supervising is not None:
            supervising.cancel()
        log.info("worker stopping; in-flight tasks finish first")


async def keep_calendar_syncs_running(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    """Every provider calendar has a running sync: checked at start and every reconcile
    interval, so a provider added by any means (API, CLI, SQL) is synced soon after."""
    while True:
        try:
            calendars = await sync_repo.provider_calendars(pool)
            await ensure_calendar_syncs(client, calendars, settings=settings)
        except Exception:  # Temporal or Postgres briefly away: the next round tries again
            log.exception("could not check the calendar syncs; trying again later")
        await asyncio.sleep(settings.calendar_reconcile_interval.total_seconds())
