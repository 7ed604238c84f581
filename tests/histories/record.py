"""Record BookingWorkflow histories of real runs, for the replay test (tests/unit/test_replay.py).

A booking's workflow lives until after the visit, so a release must replay the histories its
predecessor wrote. Before a release changes `workflows/`, record the current (landed) code's
histories and keep them under tests/histories/<name>/; `tests/unit/test_replay.py` replays
every folder there against the code under test.

    checkout=$PWD
    git worktree add --detach /tmp/landed <landed commit>
    cd /tmp/landed && make .venv/.installed
    .venv/bin/python $checkout/tests/histories/record.py \
        --out $checkout/tests/histories/<name> --note "<what that release changed>"

README's "Deploying a workflow change" has the whole procedure. The script starts its own
embedded Postgres, Temporal dev server and sandboxes, so it runs beside anything else. Of the
code it drives it uses little (`run_worker`, `request_booking`, the update, signal and query
names as registered, payloads as plain JSON) and it imports nothing from tests/: it calls the
handlers by name rather than by reference (tests/unit/test_workflow_handlers.py pins those
names) and builds no payload class a release might rename. It takes about six minutes: one
booking lives through its reminder to the end of its visit. The scenarios' names are the ones
tests/unit/test_replay.py requires of the newest folder; a race whose run did not take the path
it names stops the recording.
"""

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowHandle

from core.domain.org_spec import OpeningSpec, OrgSpec, ProviderSpec, ServiceSpec
from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.migrate import migrate
from core.services.orgs import create_org
from core.temporal.client import connect_temporal
from core.temporal.models import LifecycleResult
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import start_embedded_temporal
from sandbox.runner import running_sandboxes
from worker.main import run_worker
from workflows.client import book_input, request_booking, timings_from

ZONE = ZoneInfo("America/New_York")
CALENDAR = "dr-record@clinic.example"
# Each scenario that breaks a calendar has a provider of its own, so concurrent scenarios
# never consume each other's faults.
FLAKY_CALENDAR = "dr-flaky@clinic.example"
REFUSING_CALENDAR = "dr-refused@clinic.example"
QUICK_CALENDAR = "dr-quick@clinic.example"
RACING_CALENDAR = "dr-race@clinic.example"
UNDOING_CALENDAR = "dr-undo@clinic.example"
# The races: a reschedule sent this long before the reminder falls due holds the workflow's
# lock while its calendar move is slowed by RACE_LATENCY, so the reminder's timer fires
# meanwhile; and a reminder's text slowed as much holds the lock while a reschedule arrives.
RACE_HEAD_START = timedelta(seconds=4)
RACE_LATENCY = timedelta(seconds=8)


def _spec() -> OrgSpec:
    return OrgSpec(
        slug="history-clinic",
        name="History Clinic",
        time_zone=ZONE.key,
        sms_sender="+12125550100",
        min_notice_minutes=0,
        providers=[
            ProviderSpec(name="Dr. Record", calendar_id=CALENDAR),
            ProviderSpec(name="Dr. Flaky", calendar_id=FLAKY_CALENDAR),
            ProviderSpec(name="Dr. Refused", calendar_id=REFUSING_CALENDAR),
            ProviderSpec(name="Dr. Quick", calendar_id=QUICK_CALENDAR),
            ProviderSpec(name="Dr. Race", calendar_id=RACING_CALENDAR),
            ProviderSpec(name="Dr. Undo", calendar_id=UNDOING_CALENDAR),
        ],
        services=[
            ServiceSpec(name="Consultation", duration_minutes=30),
            ServiceSpec(name="Quick", duration_minutes=5),
        ],
        hours=[
            OpeningSpec(weekday=day, opens=time(0), closes=time(23, 59))
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    )


class Recorder:
    def __init__(self, client: Client, settings: Settings, org: Any, out: Path) -> None:
        self.client, self.settings, self.org, self.out = client, settings, org, out

    async def book(self, start: datetime, **fields: object) -> WorkflowHandle[Any, Any]:
        """Book, and return the handle of the booking's workflow (whatever the answer)."""
        fields.setdefault("name", "Sam Wilson")
        fields.setdefault("provider", "Dr. Record")
        fields.setdefault("phone", f"+1212555{uuid4().int % 10000:04d}")
        request = book_input(
            org_id=self.org.id,
            org_slug=self.org.slug,
            idempotency_key=f"record-{uuid4()}",
            start=start.isoformat(),
            **fields,
        )
        await request_booking(
            self.client,
            request,
            task_queue=self.settings.temporal_task_queue,
            timings=timings_from(self.settings),
        )
        return self.client.get_workflow_handle(f"booking-{request.booking_id}")

    async def save(self, name: str, handle: WorkflowHandle[Any, Any]) -> None:
        history = await handle.fetch_history()
        (self.out / f"{name}.json").write_text(history.to_json())
        print(f"recorded {name}: {len(history.events)} events", flush=True)


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 600) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.2)


async def _status(handle: WorkflowHandle[Any, Any]) -> str:
    return str(await _field(handle, "status"))


async def _field(handle: WorkflowHandle[Any, Any], name: str) -> Any:
    """One field of the workflow's `status` query (a dict, or a model in older releases)."""
    state = await handle.query("status")
    return state[name] if isinstance(state, dict) else getattr(state, name)


async def _is(handle: WorkflowHandle[Any, Any], status: str) -> bool:
    return await _status(handle) == status


async def scenarios(rec: Recorder, sandboxes: Any) -> None:
    day = datetime.now(ZONE).date() + timedelta(days=3)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=ZONE)

    async def confirmed(start: datetime) -> WorkflowHandle[Any, Any]:
        handle = await rec.book(start)
        await _until(lambda: _is(handle, "confirmed"), "confirmed")
        return handle

    # Booked and confirmed: the workflow now waits for the reminder and the visit.
    await rec.save("confirmed_waiting", await confirmed(at(9)))
    # Taken, and refused input.
    await rec.save("unavailable", await rec.book(at(9), phone="+12125550111"))
    await rec.save("invalid", await rec.book(at(10), phone="12"))
    # Phase 1 cannot run (an org that does not exist): "try again", the run fails.
    ghost = book_input(
        org_id=uuid4(), org_slug="ghost", idempotency_key="ghost", start=at(11).isoformat()
    )
    ghost = ghost.model_copy(update={"name": "Ann Lee", "phone": "+12125550112"})
    await request_booking(
        rec.client,
        ghost,
        task_queue=rec.settings.temporal_task_queue,
        timings=timings_from(rec.settings),
    )
    await rec.save("phase1_error", rec.client.get_workflow_handle(f"booking-{ghost.booking_id}"))
    # The calendar refuses: compensated, failed.
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", path_contains=REFUSING_CALENDAR, method="POST", count=1
    )
    failed = await rec.book(at(12), provider="Dr. Refused")
    await _until(lambda: _is(failed, "failed"), "compensation")
    with contextlib.suppress(Exception):
        await failed.result()
    await rec.save("compensated", failed)
    # The calendar keeps failing: held, phase 2 still retrying (open at a deploy).
    await sandboxes.calendar.add_fault(status=503, path_contains=FLAKY_CALENDAR, method="POST")
    held = await rec.book(at(13), provider="Dr. Flaky")
    await _until(lambda: _waiting_for(held, "attempt 3 failed"), "three failed attempts")
    await rec.save("held_retrying", held)
    # Changes by update (what the API sends) and by signal (what the Temporal UI sends).
    moved = await confirmed(at(14))
    await moved.execute_update(
        "reschedule_booking",
        {"start": at(15).isoformat()},
        result_type=LifecycleResult,
    )
    await rec.save("rescheduled_by_update", moved)
    cancelled = await confirmed(at(16))
    await cancelled.execute_update(
        "cancel_booking", {"reason": "patient called"}, result_type=LifecycleResult
    )
    await cancelled.result()
    await rec.save("cancelled_by_update", cancelled)
    signalled = await confirmed(at(17))
    await signalled.signal("reschedule", {"start": at(18).isoformat()})
    await _until(lambda: _changes(signalled, 1), "the signalled move")
    await signalled.signal("cancel", {"reason": "clinic closed"})
    await signalled.result()
    await rec.save("moved_and_cancelled_by_signal", signalled)


async def _waiting_for(handle: WorkflowHandle[Any, Any], text: str) -> bool:
    return text in (await _field(handle, "waiting_for") or "")


async def _changes(handle: WorkflowHandle[Any, Any], count: int) -> bool:
    return len(await _field(handle, "changes")) >= count


async def reminder_due_during_reschedule(rec: Recorder, sandboxes: Any) -> None:
    """The reminder's timer fires while a reschedule holds the lock (its calendar move slowed
    by the sandbox): the loop finds the start already moved and re-arms; the move's wake then
    cancels that timer for the new one. Nothing is sent for the old time. The history is
    checked for the race before it is kept."""
    lead = rec.settings.reminder_lead_time
    start = datetime.now(ZONE).replace(microsecond=0) + lead + timedelta(seconds=15)
    handle = await rec.book(start, provider="Dr. Race")
    await _until(lambda: _is(handle, "confirmed"), "the racing booking confirmed")
    await sandboxes.calendar.add_fault(
        latency_ms=int(RACE_LATENCY.total_seconds() * 1000),
        path_contains=RACING_CALENDAR,
        method="PATCH",
        count=1,
    )
    send_at = start - lead - RACE_HEAD_START
    await asyncio.sleep(max(0.0, (send_at - datetime.now(ZONE)).total_seconds()))
    moved_to = start + timedelta(days=1)
    await _rescheduled(handle, moved_to)
    await _until(
        lambda: _reminder_due_is(handle, moved_to - lead), "the reminder re-armed for the new start"
    )
    if await _field(handle, "reminder_sent_for") is not None:
        raise SystemExit("the racing booking was reminded of the time it was moved from")
    history = await handle.fetch_history()
    if not _during(history.events, "move_calendar_event", "timer_fired_event_attributes"):
        raise SystemExit("the reminder's timer did not fire during the move: no race recorded")
    await rec.save("reminder_due_during_reschedule", handle)


async def move_undone_while_reminder_due(rec: Recorder, sandboxes: Any) -> None:
    """As reminder_due_during_reschedule, but the calendar then refuses the move (slowly), so
    the slot is moved back (restore_slot) and the booking keeps its time; then cancelled."""
    lead = rec.settings.reminder_lead_time
    start = datetime.now(ZONE).replace(microsecond=0) + lead + timedelta(seconds=15)
    handle = await rec.book(start, provider="Dr. Undo")
    await _until(lambda: _is(handle, "confirmed"), "the undone booking confirmed")
    await sandboxes.calendar.add_fault(
        status=403,
        code="forbidden",
        latency_ms=int(RACE_LATENCY.total_seconds() * 1000),
        path_contains=UNDOING_CALENDAR,
        method="PATCH",
        count=1,
    )
    send_at = start - lead - RACE_HEAD_START
    await asyncio.sleep(max(0.0, (send_at - datetime.now(ZONE)).total_seconds()))
    result = await handle.execute_update(
        "reschedule_booking",
        {"start": (start + timedelta(days=1)).isoformat()},
        result_type=LifecycleResult,
    )
    if result.outcome != "error":
        raise SystemExit(f"the refused move was answered {result.outcome}: {result.message}")
    history = await handle.fetch_history()
    if not _during(history.events, "move_calendar_event", "timer_fired_event_attributes"):
        raise SystemExit("the reminder's timer did not fire during the move: no race recorded")
    # Then cancelled: the workflow goes on after the undone move, so a release that issues
    # other commands at its end (a woken loop) cannot replay this history unnoticed.
    await handle.execute_update(
        "cancel_booking", {"reason": "patient called"}, result_type=LifecycleResult
    )
    await handle.result()
    await rec.save("move_undone_while_reminder_due", handle)


async def rescheduled_during_reminder(rec: Recorder, sandboxes: Any) -> None:
    """A reschedule arrives while the reminder holds the lock (its text slowed by the sandbox):
    it waits for the lock, then moves the booking; the reminder for the new time is re-armed.
    Twilio faults cannot be scoped to one booking, so this runs when no other text is due."""
    lead = rec.settings.reminder_lead_time
    phone = "+12125550177"
    start = datetime.now(ZONE).replace(microsecond=0) + lead + timedelta(seconds=10)
    handle = await rec.book(start, provider="Dr. Race", phone=phone)
    await _until(lambda: _is(handle, "confirmed"), "the reminded booking confirmed")
    await sandboxes.twilio.add_fault(
        latency_ms=int(RACE_LATENCY.total_seconds() * 1000),
        path_contains="/Messages.json",
        method="POST",
        count=1,
    )

    async def reminding() -> bool:
        pending = await sandboxes.twilio.unanswered(path_contains="/Messages.json")
        return any((request["body"] or {}).get("To") == phone for request in pending)

    await _until(reminding, "the reminder's text in flight", timeout=lead.total_seconds() + 60)
    moved_to = start + timedelta(days=2)  # a day clear of the other race's new time
    await _rescheduled(handle, moved_to)
    if await _field(handle, "reminder_sent_for") is None:
        raise SystemExit("the reminder was not sent before the move")
    await _until(
        lambda: _reminder_due_is(handle, moved_to - lead), "the reminder re-armed for the new start"
    )
    history = await handle.fetch_history()
    accepted = "workflow_execution_update_accepted_event_attributes"
    if not _during(history.events, "send_sms", accepted):
        raise SystemExit("the reschedule did not arrive during the reminder: no race recorded")
    await rec.save("rescheduled_during_reminder", handle)


async def _rescheduled(handle: WorkflowHandle[Any, Any], start: datetime) -> None:
    result = await handle.execute_update(
        "reschedule_booking", {"start": start.isoformat()}, result_type=LifecycleResult
    )
    if result.outcome != "rescheduled":
        raise SystemExit(f"the racing reschedule was answered {result.outcome}: {result.message}")


async def _reminder_due_is(handle: WorkflowHandle[Any, Any], due: datetime) -> bool:
    value = await _field(handle, "reminder_due_at")
    return value is not None and datetime.fromisoformat(str(value)) == due


def _during(events: Any, activity: str, attributes: str) -> bool:
    """Whether an event with `attributes` happened while an `activity` was in flight (between
    its ACTIVITY_TASK_SCHEDULED and its completion or failure), in the order the server recorded
    them."""
    running: int | None = None  # the event id of the scheduled activity, while it runs
    for event in events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == activity:
                running = event.event_id
        elif event.HasField("activity_task_completed_event_attributes"):
            if event.activity_task_completed_event_attributes.scheduled_event_id == running:
                running = None
        elif event.HasField("activity_task_failed_event_attributes"):
            if event.activity_task_failed_event_attributes.scheduled_event_id == running:
                running = None
        elif event.HasField(attributes) and running is not None:
            return True
    return False


async def _then_the_texts_race(
    rec: Recorder, sandboxes: Any, whole_life_reminded: asyncio.Event
) -> None:
    """Every scenario but the whole life; the one that slows every text runs last, alone, once
    no other scenario has a text left to send."""
    await asyncio.gather(
        scenarios(rec, sandboxes),
        reminder_due_during_reschedule(rec, sandboxes),
        move_undone_while_reminder_due(rec, sandboxes),
    )
    await whole_life_reminded.wait()
    await rescheduled_during_reminder(rec, sandboxes)


async def whole_life(rec: Recorder, reminded: asyncio.Event) -> None:
    """A short visit soon: confirmed, reminded, and the workflow completes after the visit."""
    start = datetime.now(ZONE).replace(microsecond=0) + timedelta(seconds=40)
    handle = await rec.book(start, service="Quick", provider="Dr. Quick")

    async def reminder_sent() -> bool:
        return await _field(handle, "reminder_sent_for") is not None

    await _until(reminder_sent, "the whole life's reminder")
    reminded.set()
    await handle.result()
    await rec.save("reminded_and_completed", handle)


async def main(out: Path, note: str | None) -> None:
    # SIGTERM stops the run as Ctrl-C does, through the `finally` blocks that stop the servers.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="record-histories-"))
    postgres = EmbeddedPostgres(root / "pg")
    dsn = await asyncio.to_thread(postgres.start)
    try:
        await migrate(dsn)
        temporal = await start_embedded_temporal(
            database_file=None, port=None, ui_port=None, log_file=root / "temporal.log"
        )
        try:
            async with running_sandboxes() as sandboxes:
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    database_url=dsn,
                    temporal_address=temporal.address,
                    temporal_task_queue="record",
                    activity_retry_initial_interval=timedelta(milliseconds=200),
                    activity_retry_maximum_interval=timedelta(seconds=1),
                    reminder_lead_time=timedelta(seconds=20),
                    completion_grace=timedelta(seconds=1),
                    **sandboxes.settings_overrides(),
                )
                await record(settings, sandboxes, out, note)
        finally:
            await temporal.stop()
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)  # the servers' data: the histories are saved


async def record(settings: Settings, sandboxes: Any, out: Path, note: str | None) -> None:
    pool = await create_pool(settings)
    client = await connect_temporal(settings)
    credentials = await create_org(pool, _spec())
    org = argparse.Namespace(id=UUID(credentials.org_id), slug=credentials.slug)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(client, settings, pool, stop))
    rec = Recorder(client, settings, org, out)
    try:
        reminded = asyncio.Event()
        await asyncio.gather(
            whole_life(rec, reminded), _then_the_texts_race(rec, sandboxes, reminded)
        )
    finally:
        stop.set()
        await worker
        await pool.close()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    manifest: dict[str, Any] = {
        "recorded_at": datetime.now(UTC).isoformat(),
        "commit": commit,
        "histories": sorted(p.name for p in out.glob("*.json") if p.name != "manifest.json"),
    }
    if note:
        manifest["note"] = note
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--note", help="what this release changed, kept in manifest.json")
    args = parser.parse_args()
    asyncio.run(main(args.out, args.note))
    sys.exit(0)
