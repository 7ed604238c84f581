"""No test depends on today's date except through "now".

A date written into a test as a day still to come stops meaning what the test says once that
day arrives: "a day ahead" becomes "a day gone" and the test fails (or, worse, passes for another
reason) without any code having changed. Tests compute such days from the clock in the clinic's
zone (tests/booking_helpers.py: local_start, local_day, dst_days); this guard finds the literal
dates and years still ahead of today anywhere under tests/ and names them file:line.
"""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]

# A date as text, also inside a longer string ("2026-11-24", "2026-11-24T14:00Z").
_ISO_DATE = re.compile(r"(?<![\d.])(\d{4})-(\d{2})-(\d{2})(?!\d)")
# A date as the first arguments of a call: date(2026, 11, 24), ny(2026, 11, 24, 9).
_CALL_DATE = re.compile(r"\b\w+\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\b")
# A year on its own (after "in", in "March 14, <year>", an ISO week, a call's year on its own
# line). Only 20xx: four-digit numbers that are not years (ports, sizes, 9999) stay out of it.
_YEAR = re.compile(r"(?<![\w\\.+-])(20\d\d)(?![\w.])")
# Year 9999 is the last a date can name: beyond every booking horizon for as long as this code
# lives, so it stays a fixed "too far ahead" and never turns into a day that has come.
_FOREVER_AHEAD = 9999

# Files that never read the clock: every function they test is handed its `now` (or the day
# it formats), so their dates are relative to that fixed now, not to today. The guard checks
# below that they indeed read no clock.
PINNED_CLOCK_FILES = {
    # parse_start / parse_day get `now=`; gaps, folds and leap days are facts of those years.
    "unit/test_normalize.py": "every call passes its own `now`",
    # The availability engine takes `now`; the DST days it names in New York and London are facts.
    "unit/test_availability.py": "every call passes its own `now`",
    # Spoken dates: the weekday of a given date is a fact, not a question of today.
    "unit/test_speech.py": "formats the dates it is given",
    # Message texts take `today=` and `day=` explicitly.
    "unit/test_messages.py": "passes `today` and the day explicitly",
    # The answer path's pure steps take `now`.
    "unit/test_scheduling.py": "every call passes its own `now`",
    # Google event resources name their own times; no clock is read.
    "unit/test_busy_events.py": "reads the times of the events it builds",
}
# Lines whose dates are not days a test counts on: (file, text that marks the line).
ALLOWED_LINES = {
    # Key ids named like the month a key was made: labels, never compared with a clock.
    ("unit/test_codec.py", "generate_key("),
    ("unit/test_codec.py", "KEY_ID_METADATA] == b"),
    # The upper bound of random years in log timestamps that must not be masked as phone numbers.
    ("unit/test_masking.py", "rng.randint("),
    # Bytes of a signed request body: only the signature over them is checked, never the date.
    ("unit/test_voice_parsing.py", "BODY = b'"),
}
# What "reading the clock" looks like in a test; a pinned-clock file must contain none of it.
_CLOCK_READ = re.compile(
    r"\b(?:datetime|date)\.(?:now|today|utcnow)\(|\btime\.(?:time|time_ns|monotonic)\("
    r"|\b(?:local_start|local_day|dst_days)\("
)


def future_literals(text: str, today: date) -> list[tuple[int, str]]:
    """(line number, literal) of every date or year in `text` that is today or later."""
    now = (today.year, today.month, today.day)
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        taken: list[tuple[int, int]] = []
        for pattern in (_ISO_DATE, _CALL_DATE):
            for match in pattern.finditer(line):
                taken.append(match.span())
                ymd = tuple(int(part) for part in match.groups())
                # Compared as numbers, so an impossible date ahead (month 13) counts as ahead.
                if ymd >= now and ymd[0] != _FOREVER_AHEAD:
                    found.append((number, match.group(0)))
        for match in _YEAR.finditer(line):
            inside_a_date = any(start <= match.start() < end for start, end in taken)
            if not inside_a_date and int(match.group(1)) >= today.year:
                found.append((number, match.group(1)))
    return found


def _test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_test_holds_a_date_or_year_still_ahead() -> None:
    today = datetime.now(UTC).date()
    offending = []
    for path in _test_files():
        name = path.relative_to(TESTS).as_posix()
        if name in PINNED_CLOCK_FILES:
            continue
        text = path.read_text()
        lines = text.splitlines()
        for number, literal in future_literals(text, today):
            line = lines[number - 1]
            if not any(name == f and mark in line for f, mark in ALLOWED_LINES):
                offending.append(f"tests/{name}:{number}: {literal}")
    assert offending == [], (
        "dates still ahead of today written into tests; compute them from the clock "
        "(tests/booking_helpers.py):\n" + "\n".join(offending)
    )


@pytest.mark.parametrize("name", sorted(PINNED_CLOCK_FILES))
def test_files_allowed_fixed_dates_read_no_clock(name: str) -> None:
    text = (TESTS / name).read_text()
    reads = [line for line in text.splitlines() if _CLOCK_READ.search(line)]
    assert reads == [], f"tests/{name} reads the clock, so its fixed dates can expire: {reads}"


def test_allowed_lines_are_still_there() -> None:
    # An entry whose line is gone would allow a real fixed date on some later line like it.
    for name, mark in ALLOWED_LINES:
        assert mark in (TESTS / name).read_text(), (name, mark)


def test_the_scan_finds_dates_and_years_ahead_in_every_spelling() -> None:
    today = datetime.now(UTC).date()
    this, ahead = today.year, today.year + 1
    text = "\n".join(
        [
            f'start = "{today}T10:00"',  # today is not the past yet
            f'start = "{ahead}-01-05"',
            f"day = date({ahead}, 1, 5)",
            f"at = ny({ahead}, 7, 1, 9, 30)",
            f'bad = "{this}-13-01T10:00"',  # impossible, and still ahead
            f"# 14 March {ahead}, New York",
            f'said = "Sunday, March 14, {ahead}"',
            f"    {ahead}, 3, 14, 10, tzinfo=NY",
            f'key_id = "{this}-11"',
        ]
    )
    assert [number for number, _ in future_literals(text, today)] == list(range(1, 10))


def test_the_scan_leaves_past_dates_sentinels_and_other_numbers() -> None:
    today = datetime.now(UTC).date()
    past = today.year - 1
    text = "\n".join(
        [
            f'start = "{past}-12-31T23:59"',
            f"day = date({past}, 12, 31)",
            f'said = "Sunday, March 14, {past}"',
            '"+275760-09-13T00:00"',
            'too_far = "9999-12-31T23:45"',
            "timeout_ms = 3000",
            "port = 20443",
            'separator = "\\u2028"',
            "year = 1999",
        ]
    )
    assert future_literals(text, today) == []
