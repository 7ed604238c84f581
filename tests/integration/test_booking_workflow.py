"""BookingWorkflow end to end on the real stack: Postgres, Temporal, real SDKs vs the sandbox.

One module because every case runs the one BookingWorkflow on the same stack and mostly differs only
in how the calendar or SMS sandbox answers, so the cases read as one list of vendor outcomes.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError

from core.domain.ids import booking_workflow_id
from core.infra.config import Settings
from core.vendors.calendar import event_id_for_booking
from sandbox.runner import Sandboxes
from tests.booking_helpers import (
    BookingEnv,
    book,
    local_start,
    sms_rows,
    unanswered_requests,
    unique_phone,
    wait_for_phase2,
    wait_for_status,
    wait_until,
)
from tests.conftest import running_worker
from tests.factories import TestOrg
from tests.reliability.processes import start_worker, worker_processes
from workflows.client import booking_state


async def _events(sandboxes: Sandboxes, calendar_id: str) -> list[dict]:
    return await sandboxes.calendar.events(calendar_id)


async def test_happy_path_confirms_with_one_event_and_one_sms(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    answer = await booking_env.book(start=local_start(), phone=phone)
    assert answer.outcome == "booked", answer
    assert answer.booking_id is not None
    assert "Booked: Consultation with Dr. Test on" in answer.message
    # The text goes out after the booking is confirmed: wait for both.
    row = await wait_for_phase2(pool, answer.booking_id)
    assert row["calendar_event_id"] == event_id_for_booking(answer.booking_id)
    events = await _events(sandboxes, org.calendar_id)
    assert [e["id"] for e in events] == [event_id_for_booking(answer.booking_id)]
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    sms = await sms_rows(pool, answer.booking_id)
    assert [(r["kind"], r["twilio_sid"] is not None) for r in sms] == [("confirmation", True)]
    contact = await pool.fetchrow("SELECT name, phone FROM contacts WHERE org_id = $1", org.id)
    assert (contact["name"], contact["phone"]) == ("Sam Wilson", phone)
    trail = await pool.fetch(
        "SELECT to_status::text FROM booking_events WHERE booking_id = $1 ORDER BY id",
        answer.booking_id,
    )
    assert [r["to_status"] for r in trail] == ["held", "confirmed"]
    state = await booking_state(temporal_client, booking_workflow_id(answer.booking_id))
    assert state.status == "confirmed"


async def test_calendar_answering_503_three_times_after_creating_confirms_with_one_event(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    # The first insert creates the event and every answer until the fourth is lost: each retry
    # must find that event, not make another.
    await sandboxes.calendar.add_fault(
        status=503, count=3, path_contains=org.calendar_id, method="POST", after_processing=True
    )
    answer = await booking_env.book(start=local_start(), phone=unique_phone())
    assert answer.outcome == "booked"
    assert answer.booking_id is not None
    await wait_for_status(pool, answer.booking_id, {"confirmed"})
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert [r["status"] for r in inserts] == [503, 503, 503, 409]


async def test_calendar_forbidden_compensates(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", path_contains=org.calendar_id, method="POST", count=1
    )
    start = local_start()
    answer = await booking_env.book(start=start, phone=phone)
    assert answer.outcome == "booked" and answer.booking_id is not None
    row = await wait_for_status(pool, answer.booking_id, {"failed"})
    assert "forbidden" in row["status_reason"].lower()
    handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))
    try:
        await handle.result()
        raise AssertionError("the workflow should fail visibly")
    except WorkflowFailureError as failure:
        assert "compensated" in str(failure.cause)
    # Refused before anything was created: nothing to delete (see the next test for that).
    assert await sandboxes.calendar.count_created(org.calendar_id) == 0
    kinds = [(r["kind"], r["status"]) for r in await sms_rows(pool, answer.booking_id)]
    assert ("apology", "queued") in kinds or ("apology", "sent") in kinds, kinds
    # The event never existed, so no confirmation text went out: the apology alone.
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    # The slot is free again: another caller can take it.
    again = await booking_env.book(start=start, phone=unique_phone())
    assert again.outcome == "booked", again


async def test_calendar_refusing_after_creating_the_event_compensates_by_deleting_it(
    booking_env: BookingEnv,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    # Google stores the event but answers "forbidden": the booking fails with a real event to
    # undo.
    await sandboxes.calendar.add_fault(
        status=403,
        code="forbidden",
        path_contains=org.calendar_id,
        method="POST",
        count=1,
        after_processing=True,
    )
    start = local_start()
    answer = await booking_env.book(start=start, phone=phone)
    assert answer.outcome == "booked" and answer.booking_id is not None
    row = await wait_for_status(pool, answer.booking_id, {"failed"})
    assert "forbidden" in row["status_reason"].lower()
    handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    [created] = await sandboxes.calendar.created_events(org.calendar_id)
    assert created["id"] == event_id_for_booking(answer.booking_id)
    [event] = await _events(sandboxes, org.calendar_id)
    assert (event["id"], event["status"]) == (created["id"], "cancelled")
    deletes = await sandboxes.calendar.requests(path_contains=created["id"], method="DELETE")
    assert [r["status"] for r in deletes] == [204]
    sms = {r["kind"]: r["twilio_sid"] for r in await sms_rows(pool, answer.booking_id)}
    assert set(sms) == {"apology"} and all(sms.values()), sms
    # The slot is free again: another caller can take it.
    again = await booking_env.book(start=start, phone=unique_phone())
    assert again.outcome == "booked", again


async def test_sms_opted_out_still_confirms_and_records_the_failure(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    phone = unique_phone()
    await sandboxes.twilio.set_number(phone, "opted_out")
    answer = await booking_env.book(start=local_start(), phone=phone)
    assert answer.booking_id is not None
    await wait_for_phase2(pool, answer.booking_id)
    sms = await sms_rows(pool, answer.booking_id)
    assert [(r["kind"], r["status"], r["error_code"]) for r in sms] == [
        ("confirmation", "failed", "21610")
    ]


async def test_concurrent_overlapping_bookings_never_overlap(
    booking_env: BookingEnv, pool: asyncpg.Pool, org: TestOrg
) -> None:
    base = local_start(days_ahead=2)
    # 30 requests for 30-minute slots starting every 10 minutes: heavy pairwise overlap.
    starts = [base + timedelta(minutes=10 * i) for i in range(30)]
    answers = await asyncio.gather(
        *(booking_env.book(start=s, phone=unique_phone()) for s in starts)
    )
    outcomes = {a.outcome for a in answers}
    assert outcomes <= {"booked", "unavailable"}, [
        a for a in answers if a.outcome not in {"booked", "unavailable"}
    ]
    booked = [a for a in answers if a.outcome == "booked"]
    assert booked and len(booked) < 30
    assert all(a.alternatives for a in answers if a.outcome == "unavailable")
    held = await pool.fetch(
        "SELECT starts_at, ends_at FROM bookings WHERE org_id = $1 AND status IN "
        "('held', 'confirmed') ORDER BY starts_at",
        org.id,
    )
    assert len(held) == len(booked)
    for earlier, later in zip(held, held[1:], strict=False):
        assert earlier["ends_at"] <= later["starts_at"]


async def test_five_copies_of_one_tool_call_make_one_booking(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    phone = unique_phone()
    answers = await asyncio.gather(
        *(
            booking_env.book(
                start=local_start(),
                phone=phone,
                key="toolcall-same",
            )
            for _ in range(5)
        )
    )
    assert len({a.model_dump_json() for a in answers}) == 1
    assert answers[0].booking_id is not None
    await wait_for_phase2(pool, answers[0].booking_id)
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 1
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    # A retry long after the first answer still gets that answer and changes nothing.
    late = await booking_env.book(
        start=local_start(),
        phone=phone,
        key="toolcall-same",
    )
    assert late == answers[0]
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_invalid_and_unavailable_answers(
    booking_env: BookingEnv, pool: asyncpg.Pool, org: TestOrg
) -> None:
    no_contact = await booking_env.book(start=local_start())
    assert (no_contact.outcome, no_contact.field) == ("invalid", "phone")
    bad_phone = await booking_env.book(start=local_start(), phone="12")
    assert (bad_phone.outcome, bad_phone.field) == ("invalid", "phone")
    bad_time = await booking_env.book(start="next tuesday-ish", phone=unique_phone())
    assert (bad_time.outcome, bad_time.field) == ("invalid", "start")
    closed = await booking_env.book(
        start=local_start(at=local_start().time().replace(hour=22)),
        phone=unique_phone(),
    )
    assert closed.outcome == "unavailable" and len(closed.alternatives) == 3
    assert "not open" in closed.message
    yesterday = await booking_env.book(
        start=local_start(days_ahead=-1),
        phone=unique_phone(),
    )
    assert yesterday.outcome == "unavailable" and len(yesterday.alternatives) == 3
    assert "has already passed" in yesterday.message
    # None of that wrote anything.
    for table in ("contacts", "bookings"):
        count = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", org.id)
        assert count == 0, table


async def test_worker_killed_after_the_vendors_acted_but_before_it_knew_creates_nothing_twice(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    phone = unique_phone()
    # Google, then Twilio, create the event and the message at once but hold their answers, so
    # a worker dies in each worst window: the vendor did it, the worker never learned it.
    held: dict[str, Any] = {
        "latency_ms": 120_000,
        "method": "POST",
        "count": 1,
        "after_processing": True,
    }
    await sandboxes.calendar.add_fault(path_contains=org.calendar_id, **held)
    with worker_processes() as workers:
        first = await start_worker(workers, booking_settings, tmp_path)
        answer = await book(
            temporal_client, booking_settings, org, start=local_start(), phone=phone
        )
        assert answer.outcome == "booked" and answer.booking_id is not None

        async def event_created() -> bool:
            return await sandboxes.calendar.count_created(org.calendar_id) == 1

        await wait_until(event_created, timeout=30, what="the event created")
        first.kill()
        # Nothing of it is recorded on our side: still held, and no text claimed yet.
        row = await pool.fetchrow(
            "SELECT status::text, calendar_event_id FROM bookings WHERE id = $1", answer.booking_id
        )
        assert (row["status"], row["calendar_event_id"]) == ("held", None)
        assert await sms_rows(pool, answer.booking_id) == []

        await sandboxes.twilio.add_fault(**held)
        second = await start_worker(workers, booking_settings, tmp_path)

        async def message_created() -> bool:
            return await sandboxes.twilio.count_messages(to=phone) == 1

        await wait_until(message_created, timeout=60, what="the message created")
        second.kill()
        # The second worker found the event and confirmed; the text is claimed, without SID.
        row = await pool.fetchrow(
            "SELECT status::text, calendar_event_id FROM bookings WHERE id = $1", answer.booking_id
        )
        assert row["status"] == "confirmed"
        assert [
            (r["status"], r["twilio_sid"]) for r in await sms_rows(pool, answer.booking_id)
        ] == [("pending", None)]
        await start_worker(workers, booking_settings, tmp_path)
        row = await wait_for_status(pool, answer.booking_id, {"confirmed"}, timeout=90)

        async def text_recorded() -> bool:
            return all(r["twilio_sid"] for r in await sms_rows(pool, answer.booking_id))

        await wait_until(text_recorded, timeout=90, what="the text recorded")
    assert await sandboxes.calendar.count_created(org.calendar_id) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    # The workers after each kill adopted what the vendors had created.
    [message] = await sandboxes.twilio.messages(to=phone)
    [sms] = await sms_rows(pool, answer.booking_id)
    assert sms["twilio_sid"] == message["sid"]
    assert row["calendar_event_id"] == event_id_for_booking(answer.booking_id)
    # No request of this booking is still on its way to create something later (the held
    # answers ended when their client died).
    assert await unanswered_requests(sandboxes, org, phone) == []


async def test_calendar_still_failing_at_the_deadline_compensates(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> None:
    start = local_start()
    # The deadline falls a few seconds from now, while the calendar keeps answering 503.
    settings = booking_settings.model_copy(
        update={
            "calendar_deadline_before_start": start - datetime.now(UTC) - timedelta(seconds=3),
        }
    )
    await sandboxes.calendar.add_fault(status=503, path_contains=org.calendar_id, method="POST")
    async with running_worker(temporal_client, settings, pool):
        answer = await book(temporal_client, settings, org, start=start, phone=unique_phone())
        assert answer.booking_id is not None
        row = await wait_for_status(pool, answer.booking_id, {"failed"}, timeout=60)
        # The apology SMS follows the release; the run fails once compensation is done.
        handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert "calendar" in row["status_reason"]
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert len(inserts) > 1 and all(r["status"] == 503 for r in inserts)
    kinds = {r["kind"] for r in await sms_rows(pool, answer.booking_id)}
    assert kinds == {"apology"}
