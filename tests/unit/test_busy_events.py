"""Which Google events keep a provider busy, and which event ids are our own bookings'."""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.domain.busy_events import busy_interval
from core.vendors.calendar import booking_id_for_event, event_id_for_booking

CHICAGO = ZoneInfo("America/Chicago")


def _event(**fields: object) -> dict[str, object]:
    return {
        "id": "abc123",
        "status": "confirmed",
        "start": {"dateTime": "2031-03-04T09:00:00-06:00"},
        "end": {"dateTime": "2031-03-04T10:30:00-06:00"},
        **fields,
    }


def test_a_timed_event_is_busy_for_its_exact_interval() -> None:
    assert busy_interval(_event(), CHICAGO) == (
        datetime(2031, 3, 4, 15, 0, tzinfo=UTC),
        datetime(2031, 3, 4, 16, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "cancelled"},
        {"transparency": "transparent"},
        {"attendees": [{"email": "dr@x.example", "self": True, "responseStatus": "declined"}]},
        {"end": {"dateTime": "2031-03-04T09:00:00-06:00"}},
        {"start": {}},
        {"start": {"dateTime": "not a time"}},
    ],
    ids=["cancelled", "free", "declined", "empty", "no start", "garbage"],
)
def test_events_that_block_nothing(fields: dict[str, object]) -> None:
    assert busy_interval(_event(**fields), CHICAGO) is None


def test_someone_elses_decline_still_leaves_the_owner_busy() -> None:
    attendees = [
        {"email": "patient@x.example", "responseStatus": "declined"},
        {"email": "dr@x.example", "self": True, "responseStatus": "accepted"},
    ]
    assert busy_interval(_event(attendees=attendees), CHICAGO) is not None


def test_an_all_day_event_is_busy_from_midnight_to_midnight_in_the_calendars_zone() -> None:
    event = _event(start={"date": "2031-11-02"}, end={"date": "2031-11-03"})
    start, end = busy_interval(event, CHICAGO) or (None, None)
    assert start == datetime(2031, 11, 2, tzinfo=CHICAGO)
    # The day the clocks go back is 25 hours long.
    assert end == datetime(2031, 11, 3, tzinfo=CHICAGO)
    assert start is not None and end is not None
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600


def test_a_wall_time_without_offset_is_read_in_its_own_zone() -> None:
    event = _event(
        start={"dateTime": "2031-03-04T09:00:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2031-03-04T10:00:00", "timeZone": "Europe/Berlin"},
    )
    start, _ = busy_interval(event, CHICAGO) or (None, None)
    assert start == datetime(2031, 3, 4, 8, 0, tzinfo=UTC)


def test_booking_event_ids_decode_back_to_their_booking() -> None:
    booking_id = uuid.UUID("6f1c2a0e-9d43-4b8e-a1f0-2c3d4e5f6a7b")
    event_id = event_id_for_booking(booking_id)
    assert booking_id_for_event(event_id) == booking_id
    assert booking_id_for_event("abc123") is None
    assert booking_id_for_event("w" * 26) is None  # not base32hex
