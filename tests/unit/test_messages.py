"""Spoken availability: compact, anchored on today, in the org's zone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.domain.messages import availability, free_times

NY = ZoneInfo("America/New_York")
HALF_HOUR = timedelta(minutes=30)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute, tzinfo=NY)


def test_consecutive_starts_become_ranges_with_the_step_said_once() -> None:
    starts = [_at(9), _at(9, 30), _at(10), _at(11), _at(11, 30), _at(14)]
    assert free_times(starts, tz=NY, step=HALF_HOUR) == (
        "every 30 minutes from 9:00 AM to 10:00 AM, from 11:00 AM to 11:30 AM, and at 2:00 PM"
    )


def test_single_start_and_hourly_steps() -> None:
    assert free_times([_at(9)], tz=NY, step=HALF_HOUR) == "at 9:00 AM"
    hourly = [_at(9), _at(10), _at(11)]
    assert (
        free_times(hourly, tz=NY, step=timedelta(hours=1)) == "every hour from 9:00 AM to 11:00 AM"
    )


def test_times_are_said_in_the_org_zone_not_utc() -> None:
    utc_starts = [_at(9).astimezone(ZoneInfo("UTC"))]
    assert free_times(utc_starts, tz=NY, step=HALF_HOUR) == "at 9:00 AM"


def test_a_full_day_names_today_and_the_day() -> None:
    text = availability(
        today=date(2026, 11, 21),
        day=date(2026, 11, 24),
        provider="Dr. Rivera",
        starts=[_at(9), _at(9, 30)],
        next_day=None,
        next_starts=[],
        tz=NY,
        step=HALF_HOUR,
    )
    assert text == (
        "Today is Saturday, November 21, 2026. On Tuesday, November 24, 2026, Dr. Rivera is "
        "free every 30 minutes from 9:00 AM to 9:30 AM."
    )


def test_a_closed_day_points_to_the_next_open_day_or_says_there_is_none() -> None:
    def said(next_day: date | None, next_starts: list[datetime]) -> str:
        return availability(
            today=date(2026, 11, 21),
            day=date(2026, 11, 22),
            provider="Dr. Rivera",
            starts=[],
            next_day=next_day,
            next_starts=next_starts,
            tz=NY,
            step=HALF_HOUR,
        )

    assert said(date(2026, 11, 24), [_at(9)]).endswith(
        "Dr. Rivera has nothing free on Sunday, November 22, 2026. "
        "The next open day is Tuesday, November 24, 2026: free at 9:00 AM."
    )
    assert said(None, []).endswith("or in the following weeks.")
