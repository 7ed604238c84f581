"""Reschedule, cancel and reminders on the running BookingWorkflow, on the real stack.

One module because reschedule, cancel and reminders are the changes one running BookingWorkflow
accepts after it confirms, and the cases share the `reschedule`, `event_start` and `sms_kinds`
helpers that read that workflow's effects.
"""

import asyncio
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowHandle

from core.domain.ids import booking_workflow_id
from core.temporal.models import BookingWorkflowResult, LifecycleResult, RescheduleChange
from core.temporal.names import APPOINTMENT_START, BOOKING_STATUS
from core.vendors.calendar import event_id_for_booking
from sandbox.runner import Sandboxes
from tests.booking_helpers import (
    BookingEnv,
    local_start,
    unique_phone,
    wait_for_status,
    wait_until,
)
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message
from workflows.booking import BookingWorkflow
from workflows.client import booking_workflow, reschedule_booking

pytestmark = pytest.mark.integration


def workflow(
    client: Client, booking_id: UUID
) -> WorkflowHandle[BookingWorkflow, BookingWorkflowResult]:
    return booking_workflow(client, booking_workflow_id(booking_id))


async def reschedule(client: Client, booking_id: UUID, start: datetime) -> LifecycleResult:
    return await reschedule_booking(
        client, booking_workflow_id(booking_id), RescheduleChange(start=start.isoformat())
    )


async def event_start(sandboxes: Sandboxes, org: TestOrg, booking_id: UUID) -> datetime:
    [event] = [
        e
        for e in await sandboxes.calendar.events(org.calendar_id)
        if e["id"] == event_id_for_booking(booking_id)
    ]
    return datetime.fromisoformat(event["start"]["dateTime"])


async def sms_kinds(pool: asyncpg.Pool, booking_id: UUID, timeout: float = 15) -> list[str]:
    """The booking's SMS kinds, once the last spawned send has had time to land."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await pool.fetch(
            "SELECT kind, status FROM sms_messages WHERE booking_id = $1 ORDER BY created_at",
            booking_id,
        )
        if all(r["status"] != "pending" for r in rows) or (
            asyncio.get_running_loop().time() > deadline
        ):
            return [r["kind"] for r in rows]
        await asyncio.sleep(0.1)


async def wait_for_kind(
    pool: asyncpg.Pool, booking_id: UUID, kind: str, timeout: float = 20
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while kind not in await sms_kinds(pool, booking_id, timeout=0):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {kind} SMS for {booking_id}")
        await asyncio.sleep(0.2)


async def test_reschedule_to_a_free_slot_moves_slot_event_and_search_attribute(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    booking_id = await booking_env.book_confirmed(local_start(2, time(10)))
    new_start = local_start(2, time(15, 30))
    result = await reschedule(temporal_client, booking_id, new_start)
    assert result.outcome == "rescheduled"
    assert result.start == new_start
    assert "3:30 PM" in result.message
    row = await pool.fetchrow(
        "SELECT status::text, starts_at FROM bookings WHERE id = $1", booking_id
    )
    assert (row["status"], row["starts_at"]) == ("confirmed", new_start)
    assert await event_start(sandboxes, org, booking_id) == new_start
    await wait_for_kind(pool, booking_id, "rescheduled")
    trail = await pool.fetch(
        "SELECT from_status::text, to_status::text, starts_at FROM booking_events "
        "WHERE booking_id = $1 ORDER BY id",
        booking_id,
    )
    assert trail[-1]["starts_at"] == new_start
    description = await workflow(temporal_client, booking_id).describe()
    assert description.typed_search_attributes.get(APPOINTMENT_START) == new_start
    # The same request again changes nothing.
    again = await reschedule(temporal_client, booking_id, new_start)
    assert again.outcome == "unchanged"


async def test_reschedule_to_a_taken_slot_keeps_the_old_one(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    first = await booking_env.book_confirmed(local_start(3, time(10)))
    await booking_env.book_confirmed(local_start(3, time(11)))
    result = await reschedule(temporal_client, first, local_start(3, time(11)))
    assert result.outcome == "unavailable"
    assert "already taken" in result.message
    assert result.alternatives == [
        local_start(3, at) for at in (time(11, 30), time(12), time(12, 30))
    ]
    starts_at = await pool.fetchval("SELECT starts_at FROM bookings WHERE id = $1", first)
    assert starts_at == local_start(3, time(10))
    assert await event_start(sandboxes, org, first) == local_start(3, time(10))


async def test_calendar_refusing_the_move_moves_the_slot_back(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    original = local_start(4, time(10))
    booking_id = await booking_env.book_confirmed(original)
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", method="PATCH", path_contains=org.calendar_id
    )
    result = await reschedule(temporal_client, booking_id, local_start(4, time(14)))
    assert result.outcome == "error"
    assert "calendar refused" in result.message and "10:00 AM" in result.message
    assert (
        await pool.fetchval("SELECT starts_at FROM bookings WHERE id = $1", booking_id) == original
    )
    # The time it tried is free again: someone else can book it.
    other = await booking_env.book(start=local_start(4, time(14)), phone=unique_phone())
    assert other.outcome == "booked"


async def test_cancel_twice_through_the_api(
    booking_env: BookingEnv,
    temporal_client: Client,
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    booking_id = await booking_env.book_confirmed(local_start(5, time(9)))
    headers = {"Authorization": f"Bearer {org.credentials.api_key}"}
    first = await api.post(
        f"/bookings/{booking_id}/cancel", json={"reason": "feeling better"}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "cancelled"
    row = await pool.fetchrow(
        "SELECT status::text, status_reason FROM bookings WHERE id = $1", booking_id
    )
    assert dict(row) == {"status": "cancelled", "status_reason": "feeling better"}
    outcome = await workflow(temporal_client, booking_id).result()
    assert outcome.final_status == "cancelled"
    [event] = await sandboxes.calendar.events(org.calendar_id)
    assert event["status"] == "cancelled"
    assert await sms_kinds(pool, booking_id) == ["confirmation", "cancelled"]
    second = await api.post(f"/bookings/{booking_id}/cancel", headers=headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "not_changeable"
    assert await sms_kinds(pool, booking_id) == ["confirmation", "cancelled"]


async def test_reschedule_through_the_api_and_another_orgs_key(
    booking_env: BookingEnv, api: httpx.AsyncClient, org: TestOrg, make_org: MakeOrg
) -> None:
    booking_id = await booking_env.book_confirmed(local_start(6, time(9)))
    other = await make_org()
    foreign = await api.post(
        f"/bookings/{booking_id}/reschedule",
        json={"start": local_start(6, time(13)).isoformat()},
        headers={"Authorization": f"Bearer {other.credentials.api_key}"},
    )
    assert foreign.status_code == 404
    moved = await api.post(
        f"/bookings/{booking_id}/reschedule",
        json={"start": local_start(6, time(13)).isoformat()},
        headers={"Authorization": f"Bearer {org.credentials.api_key}"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == local_start(6, time(13)).isoformat()


async def test_signals_sent_as_the_temporal_ui_sends_them(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool
) -> None:
    booking_id = await booking_env.book_confirmed(local_start(7, time(10)))
    handle = workflow(temporal_client, booking_id)
    # The UI's "Send a Signal" sends the registered name ("reschedule", "cancel") and plain
    # JSON: what signalling the handler by reference with a dict sends.
    await handle.signal(
        BookingWorkflow.reschedule_signal, {"start": local_start(7, time(16)).isoformat()}
    )
    await handle.signal(
        BookingWorkflow.reschedule_signal, {"start": local_start(7, time(16)).isoformat()}
    )
    await handle.signal(BookingWorkflow.cancel_signal, {"reason": "operator: clinic closed"})
    outcome = await handle.result()
    assert outcome.final_status == "cancelled"
    row = await pool.fetchrow(
        "SELECT status::text, status_reason, starts_at FROM bookings WHERE id = $1", booking_id
    )
    assert dict(row) == {
        "status": "cancelled",
        "status_reason": "operator: clinic closed",
        "starts_at": local_start(7, time(16)),
    }
    description = await handle.describe()
    assert description.typed_search_attributes.get(BOOKING_STATUS) == "cancelled"


async def test_reminder_fires_after_the_lead_time_and_not_after_a_cancel(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    start_kept, start_cancelled = local_start(8, time(10)), local_start(8, time(11))
    # A lead time that makes the reminder due a few seconds after the booking is made: the
    # workflow arms it if it is due after the slot was taken, and sends it at once if it is
    # already due when the booking is confirmed, so only taking the slot has to come first.
    due = datetime.now(UTC) + timedelta(seconds=4)
    kept_settings = booking_env.settings.model_copy(update={"reminder_lead_time": start_kept - due})
    phone = unique_phone()
    kept = await booking_env.book_confirmed(start_kept, phone=phone, settings=kept_settings)

    # The default lead time (a day) arms the other reminder a week from now: the cancel surely
    # comes first, and the closed workflow shows the armed reminder went with it.
    cancelled = await booking_env.book_confirmed(start_cancelled)
    handle = workflow(temporal_client, cancelled)
    state = await handle.query(BookingWorkflow.status)
    assert state.reminder_due_at == start_cancelled - booking_env.settings.reminder_lead_time
    await handle.signal(BookingWorkflow.cancel_signal, {"reason": "changed plans"})
    try:
        outcome = await asyncio.wait_for(handle.result(), timeout=30)
    except TimeoutError:
        pytest.fail("the cancelled booking's workflow is still running, its reminder armed")
    assert outcome.final_status == "cancelled"
    assert "reminder" not in await sms_kinds(pool, cancelled)

    await wait_for_kind(pool, kept, "reminder")
    sent_at = await pool.fetchval(
        "SELECT created_at FROM sms_messages WHERE booking_id = $1 AND kind = 'reminder'", kept
    )
    assert sent_at >= due
    bodies = [m["body"] for m in await sandboxes.twilio.messages(to=phone)]
    assert sum("reminder of your" in body for body in bodies) == 1, bodies


async def test_no_reminder_when_booked_inside_the_lead_time_and_rearmed_on_reschedule(
    booking_env: BookingEnv, temporal_client: Client
) -> None:
    inside = await booking_env.book_confirmed(
        local_start(9, time(10)),
        settings=booking_env.settings.model_copy(update={"reminder_lead_time": timedelta(days=30)}),
    )
    state = await workflow(temporal_client, inside).query(BookingWorkflow.status)
    assert state.reminder_due_at is None
    lead = timedelta(hours=24)
    armed = await booking_env.book_confirmed(
        local_start(9, time(12)),
        settings=booking_env.settings.model_copy(update={"reminder_lead_time": lead}),
    )
    await reschedule(temporal_client, armed, local_start(9, time(17)))
    state = await workflow(temporal_client, armed).query(BookingWorkflow.status)
    assert state.reminder_due_at == local_start(9, time(17)) - lead
    assert state.starts_at == local_start(9, time(17))
    assert any("rescheduled" in change for change in state.changes)


async def test_a_reminder_due_during_a_refused_move_is_sent_for_the_time_kept(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    """The reminder falls due while a move holds the lock: the loop sees the time being tried
    and re-arms for it. The calendar then refuses the move and the slot goes back, so the loop
    must follow the time the booking kept and send its reminder, not wait for the other's."""
    original, tried = local_start(8, time(13)), local_start(8, time(16))
    # Due 10 s from now, while the move (answered after 20 s) is surely still being tried.
    due = datetime.now(UTC) + timedelta(seconds=10)
    settings = booking_env.settings.model_copy(update={"reminder_lead_time": original - due})
    booking_id = await booking_env.book_confirmed(original, settings=settings)
    await sandboxes.calendar.add_fault(
        status=403,
        code="forbidden",
        method="PATCH",
        path_contains=org.calendar_id,
        latency_ms=20_000,
    )
    result = await reschedule(temporal_client, booking_id, tried)
    assert result.outcome == "error", result.message
    handle = workflow(temporal_client, booking_id)
    history = await handle.fetch_history()
    fired = [e.event_id for e in history.events if e.HasField("timer_fired_event_attributes")]
    [move] = [
        e.event_id
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "move_calendar_event"
    ]
    [refused] = [
        e.event_id for e in history.events if e.HasField("activity_task_failed_event_attributes")
    ]
    assert any(move < event_id < refused for event_id in fired), "the reminder was not due mid-move"
    await wait_for_kind(pool, booking_id, "reminder")

    async def reminded() -> bool:
        state = await handle.query(BookingWorkflow.status)
        return state.reminder_sent_for is not None

    await wait_until(reminded, what="the reminder recorded as sent")
    state = await handle.query(BookingWorkflow.status)
    assert state.starts_at == original
    assert state.reminder_sent_for == original


async def test_calendar_retries_show_in_the_workflow_details(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    await sandboxes.calendar.add_fault(
        status=503, count=4, method="POST", path_contains=org.calendar_id
    )
    answer = await booking_env.book(
        start=local_start(10, time(10)),
        phone=unique_phone(),
    )
    assert answer.booking_id is not None
    handle = workflow(temporal_client, answer.booking_id)
    seen: set[str] = set()
    deadline = asyncio.get_running_loop().time() + 30
    while "confirmed" not in seen and asyncio.get_running_loop().time() < deadline:
        state = await handle.query(BookingWorkflow.status)
        seen.add(state.waiting_for or "")
        seen.add(state.status)
        await asyncio.sleep(0.05)
    retries = [text for text in seen if text.startswith("calendar: creating the event: attempt")]
    assert retries, seen
    assert any("503" in text for text in retries), retries
    await wait_for_status(pool, answer.booking_id, {"confirmed"})


async def test_voice_tools_move_and_cancel_the_callers_next_booking(
    booking_env: BookingEnv, api: httpx.AsyncClient, pool: asyncpg.Pool, org: TestOrg
) -> None:
    caller = unique_phone()
    booking_id = await booking_env.book_confirmed(local_start(11, time(10)), phone=caller)
    new_start = local_start(11, time(14))
    moved = await api.post(
        "/voice/vapi",
        json=vapi_message(
            vapi_call("reschedule_appointment", {"new_start": new_start.isoformat()}),
            caller=caller,
        ),
        headers=vapi_headers(org),
    )
    assert moved.json()["results"][0]["result"].startswith("Done: the appointment is moved to")
    assert (
        await pool.fetchval("SELECT starts_at FROM bookings WHERE id = $1", booking_id) == new_start
    )
    cancelled = await api.post(
        "/voice/vapi",
        json=vapi_message(vapi_call("cancel_appointment", {}), caller=caller),
        headers=vapi_headers(org),
    )
    assert "is cancelled" in cancelled.json()["results"][0]["result"]
    nobody = await api.post(
        "/voice/vapi",
        json=vapi_message(vapi_call("cancel_appointment", {}), caller=unique_phone()),
        headers=vapi_headers(org),
    )
    assert "couldn't find an upcoming appointment" in nobody.json()["results"][0]["error"]
