"""Short, speakable single-line strings for voice agents.

Everything here is pure and locale-independent: day and month names are spelled out in English
rather than taken from `strftime("%A")` / `"%B"`, whose output depends on the machine's locale.
Times are always converted to the org's zone explicitly; a naive datetime is refused, because
`astimezone()` would silently read it as the server's local time.
"""

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ELLIPSIS = "…"


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(tz)


def spoken_clock(t: time) -> str:
    """A wall-clock time as spoken: "2:00 PM", "12:30 AM" (no leading zero, seconds dropped)."""
    hour12 = t.hour % 12 or 12
    suffix = "AM" if t.hour < 12 else "PM"
    return f"{hour12}:{t.minute:02d} {suffix}"


def spoken_date(d: date) -> str:
    """A calendar date as spoken: "Tuesday, November 25, 2026"."""
    return f"{DAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


def spoken_time(at: datetime, tz: ZoneInfo) -> str:
    """The wall-clock time of `at` in `tz`: "2:00 PM". Raises ValueError for a naive `at`."""
    return spoken_clock(_local(at, tz).time())


def spoken_datetime(at: datetime, tz: ZoneInfo) -> str:
    """`at` in `tz`: "Tuesday, November 25, 2026 at 2:00 PM". Raises ValueError if naive."""
    local = _local(at, tz)
    return f"{spoken_date(local.date())} at {spoken_clock(local.time())}"


def spoken_times_list(times: Sequence[datetime], tz: ZoneInfo, limit: int = 6) -> str:
    """Times of one day, in the order given: "9:00 AM, 9:30 AM and 10:00 AM".

    At most `limit` times are named; the rest become "and N more". An empty list gives ""
    so the caller chooses the wording for "nothing free".
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    spoken = [spoken_time(at, tz) for at in times]
    if not spoken:
        return ""
    if len(spoken) > limit:
        return f"{', '.join(spoken[:limit])} and {len(spoken) - limit} more"
    if len(spoken) == 1:
        return spoken[0]
    return f"{', '.join(spoken[:-1])} and {spoken[-1]}"


def one_line(text: str, limit: int = 300) -> str:
    """`text` as one line of at most `limit` characters.

    Runs of whitespace (newlines, tabs, Unicode line separators) and control characters become
    one space; the ends are trimmed. Longer text is cut, at a word boundary when one is near,
    and ends with "…". Every string sent to a voice agent passes through here, because agents
    read newlines and stack-trace-like text aloud badly.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # Control characters that are not whitespace (NUL, escape, ...) would otherwise survive
    # split(); treat them as separators too.
    cleaned = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    squashed = " ".join(cleaned.split())
    if len(squashed) <= limit:
        return squashed
    cut = squashed[: limit - 1]
    # Prefer ending on a whole word, unless that would throw away most of the text.
    boundary = cut.rfind(" ")
    ends_on_word = squashed[limit - 1] == " "
    if not ends_on_word and boundary >= (limit - 1) // 2:
        cut = cut[:boundary]
    return cut.rstrip() + ELLIPSIS
