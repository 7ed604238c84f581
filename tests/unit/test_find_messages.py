"""find_appointments' sentence: counted, soonest first, at most three named, one line."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.domain.find_messages import (
    NO_UPCOMING,
    SpokenAppointment,
    upcoming_appointments,
)

NY = ZoneInfo("America/New_York")
# A past day: these sentences are handed their times, they never read the clock.
FIRST = datetime(2025, 12, 5, 13, 0, tzinfo=ZoneInfo("UTC"))  # 8:00 AM in New York


def _appointments(count: int) -> list[SpokenAppointment]:
    return [
        SpokenAppointment("Consultation", "Dr. Test", FIRST + timedelta(days=day))
        for day in range(count)
    ]


def test_nothing_upcoming_is_said_plainly() -> None:
    assert upcoming_appointments([], more=False, tz=NY) == NO_UPCOMING
    assert NO_UPCOMING == "I couldn't find any upcoming appointments for this number."


def test_one_appointment_in_the_org_zone() -> None:
    assert upcoming_appointments(_appointments(1), more=False, tz=NY) == (
        "You have one upcoming appointment: Consultation with Dr. Test on "
        "Friday, December 5, 2025 at 8:00 AM."
    )


def test_two_appointments_are_both_named() -> None:
    assert upcoming_appointments(_appointments(2), more=False, tz=NY) == (
        "You have 2 upcoming appointments: Consultation with Dr. Test on "
        "Friday, December 5, 2025 at 8:00 AM and Consultation with Dr. Test on "
        "Saturday, December 6, 2025 at 8:00 AM."
    )


def test_past_three_the_count_is_said_and_the_next_three_named() -> None:
    text = upcoming_appointments(_appointments(5), more=False, tz=NY)
    assert text.startswith("You have 5 upcoming appointments. The next 3: Consultation")
    assert text.endswith("Sunday, December 7, 2025 at 8:00 AM.")
    assert "December 8" not in text


def test_more_than_were_read_is_said_as_more_than() -> None:
    text = upcoming_appointments(_appointments(5), more=True, tz=NY)
    assert text.startswith("You have more than 5 upcoming appointments. The next 3: ")


def test_the_longest_answer_fits_a_tool_result_uncut() -> None:
    text = upcoming_appointments(_appointments(5), more=True, tz=NY)
    assert "\n" not in text and not text.endswith("…")
    assert len(text) <= 300
