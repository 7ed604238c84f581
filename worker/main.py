"""The Temporal worker: registers workflows and activities, runs until told to stop."""

import asyncio
import logging

import asyncpg
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.calendar import CalendarActivities
from activities.contacts import ContactActivities
from activities.requests import RequestActivities
from activities.slots import SlotActivities
from activities.sms import SmsActivities
from core.calendar import CalendarClient
from core.config import Settings
from core.integrations import build_calendar_client, build_sms_sender
from core.scheduling import BusyTimes
from core.sms import SmsSender
from workflows.booking import BookingWorkflow

log = logging.getLogger(__name__)


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


def build_worker(
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    *,
    sms_sender: SmsSender,
    calendar: CalendarClient,
    task_queue: str | None = None,
) -> Worker:
    """A worker for the booking task queue with every workflow and activity registered."""
    busy_times = BusyTimes(calendar, calendar_timeout=settings.calendar_freebusy_timeout)
    requests, contacts, slots = (
        RequestActivities(pool, busy_times),
        ContactActivities(pool),
        SlotActivities(pool, busy_times),
    )
    sms = SmsActivities(pool, sms_sender, f"{settings.resolved_public_base_url}/twilio/status")
    calendar_activities = CalendarActivities(pool, calendar)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        # On shutdown, activities in flight (an SMS on its way, an event being created) get
        # this long to finish and report; only past it are they cancelled and retried elsewhere.
        graceful_shutdown_timeout=settings.shutdown_grace,
        workflow_runner=workflow_runner(),
        workflows=[BookingWorkflow],
        activities=[
            requests.check_request,
            contacts.resolve_contact,
            slots.reserve_slot,
            slots.confirm_booking,
            slots.release_slot,
            slots.move_slot,
            slots.restore_slot,
            slots.cancel_booking,
            sms.send_sms,
            calendar_activities.create_calendar_event,
            calendar_activities.move_calendar_event,
            calendar_activities.delete_calendar_event,
        ],
    )


async def run_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event
) -> None:
    """Poll until `stop` is set, then let in-flight tasks finish before returning."""
    sender = build_sms_sender(settings)
    worker = build_worker(
        client, settings, pool, sms_sender=sender, calendar=build_calendar_client(settings)
    )
    try:
        async with worker:
            log.info("worker polling task queue %s", settings.temporal_task_queue)
            await stop.wait()
            log.info("worker stopping; in-flight tasks finish first")
    finally:
        await sender.aclose()
