"""Spoken formatting: locale-free names, org-zone conversion, compact lists, one-line output."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.speech import (
    one_line,
    spoken_clock,
    spoken_date,
    spoken_datetime,
    spoken_time,
    spoken_times_list,
)

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (time(0, 0), "12:00 AM"),
        (time(0, 5), "12:05 AM"),
        (time(9, 0), "9:00 AM"),
        (time(9, 30), "9:30 AM"),
        (time(11, 59), "11:59 AM"),
        (time(12, 0), "12:00 PM"),
        (time(13, 7), "1:07 PM"),
        (time(14, 0, 59), "2:00 PM"),  # seconds are not spoken
        (time(23, 59), "11:59 PM"),
    ],
)
def test_spoken_clock(t: time, expected: str) -> None:
    assert spoken_clock(t) == expected


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 11, 25), "Wednesday, November 25, 2026"),
        (date(2026, 11, 1), "Sunday, November 1, 2026"),
        (date(2027, 1, 1), "Friday, January 1, 2027"),
        (date(2028, 2, 29), "Tuesday, February 29, 2028"),
        (date(2026, 5, 4), "Monday, May 4, 2026"),
    ],
)
def test_spoken_date(d: date, expected: str) -> None:
    assert spoken_date(d) == expected


@pytest.mark.parametrize(
    ("at", "tz", "expected"),
    [
        (datetime(2026, 11, 25, 14, 0, tzinfo=NY), NY, "Wednesday, November 25, 2026 at 2:00 PM"),
        (utc(2026, 11, 25, 19, 0), NY, "Wednesday, November 25, 2026 at 2:00 PM"),
        (utc(2026, 11, 25, 19, 0), TOKYO, "Thursday, November 26, 2026 at 4:00 AM"),
        (utc(2026, 11, 26, 4, 30), NY, "Wednesday, November 25, 2026 at 11:30 PM"),
        # DST days in New York: spring forward on March 8, fall back on November 1, 2026.
        (utc(2026, 3, 8, 6, 59), NY, "Sunday, March 8, 2026 at 1:59 AM"),
        (utc(2026, 3, 8, 7, 0), NY, "Sunday, March 8, 2026 at 3:00 AM"),
        (utc(2026, 3, 8, 14, 0), NY, "Sunday, March 8, 2026 at 10:00 AM"),
        (utc(2026, 11, 1, 5, 30), NY, "Sunday, November 1, 2026 at 1:30 AM"),
        (utc(2026, 11, 1, 6, 30), NY, "Sunday, November 1, 2026 at 1:30 AM"),
        (utc(2026, 11, 1, 15, 0), NY, "Sunday, November 1, 2026 at 10:00 AM"),
    ],
)
def test_spoken_datetime(at: datetime, tz: ZoneInfo, expected: str) -> None:
    assert spoken_datetime(at, tz) == expected
    assert spoken_time(at, tz) == expected.rsplit(" at ", 1)[1]


@pytest.mark.parametrize("fn", [spoken_time, spoken_datetime])
def test_naive_datetimes_are_refused(fn: object) -> None:
    # astimezone() would read a naive datetime as the server's local time.
    with pytest.raises(ValueError):
        fn(datetime(2026, 11, 25, 14, 0), NY)  # type: ignore[operator]


def _slots(n: int, start: datetime = datetime(2026, 11, 25, 9, 0, tzinfo=NY)) -> list[datetime]:
    return [start + timedelta(minutes=30 * i) for i in range(n)]


@pytest.mark.parametrize(
    ("times", "limit", "expected"),
    [
        ([], 6, ""),
        (_slots(1), 6, "9:00 AM"),
        (_slots(2), 6, "9:00 AM and 9:30 AM"),
        (_slots(3), 6, "9:00 AM, 9:30 AM, and 10:00 AM"),
        (_slots(3), 3, "9:00 AM, 9:30 AM, and 10:00 AM"),
        (_slots(5), 3, "9:00 AM, 9:30 AM, 10:00 AM, and 2 more"),
        (_slots(2), 1, "9:00 AM and 1 more"),
        (_slots(8), 6, "9:00 AM, 9:30 AM, 10:00 AM, 10:30 AM, 11:00 AM, 11:30 AM, and 2 more"),
        # Converted to the org's zone, across the fall-back hour.
        (_slots(3, utc(2026, 11, 1, 5, 0)), 6, "1:00 AM, 1:30 AM, and 1:00 AM"),
        (
            [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 7, 30)],
            6,
            "1:30 AM, 3:00 AM, and 3:30 AM",
        ),
    ],
)
def test_spoken_times_list(times: list[datetime], limit: int, expected: str) -> None:
    assert spoken_times_list(times, NY, limit) == expected


def test_spoken_times_list_default_limit() -> None:
    assert spoken_times_list(_slots(7), NY).endswith("and 1 more")


@pytest.mark.parametrize("limit", [0, -1])
def test_spoken_times_list_rejects_bad_limit(limit: int) -> None:
    with pytest.raises(ValueError):
        spoken_times_list(_slots(2), NY, limit)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 300, ""),
        ("short", 300, "short"),
        ("hello\nworld", 300, "hello world"),
        ("  a \t b \r\n\n c  ", 300, "a b c"),
        ("a\u2028b\u2029c\x85d", 300, "a b c d"),
        ("a\x00b\x1bc", 300, "a b c"),
        (
            "Traceback (most recent call last):\n  File x\n",
            300,
            "Traceback (most recent call last): File x",
        ),
        ("x" * 300, 300, "x" * 300),
        ("x" * 301, 300, "x" * 299 + "…"),
        ("aaaa bbbb cccc", 10, "aaaa bbbb…"),  # the cut falls on a space: keep the whole word
        ("aaaa bbbbbb", 8, "aaaa…"),  # back off to the last whole word
        ("abcdefghijklmnop", 5, "abcd…"),  # no space to back off to
        ("a bcdefghijkl", 6, "a bcd…"),  # backing off would lose most of the text
        ("ab", 1, "…"),
        ("a\n" * 200, 300, "a " * 149 + "a…"),
    ],
)
def test_one_line(text: str, limit: int, expected: str) -> None:
    result = one_line(text, limit)
    assert result == expected
    assert len(result) <= limit
    assert "\n" not in result


def test_one_line_is_idempotent() -> None:
    text = "I couldn't\nfind a free slot " * 40
    once = one_line(text)
    assert one_line(once) == once


@pytest.mark.parametrize("limit", [0, -5])
def test_one_line_rejects_bad_limit(limit: int) -> None:
    with pytest.raises(ValueError):
        one_line("text", limit)
