"""The answer path's pure steps: the rules' verdict on a start, and alternatives from busy time."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain.availability import OpeningHours, SchedulingRules
from core.domain.normalize import ParsedTime
from core.services.scheduling import (
    SEARCH_WINDOW,
    Refusal,
    alternatives_in,
    check_requested_start,
    search_window,
    unavailable,
)

UTC_RULES = SchedulingRules(
    tz=ZoneInfo("UTC"),
    opening_hours=tuple(OpeningHours(d, time(9), time(17)) for d in range(7)),
    duration=timedelta(minutes=30),
    step=timedelta(minutes=30),
    horizon=timedelta(days=30),
    min_notice=timedelta(hours=1),
)
NOW = datetime(2031, 3, 4, 8, 0, tzinfo=UTC)


def test_a_start_inside_the_rules_is_accepted() -> None:
    start = check_requested_start("2031-03-05T10:00", UTC_RULES, NOW)
    assert isinstance(start, ParsedTime)
    assert start.at == datetime(2031, 3, 5, 10, 0, tzinfo=UTC)


def test_starts_the_rules_refuse_say_why_and_where_alternatives_begin() -> None:
    cases = {
        "2031-03-04T07:00": ("Tuesday, March 4, 2031 at 7:00 AM has already passed.", NOW),
        "2031-03-04T08:30": (
            "That time is too soon to book.",
            datetime(2031, 3, 4, 8, 30, tzinfo=UTC),
        ),
        "2031-03-05T18:00": ("We are not open then.", datetime(2031, 3, 5, 18, 0, tzinfo=UTC)),
        "2031-06-01T10:00": (
            "That date is too far ahead to book.",
            datetime(2031, 6, 1, 10, 0, tzinfo=UTC),
        ),
    }
    for raw, (reason, after) in cases.items():
        assert check_requested_start(raw, UTC_RULES, NOW) == Refusal(reason, after), raw


def test_alternatives_skip_the_busy_time_read_for_their_window() -> None:
    after = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)
    start, (low, high) = search_window(after, UTC_RULES, NOW)
    assert (start, low, high) == (after, after - timedelta(days=1), after + SEARCH_WINDOW)
    busy = [
        (after, after + timedelta(hours=1)),
        (after + timedelta(hours=1, minutes=30), after + timedelta(hours=2)),
    ]
    assert alternatives_in(busy, UTC_RULES, after=after, now=NOW) == [
        datetime(2031, 3, 5, 11, 0, tzinfo=UTC),
        datetime(2031, 3, 5, 12, 0, tzinfo=UTC),
        datetime(2031, 3, 5, 12, 30, tzinfo=UTC),
    ]


def test_a_taken_start_is_refused_with_the_next_free_starts_after_it() -> None:
    at = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)
    refusal = Refusal.taken(at)
    assert refusal == Refusal("That time is already taken.", at)
    refused = unavailable(refusal, [(at, at + timedelta(hours=1))], UTC_RULES, now=NOW)
    assert refused.alternatives == [
        datetime(2031, 3, 5, 11, 0, tzinfo=UTC),
        datetime(2031, 3, 5, 11, 30, tzinfo=UTC),
        datetime(2031, 3, 5, 12, 0, tzinfo=UTC),
    ]
    assert refused.message.startswith("That time is already taken. The next free times are ")


def test_a_search_past_the_horizon_starts_from_now() -> None:
    far = datetime(9999, 1, 1, tzinfo=UTC)
    start, _ = search_window(far, UTC_RULES, NOW)
    assert start == NOW
