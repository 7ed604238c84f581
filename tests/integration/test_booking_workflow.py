"""BookingWorkflow end to end on the real stack: Postgres, Temporal, real SDKs vs the sandbox."""

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from core.calendar import event_id_for_booking
from core.config import Settings
from core.names import booking_workflow_id
from sandbox.runner import Sandboxes
from tests.booking_helpers import book, local_start, sms_rows, unique_phone, wait_for_status
from tests.conftest import running_worker
from tests.factories import create_test_org


async def _events(sandboxes: Sandboxes, calendar_id: str) -> list[dict]:
    return await sandboxes.calendar.events(calendar_id)


async def test_happy_path_confirms_with_one_event_and_one_sms(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    phone = unique_phone()
    answer = await book(temporal_client, booking_settings, org, start=local_start(), phone=phone)
    assert answer.outcome == "booked", answer
    assert answer.booking_id is not None
    assert "Booked: Consultation with Dr. Test on" in answer.message
    row = await wait_for_status(pool, answer.booking_id, {"confirmed"})
    assert row["calendar_event_id"] == event_id_for_booking(answer.booking_id)
    events = await _events(sandboxes, org.calendar_id)
    assert [e["id"] for e in events] == [event_id_for_booking(answer.booking_id)]
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
    state = await temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id)).query(
        "status"
    )
    assert state["status"] == "confirmed"


async def test_calendar_503_three_times_then_ok_confirms_with_exactly_one_event(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    await sandboxes.calendar.add_fault(
        status=503, count=3, path_contains=org.calendar_id, method="POST"
    )
    answer = await book(
        temporal_client, booking_settings, org, start=local_start(), phone=unique_phone()
    )
    assert answer.outcome == "booked"
    assert answer.booking_id is not None
    await wait_for_status(pool, answer.booking_id, {"confirmed"})
    inserts = await sandboxes.calendar.requests(path_contains=org.calendar_id, method="POST")
    assert [r["status"] for r in inserts] == [503, 503, 503, 200]
    assert len(await _events(sandboxes, org.calendar_id)) == 1


async def test_calendar_forbidden_compensates(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    phone = unique_phone()
    await sandboxes.calendar.add_fault(
        status=403, code="forbidden", path_contains=org.calendar_id, method="POST", count=1
    )
    start = local_start()
    answer = await book(temporal_client, booking_settings, org, start=start, phone=phone)
    assert answer.outcome == "booked" and answer.booking_id is not None
    row = await wait_for_status(pool, answer.booking_id, {"failed"})
    assert "forbidden" in row["status_reason"].lower()
    handle = temporal_client.get_workflow_handle(booking_workflow_id(answer.booking_id))
    try:
        await handle.result()
        raise AssertionError("the workflow should fail visibly")
    except WorkflowFailureError as failure:
        assert "compensated" in str(failure.cause)
    assert [
        e for e in await _events(sandboxes, org.calendar_id) if e["status"] != "cancelled"
    ] == []
    kinds = [(r["kind"], r["status"]) for r in await sms_rows(pool, answer.booking_id)]
    assert ("apology", "queued") in kinds or ("apology", "sent") in kinds, kinds
    assert await sandboxes.twilio.count_messages(to=phone) == 2
    # The slot is free again: another caller can take it.
    again = await book(temporal_client, booking_settings, org, start=start, phone=unique_phone())
    assert again.outcome == "booked", again


async def test_sms_opted_out_still_confirms_and_records_the_failure(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    phone = unique_phone()
    await sandboxes.twilio.set_number(phone, "opted_out")
    answer = await book(temporal_client, booking_settings, org, start=local_start(), phone=phone)
    assert answer.booking_id is not None
    await wait_for_status(pool, answer.booking_id, {"confirmed"})
    sms = await sms_rows(pool, answer.booking_id)
    assert [(r["kind"], r["status"], r["error_code"]) for r in sms] == [
        ("confirmation", "failed", "21610")
    ]


async def test_concurrent_overlapping_bookings_never_overlap(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    base = local_start(days_ahead=2)
    # 30 requests for 30-minute slots starting every 10 minutes: heavy pairwise overlap.
    starts = [base + timedelta(minutes=10 * i) for i in range(30)]
    answers = await asyncio.gather(
        *(
            book(temporal_client, booking_settings, org, start=s, phone=unique_phone())
            for s in starts
        )
    )
    outcomes = {a.outcome for a in answers}
    assert outcomes <= {"booked", "unavailable"}, [a for a in answers if a.outcome not in outcomes]
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
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    phone = unique_phone()
    answers = await asyncio.gather(
        *(
            book(
                temporal_client,
                booking_settings,
                org,
                start=local_start(),
                phone=phone,
                key="toolcall-same",
            )
            for _ in range(5)
        )
    )
    assert len({a.model_dump_json() for a in answers}) == 1
    assert answers[0].booking_id is not None
    await wait_for_status(pool, answers[0].booking_id, {"confirmed"})
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 1
    assert len(await _events(sandboxes, org.calendar_id)) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1
    # A retry long after the first answer still gets that answer and changes nothing.
    late = await book(
        temporal_client,
        booking_settings,
        org,
        start=local_start(),
        phone=phone,
        key="toolcall-same",
    )
    assert late == answers[0]
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_invalid_and_unavailable_answers(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    worker: Worker,
) -> None:
    org = await create_test_org(pool)
    no_contact = await book(temporal_client, booking_settings, org, start=local_start())
    assert (no_contact.outcome, no_contact.field) == ("invalid", "phone")
    bad_phone = await book(temporal_client, booking_settings, org, start=local_start(), phone="12")
    assert (bad_phone.outcome, bad_phone.field) == ("invalid", "phone")
    bad_time = await book(
        temporal_client, booking_settings, org, start="next tuesday-ish", phone=unique_phone()
    )
    assert (bad_time.outcome, bad_time.field) == ("invalid", "start")
    closed = await book(
        temporal_client,
        booking_settings,
        org,
        start=local_start(at=local_start().time().replace(hour=22)),
        phone=unique_phone(),
    )
    assert closed.outcome == "unavailable" and len(closed.alternatives) == 3
    assert "not open" in closed.message
    yesterday = await book(
        temporal_client,
        booking_settings,
        org,
        start=local_start(days_ahead=-1),
        phone=unique_phone(),
    )
    assert yesterday.outcome == "unavailable" and len(yesterday.alternatives) == 3
    assert "has already passed" in yesterday.message
    # None of that wrote anything.
    for table in ("contacts", "bookings"):
        count = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", org.id)
        assert count == 0, table


async def test_worker_restart_after_phase_one_completes_without_duplicates(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
) -> None:
    org = await create_test_org(pool)
    phone = unique_phone()
    # Calendar and Twilio stall, so phase 2 is still in flight when the worker goes away.
    await sandboxes.calendar.add_fault(latency_ms=1500, path_contains=org.calendar_id, count=1)
    await sandboxes.twilio.add_fault(latency_ms=1500, count=1)
    async with running_worker(temporal_client, booking_settings, pool):
        answer = await book(
            temporal_client, booking_settings, org, start=local_start(), phone=phone
        )
        assert answer.booking_id is not None
        assert (await wait_for_status(pool, answer.booking_id, {"held"}))["status"] == "held"
    async with running_worker(temporal_client, booking_settings, pool):
        await wait_for_status(pool, answer.booking_id, {"confirmed"}, timeout=60)
        # A send stalled by the injected latency may still land after "confirmed": give it
        # time, so a duplicate on its way is counted.
        await asyncio.sleep(2)
    assert len(await _events(sandboxes, org.calendar_id)) == 1
    assert await sandboxes.twilio.count_messages(to=phone) == 1


async def test_calendar_still_failing_at_the_deadline_compensates(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
) -> None:
    org = await create_test_org(pool)
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
    assert kinds == {"confirmation", "apology"}
