"""What the sandboxes count as created, through the real Google and Twilio SDKs: every request
that made the vendor create something, whatever answer reached the client, and nothing for a
request turned away or refused as a duplicate. Tests that claim "created once" rely on it."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import TransientServiceError
from core.vendors.calendar import event_id_for_booking
from core.vendors.google_calendar import GoogleCalendarClient
from core.vendors.sms import TwilioSmsSender
from sandbox.runner import Sandboxes

CAL = "creations@group.calendar.google.com"
TO = "+12125550147"
FROM = "+12125550100"


@pytest.fixture(autouse=True)
async def clean(sb: Sandboxes) -> None:
    await sb.reset()


@pytest.fixture(scope="module")
def calendar(sb: Sandboxes) -> GoogleCalendarClient:
    return GoogleCalendarClient(
        service_account_info=sb.service_account_info, base_url=sb.calendar_base_url, timeout=5.0
    )


@pytest.fixture(scope="module")
async def sender(sb: Sandboxes) -> AsyncIterator[TwilioSmsSender]:
    created = TwilioSmsSender(
        account_sid=sb.twilio_account_sid,
        auth_token=sb.twilio_auth_token,
        base_url=sb.twilio_base_url,
        timeout=5.0,
    )
    yield created
    await created.aclose()


def _start() -> datetime:
    # Any time works: the sandbox does not compare events with the clock.
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


async def _insert(client: GoogleCalendarClient, event_id: str, description: str = "booking 1"):
    start = _start()
    return await client.insert_event(
        calendar_id=CAL,
        event_id=event_id,
        summary="Consultation",
        description=description,
        start=start,
        end=start + timedelta(minutes=30),
        time_zone="America/New_York",
    )


async def test_an_insert_refused_as_duplicate_is_not_a_creation_but_a_new_id_is(
    sb: Sandboxes, calendar: GoogleCalendarClient
) -> None:
    event_id = event_id_for_booking(uuid.uuid4())
    await _insert(calendar, event_id)
    again = await _insert(calendar, event_id)
    assert again.already_existed
    assert await sb.calendar.count_created(CAL) == 1
    # The same appointment inserted under another id is stored as just another event; only
    # the creations show it was inserted twice.
    await _insert(calendar, event_id_for_booking(uuid.uuid4()))
    created = await sb.calendar.created_events(CAL)
    assert [e["description"] for e in created] == ["booking 1", "booking 1"]
    assert await sb.calendar.count_created("another@group.calendar.google.com") == 0


async def test_an_insert_turned_away_by_a_fault_creates_nothing(
    sb: Sandboxes, calendar: GoogleCalendarClient
) -> None:
    await sb.calendar.add_fault(status=503, method="POST", count=1)
    with pytest.raises(TransientServiceError):
        await _insert(calendar, event_id_for_booking(uuid.uuid4()))
    assert await sb.calendar.count_created(CAL) == 0
    assert await sb.calendar.events(CAL) == []


async def test_an_insert_whose_answer_is_lost_still_created_the_event(
    sb: Sandboxes, calendar: GoogleCalendarClient
) -> None:
    event_id = event_id_for_booking(uuid.uuid4())
    fault = await sb.calendar.add_fault(status=503, method="POST", count=1, after_processing=True)
    with pytest.raises(TransientServiceError):
        await _insert(calendar, event_id)
    [stored] = await sb.calendar.events(CAL)
    assert stored["id"] == event_id
    [request] = await sb.calendar.requests(method="POST", path_contains="/events")
    assert (request["status"], request["fault_id"]) == (503, fault)
    # The client's retry finds it (409) and nothing more is created.
    retried = await _insert(calendar, event_id)
    assert retried.already_existed
    assert await sb.calendar.count_created(CAL) == 1


async def test_a_late_answer_arrives_intact_after_the_vendor_acted(
    sb: Sandboxes, calendar: GoogleCalendarClient
) -> None:
    event_id = event_id_for_booking(uuid.uuid4())
    await sb.calendar.add_fault(latency_ms=300, method="POST", count=1, after_processing=True)
    event = await _insert(calendar, event_id)
    assert (event.id, event.already_existed) == (event_id, False)
    [request] = await sb.calendar.requests(method="POST", path_contains="/events")
    assert (request["status"], request["fault_id"]) == (200, None)
    assert await sb.calendar.count_created(CAL) == 1


async def test_twilio_counts_a_message_whose_answer_was_lost_and_not_one_turned_away(
    sb: Sandboxes, sender: TwilioSmsSender
) -> None:
    await sb.twilio.add_fault(status=500, method="POST", count=1)
    with pytest.raises(TransientServiceError):
        await sender.send(to=TO, body="turned away", from_number=FROM)
    assert await sb.twilio.count_messages(to=TO) == 0

    await sb.twilio.add_fault(status=500, method="POST", count=1, after_processing=True)
    with pytest.raises(TransientServiceError):
        await sender.send(to=TO, body="answer lost", from_number=FROM)
    [message] = await sb.twilio.messages(to=TO)
    assert message["body"] == "answer lost"
    # Twilio has no idempotency key: sending again creates a second message.
    await sender.send(to=TO, body="answer lost", from_number=FROM)
    assert await sb.twilio.count_messages(to=TO, body="answer lost") == 2
