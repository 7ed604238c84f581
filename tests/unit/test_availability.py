"""Availability engine: table-driven, deterministic (`now` is always passed in).

One module because it is one table-driven suite of the one availability engine, every case built
from the same `rules`, `at` and `NOW` of a fixed January week or fixed DST days.
"""

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.availability import (
    Interval,
    OpeningHours,
    SchedulingRules,
    check_start,
    free_starts_on,
    next_free_starts,
    next_open_day,
    occupied_range,
)
from core.errors import ConfigurationError

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MIN = timedelta(minutes=1)

# The week of Monday 2026-01-12 (EST, UTC-5, no DST anywhere near).
MON, TUE, FRI, SAT, SUN = (date(2026, 1, d) for d in (12, 13, 16, 17, 18))
NEXT_MON = date(2026, 1, 19)

WEEKLY = tuple(
    [OpeningHours(wd, time(9), time(12)) for wd in range(5)]
    + [OpeningHours(wd, time(13), time(17)) for wd in range(5)]
    + [OpeningHours(5, time(10), time(14))]  # Saturday mornings; Sunday closed
)

MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
AFTERNOON = ["13:00", "13:30", "14:00", "14:30", "15:00", "15:30", "16:00", "16:30"]


def rules(**overrides: object) -> SchedulingRules:
    fields: dict[str, object] = {
        "tz": NY,
        "opening_hours": WEEKLY,
        "duration": 30 * MIN,
        "buffer": 10 * MIN,
        "step": 30 * MIN,
        "min_notice": timedelta(0),
        "horizon": timedelta(days=14),
    }
    fields.update(overrides)
    return SchedulingRules(**fields)  # type: ignore[arg-type]


def at(day: date, hhmm: str, tz: ZoneInfo = NY) -> datetime:
    """An aware local datetime (first occurrence if ambiguous)."""
    return datetime.combine(day, time.fromisoformat(hhmm), tz)


def z(iso: str) -> datetime:
    """A UTC instant, e.g. z("2026-03-08T06:00")."""
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def hhmm(starts: list[datetime], tz: ZoneInfo = NY) -> list[str]:
    return [s.astimezone(tz).strftime("%H:%M") for s in starts]


def daily(opens: str, closes: str) -> tuple[OpeningHours, ...]:
    return tuple(
        OpeningHours(wd, time.fromisoformat(opens), time.fromisoformat(closes)) for wd in range(7)
    )


NOW = at(MON, "07:00")  # before Monday opening


def test_basic_day_returns_every_grid_start_in_utc() -> None:
    starts = free_starts_on(MON, rules(buffer=timedelta(0)), [], NOW)
    assert hhmm(starts) == MORNING + AFTERNOON
    assert starts[0] == z("2026-01-12T14:00")
    assert all(s.tzinfo is UTC for s in starts)


@pytest.mark.parametrize(
    ("duration", "buffer", "expected"),
    [
        (30, 0, MORNING + AFTERNOON),
        # The buffer may run past closing (and into lunch): 11:30 and 16:30 still fit.
        (30, 10, MORNING + AFTERNOON),
        (45, 0, MORNING[:-1] + AFTERNOON[:-1]),
        (60, 15, MORNING[:-1] + AFTERNOON[:-1]),
        (180, 0, ["09:00", "13:00", "13:30", "14:00"]),
        # Longer than the morning: an appointment never spans the lunch break.
        (210, 0, ["13:00", "13:30"]),
    ],
)
def test_duration_and_buffer_against_closing_and_lunch(
    duration: int, buffer: int, expected: list[str]
) -> None:
    r = rules(duration=duration * MIN, buffer=buffer * MIN)
    assert hhmm(free_starts_on(MON, r, [], NOW)) == expected


@pytest.mark.parametrize(
    ("busy", "blocked"),
    [
        ([], set()),
        # 09:30 occupies [09:30, 10:10): only its buffer overlaps, which is enough.
        ([(at(MON, "10:00"), at(MON, "10:30"))], {"09:30", "10:00"}),
        # Only 11:30's buffer (past closing, into lunch) overlaps a lunch-time event.
        ([(at(MON, "12:00"), at(MON, "12:05"))], {"11:30"}),
        # Half-open: touching ends do not overlap.
        ([(at(MON, "10:10"), at(MON, "10:30"))], {"10:00"}),
        ([(at(MON, "08:00"), at(MON, "09:00"))], set()),
        ([(at(MON, "08:00"), at(MON, "09:01"))], {"09:00"}),
        ([(at(MON, "10:00"), at(MON, "10:00"))], set()),  # empty interval
        # Unsorted, overlapping, and in another zone: merged into [13:50, 14:45).
        (
            [(at(MON, "14:00"), at(MON, "14:45")), (z("2026-01-12T18:50"), z("2026-01-12T19:10"))],
            {"13:30", "14:00", "14:30"},
        ),
        ([(at(MON, "00:00"), at(TUE, "00:00"))], set(MORNING + AFTERNOON)),
        # Intervals on other days change nothing.
        ([(at(SUN, "09:00"), at(SUN, "17:00")), (at(TUE, "09:00"), at(TUE, "17:00"))], set()),
    ],
)
def test_busy_intervals_block_occupied_range(busy: list[Interval], blocked: set[str]) -> None:
    expected = [t for t in MORNING + AFTERNOON if t not in blocked]
    assert hhmm(free_starts_on(MON, rules(), busy, NOW)) == expected


@pytest.mark.parametrize("seed", range(5))
def test_hundreds_of_busy_intervals_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    r = rules(step=5 * MIN, duration=20 * MIN, buffer=5 * MIN)
    base = at(MON, "00:00")
    busy = []
    for _ in range(500):
        start = base + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        busy.append((start, start + timedelta(minutes=rng.randrange(0, 90))))
    for day in (MON + timedelta(days=n) for n in range(7)):
        got = free_starts_on(day, r, busy, NOW)
        everything = free_starts_on(day, r, [], NOW)
        expected = [
            s
            for s in everything
            if not any(b0 < s + r.duration + r.buffer and s < b1 for b0, b1 in busy)
        ]
        assert got == expected


@pytest.mark.parametrize(
    ("now", "notice", "horizon", "day", "expected"),
    [
        (at(MON, "10:05"), 0, 14, MON, MORNING[3:] + AFTERNOON),
        (at(MON, "10:05"), 120, 14, MON, AFTERNOON),  # earliest 12:05 falls in lunch
        (at(MON, "09:00"), 0, 14, MON, MORNING + AFTERNOON),  # start == now is allowed
        (at(MON, "09:00"), 30, 14, MON, MORNING[1:] + AFTERNOON),  # inclusive notice bound
        (at(MON, "18:00"), 0, 14, MON, []),
        (at(MON, "09:00"), 0, 7, NEXT_MON, ["09:00"]),  # horizon bound inclusive
        (at(MON, "09:00"), 0, 7, date(2026, 1, 20), []),
        (at(MON, "09:01"), 0, 7, NEXT_MON, ["09:00"]),
        (at(MON, "08:59"), 0, 7, NEXT_MON, []),
    ],
)
def test_minimum_notice_and_horizon(
    now: datetime, notice: int, horizon: int, day: date, expected: list[str]
) -> None:
    r = rules(min_notice=notice * MIN, horizon=timedelta(days=horizon))
    assert hhmm(free_starts_on(day, r, [], now)) == expected


def test_closed_weekday_and_saturday_hours() -> None:
    assert free_starts_on(SUN, rules(), [], NOW) == []
    assert hhmm(free_starts_on(SAT, rules(), [], NOW)) == [
        "10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30",
    ]  # fmt: skip


MONDAY_BUSY = [(at(NEXT_MON, "00:00"), at(date(2026, 1, 20), "00:00"))]


@pytest.mark.parametrize(
    ("after_day", "busy", "horizon", "expected_day"),
    [
        (SAT, [], 14, NEXT_MON),  # skips closed Sunday
        (FRI, [], 14, SAT),
        (SAT, MONDAY_BUSY, 14, date(2026, 1, 20)),  # fully booked Monday is not open
        (date(2025, 12, 1), [], 14, MON),  # a past day starts the search today
        (date(2026, 2, 1), [], 14, None),  # beyond the horizon
        # Horizon ends Sat 2026-01-24 07:00, before Saturday opens at 10:00.
        (date(2026, 1, 23), [], 12, None),
    ],
)
def test_next_open_day(
    after_day: date, busy: list[Interval], horizon: int, expected_day: date | None
) -> None:
    r = rules(horizon=timedelta(days=horizon))
    found = next_open_day(after_day, r, busy, NOW)
    if expected_day is None:
        assert found is None
    else:
        assert found is not None
        day, starts = found
        assert day == expected_day
        assert starts == free_starts_on(expected_day, r, busy, NOW)
        assert starts


@pytest.mark.parametrize(
    ("after", "count", "expected"),
    [
        (at(FRI, "16:00"), 3, [at(FRI, "16:00"), at(FRI, "16:30"), at(SAT, "10:00")]),
        (at(SAT, "13:10"), 3, [at(SAT, "13:30"), at(NEXT_MON, "09:00"), at(NEXT_MON, "09:30")]),
        (at(FRI, "09:10"), 2, [at(FRI, "09:30"), at(FRI, "10:00")]),
        (at(FRI, "11:31"), 1, [at(FRI, "13:00")]),  # across lunch
        (at(MON, "00:00") - timedelta(days=3), 2, [at(MON, "09:00"), at(MON, "09:30")]),  # past
        (z("2026-01-16T21:45"), 1, [at(SAT, "10:00")]),  # `after` in UTC (Fri 16:45 local)
        # Horizon ends Mon 2026-01-26 07:00: only Saturday's last two starts remain.
        (at(date(2026, 1, 24), "13:00"), 3, [at(date(2026, 1, 24), t) for t in ("13:00", "13:30")]),
        (at(date(2026, 1, 27), "09:00"), 3, []),
        (at(MON, "09:00"), 0, []),
    ],
)
def test_next_free_starts(after: datetime, count: int, expected: list[datetime]) -> None:
    assert next_free_starts(after, rules(), [], NOW, count=count) == expected


def test_next_free_starts_skips_busy_and_defaults_to_three() -> None:
    busy = [(at(FRI, "16:00"), at(SAT, "11:00"))]
    # Fri 15:30's buffer and Sat 10:30's buffer both reach into the busy range.
    got = next_free_starts(at(FRI, "15:30"), rules(), busy, NOW)
    assert got == [at(SAT, "11:00"), at(SAT, "11:30"), at(SAT, "12:00")]


# --- DST -------------------------------------------------------------------------------------

DST_NOW = z("2026-01-01T00:00")
YEAR = timedelta(days=400)


@pytest.mark.parametrize(
    ("tz", "hours", "day", "duration", "expected_utc"),
    [
        # New York spring forward, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        (NY, ("01:00", "04:00"), date(2026, 3, 8), 30, ["06:00", "06:30", "07:00", "07:30"]),
        # A bound in the gap means the end of the gap (03:00 EDT = 07:00Z).
        (NY, ("01:00", "02:30"), date(2026, 3, 8), 30, ["06:00", "06:30"]),
        (NY, ("02:30", "04:00"), date(2026, 3, 8), 30, ["07:00", "07:30"]),
        # New York fall back, 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:xx means EDT.
        (
            NY,
            ("00:00", "03:00"),
            date(2026, 11, 1),
            30,
            ["04:00", "04:30", "05:00", "05:30", "07:00", "07:30"],
        ),
        # 00:00-02:00 lasts three real hours, so a 60-minute visit at 01:30 EDT fits.
        (NY, ("00:00", "02:00"), date(2026, 11, 1), 60, ["04:00", "04:30", "05:00", "05:30"]),
        # Ordinary hours either side of each transition.
        (NY, ("09:00", "10:00"), date(2026, 3, 7), 30, ["14:00", "14:30"]),
        (NY, ("09:00", "10:00"), date(2026, 3, 8), 30, ["13:00", "13:30"]),
        (NY, ("09:00", "10:00"), date(2026, 10, 31), 30, ["13:00", "13:30"]),
        (NY, ("09:00", "10:00"), date(2026, 11, 1), 30, ["14:00", "14:30"]),
        # London spring forward, 2026-03-29: 01:00 GMT jumps to 02:00 BST.
        (LONDON, ("00:00", "03:00"), date(2026, 3, 29), 30, ["00:00", "00:30", "01:00", "01:30"]),
        (LONDON, ("09:00", "10:00"), date(2026, 1, 12), 30, ["09:00", "09:30"]),
        (LONDON, ("09:00", "10:00"), date(2026, 7, 13), 30, ["08:00", "08:30"]),
    ],
)
def test_dst_days_give_exact_utc_instants(
    tz: ZoneInfo, hours: tuple[str, str], day: date, duration: int, expected_utc: list[str]
) -> None:
    r = rules(
        tz=tz,
        opening_hours=daily(*hours),
        duration=duration * MIN,
        buffer=timedelta(0),
        horizon=YEAR,
    )
    got = free_starts_on(day, r, [], DST_NOW)
    assert got == [z(f"{day.isoformat()}T{t}") for t in expected_utc]


def test_london_fall_back_day_starts_the_previous_utc_day() -> None:
    # 2026-10-25: 02:00 BST becomes 01:00 GMT; local midnight is 23:00Z the day before.
    r = rules(tz=LONDON, opening_hours=daily("00:00", "03:00"), buffer=timedelta(0), horizon=YEAR)
    got = free_starts_on(date(2026, 10, 25), r, [], DST_NOW)
    assert got == [
        z("2026-10-24T23:00"), z("2026-10-24T23:30"), z("2026-10-25T00:00"),
        z("2026-10-25T00:30"), z("2026-10-25T02:00"), z("2026-10-25T02:30"),
    ]  # fmt: skip


def test_london_next_free_starts_across_spring_forward() -> None:
    r = rules(tz=LONDON, opening_hours=daily("09:00", "10:00"), horizon=YEAR)
    got = next_free_starts(at(date(2026, 3, 28), "09:00", LONDON), r, [], DST_NOW)
    assert got == [z("2026-03-28T09:00"), z("2026-03-28T09:30"), z("2026-03-29T08:00")]


FALL_BACK = rules(opening_hours=daily("00:00", "02:00"), buffer=timedelta(0), horizon=YEAR)


def test_fall_back_durations_are_real_elapsed_time() -> None:
    first_0130 = datetime(2026, 11, 1, 1, 30, tzinfo=NY)  # fold=0: EDT, 05:30Z
    assert occupied_range(first_0130, FALL_BACK) == (z("2026-11-01T05:30"), z("2026-11-01T06:00"))
    # 01:00-01:30 EST (the second 01:00) is after the 01:30 EDT visit, not during it.
    later = [(z("2026-11-01T06:00"), z("2026-11-01T06:30"))]
    assert check_start(first_0130, FALL_BACK, later, DST_NOW) is None
    overlapping = [(z("2026-11-01T05:50"), z("2026-11-01T06:30"))]
    assert check_start(first_0130, FALL_BACK, overlapping, DST_NOW) == "busy"


@pytest.mark.parametrize(
    ("r", "start", "expected"),
    [
        # Second 01:00 (EST) is not suggested but is bookable; it ends exactly at 02:00 EST.
        (FALL_BACK, z("2026-11-01T06:00"), None),
        (FALL_BACK, z("2026-11-01T06:30"), None),
        (FALL_BACK, z("2026-11-01T06:31"), "outside_hours"),
        # 01:30 EDT + 60 real minutes is 01:30 EST (06:30Z), inside hours; wall-clock
        # arithmetic would say 02:30 and refuse it.
        (replace(FALL_BACK, duration=60 * MIN), z("2026-11-01T05:30"), None),
        (replace(FALL_BACK, duration=60 * MIN), z("2026-11-01T06:01"), "outside_hours"),
        # A 02:30 closing on spring-forward day means 03:00 EDT (07:00Z), not 03:30 EDT.
        (rules(opening_hours=daily("01:00", "02:30"), horizon=YEAR), z("2026-03-08T06:30"), None),
        (
            rules(opening_hours=daily("01:00", "02:30"), horizon=YEAR),
            z("2026-03-08T06:31"),
            "outside_hours",
        ),
        (rules(opening_hours=daily("02:30", "04:00"), horizon=YEAR), z("2026-03-08T07:00"), None),
        (
            rules(opening_hours=daily("02:30", "04:00"), horizon=YEAR),
            z("2026-03-08T06:59"),
            "outside_hours",
        ),
    ],
)
def test_check_start_on_dst_days(r: SchedulingRules, start: datetime, expected: str | None) -> None:
    assert check_start(start, r, [], DST_NOW) == expected


# --- check_start -----------------------------------------------------------------------------

CHECK_BUSY = [(at(MON, "10:30"), at(MON, "11:00"))]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(MON, "06:00"), "past"),
        (NOW, "too_soon"),  # min_notice is one hour
        (at(MON, "07:30"), "too_soon"),
        (at(date(2026, 1, 26), "09:00"), "beyond_horizon"),
        (at(MON, "08:30"), "outside_hours"),
        (at(MON, "11:45"), "outside_hours"),  # would run into lunch
        (at(MON, "16:45"), "outside_hours"),  # would end after closing
        (at(SUN, "10:00"), "outside_hours"),
        (z("2026-01-13T03:00"), "outside_hours"),  # Monday 22:00 in New York
        (at(MON, "10:00"), "busy"),  # its buffer overlaps 10:30
        (at(MON, "10:45"), "busy"),
        (at(MON, "11:00"), None),  # touching the busy end
        (at(MON, "09:40"), None),  # occupied [09:40, 10:20) ends before 10:30
        (at(MON, "09:10"), None),  # off the grid is fine for explicit requests
        (at(MON, "16:30"), None),  # buffer past closing is fine
        (z("2026-01-12T14:00"), None),  # 09:00 New York, given in UTC
    ],
)
def test_check_start_reasons(start: datetime, expected: str | None) -> None:
    assert check_start(start, rules(min_notice=timedelta(hours=1)), CHECK_BUSY, NOW) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(NEXT_MON, "09:00"), None),  # exactly now + horizon
        (at(NEXT_MON, "09:00") + timedelta(seconds=1), "beyond_horizon"),
        (at(MON, "09:30"), None),  # exactly now + min_notice
        (at(MON, "09:30") - timedelta(seconds=1), "too_soon"),
    ],
)
def test_check_start_bounds_are_inclusive(start: datetime, expected: str | None) -> None:
    r = rules(min_notice=30 * MIN, horizon=timedelta(days=7))
    assert check_start(start, r, [], at(MON, "09:00")) == expected


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: OpeningHours(7, time(9), time(17)),
        lambda: OpeningHours(-1, time(9), time(17)),
        lambda: OpeningHours(0, time(17), time(9)),
        lambda: OpeningHours(0, time(9), time(9)),
        lambda: OpeningHours(0, time(9, tzinfo=UTC), time(17)),
        lambda: rules(duration=timedelta(0)),
        lambda: rules(step=timedelta(0)),
        lambda: rules(buffer=-MIN),
        lambda: rules(min_notice=-MIN),
        lambda: rules(horizon=-MIN),
    ],
)
def test_invalid_rules_are_configuration_errors(build: Callable[[], object]) -> None:
    with pytest.raises(ConfigurationError):
        build()


@pytest.mark.parametrize(
    "call",
    [
        lambda: free_starts_on(MON, rules(), [], datetime(2026, 1, 12, 7)),
        lambda: check_start(datetime(2026, 1, 12, 10), rules(), [], NOW),
        lambda: next_free_starts(datetime(2026, 1, 12, 10), rules(), [], NOW),
        lambda: free_starts_on(MON, rules(), [(datetime(2026, 1, 12, 10), at(MON, "11:00"))], NOW),
        lambda: free_starts_on(MON, rules(), [(at(MON, "11:00"), at(MON, "10:00"))], NOW),
    ],
)
def test_naive_datetimes_and_inverted_busy_are_rejected(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


def test_rules_are_hashable_and_overlapping_hours_do_not_duplicate() -> None:
    r = rules(
        opening_hours=[OpeningHours(0, time(9), time(11)), OpeningHours(0, time(10), time(12))]
    )
    assert isinstance(r.opening_hours, tuple)
    hash(r)
    assert hhmm(free_starts_on(MON, r, [], NOW)) == MORNING
