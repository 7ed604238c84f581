"""Short, speakable single-line strings for voice agents, in the org's (or caller's) locale.

Weekday and month names, date order, the clock and lists come from CLDR through Babel, never
from `strftime` (whose output depends on the machine's locale) or tables of our own. The few
connecting words ("at", "and 2 more") are gettext messages like every other sentence.
Times are always converted to the org's zone explicitly; a naive datetime is refused, because
`astimezone()` would silently read it as the server's local time.
"""

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list

from core.domain.language import DEFAULT_LOCALE, catalog, cldr

ELLIPSIS = "…"
# How a receptionist says a time, by locale: (on the hour, otherwise). "skeleton:" asks CLDR for
# the locale's own pattern; anything else is a Babel pattern where CLDR has no spoken form
# ("14 Uhr" is said, "14:00" is written). The US keeps minutes ("2:00 PM") as it always has.
_CLOCKS: dict[str, tuple[str, str]] = {
    "en-US": ("skeleton:hm", "skeleton:hm"),
    "en-GB": ("skeleton:h", "skeleton:hm"),
    "de-DE": ("H:mm 'Uhr'", "H:mm 'Uhr'"),
    "es-ES": ("H:mm", "H:mm"),
    "fr-FR": ("H 'h'", "H 'h' mm"),
}


def _spoken(text: str) -> str:
    # CLDR separates "2:00 PM" with a narrow no-break space; voices and tests want a plain one.
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text)


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(tz)


def spoken_clock(t: time, locale: str = DEFAULT_LOCALE) -> str:
    """A wall-clock time as spoken: "2:00 PM" (en-US), "2 pm" (en-GB), "14:00 Uhr", "14 h"."""
    on_the_hour, otherwise = _CLOCKS.get(locale, _CLOCKS[DEFAULT_LOCALE])
    pattern = on_the_hour if t.minute == 0 else otherwise
    wall = t.replace(second=0, microsecond=0, tzinfo=None)
    if pattern.startswith("skeleton:"):
        said = format_skeleton(pattern.removeprefix("skeleton:"), wall, locale=cldr(locale))
    else:
        said = format_time(wall, pattern, locale=cldr(locale))
    return _spoken(said)


def spoken_date(d: date, locale: str = DEFAULT_LOCALE) -> str:
    """A calendar date as spoken: "Tuesday, November 25, 2026", "Dienstag, 25. November 2026"."""
    return _spoken(format_date(d, "full", locale=cldr(locale)))


def spoken_month_day(month: int, day: int, locale: str = DEFAULT_LOCALE) -> str:
    """A month and day that need not exist in every year: "February 29"."""
    # CLDR's pattern for month and day, applied to a leap year so February 29 exists.
    return _spoken(format_skeleton("MMMMd", date(2024, month, day), locale=cldr(locale)))


def spoken_time(at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    """The wall-clock time of `at` in `tz`: "2:00 PM". Raises ValueError for a naive `at`."""
    return spoken_clock(_local(at, tz).time(), locale)


def spoken_datetime(at: datetime, tz: ZoneInfo, locale: str = DEFAULT_LOCALE) -> str:
    """`at` in `tz`: "Tuesday, November 25, 2026 at 2:00 PM". Raises ValueError if naive."""
    local = _local(at, tz)
    return (
        catalog(locale)
        .gettext("{date} at {time}")
        .format(date=spoken_date(local.date(), locale), time=spoken_clock(local.time(), locale))
    )


def spoken_list(items: Sequence[str], locale: str = DEFAULT_LOCALE) -> str:
    """Items joined as the locale joins a list: "a, b, and c", "a, b und c"."""
    return _spoken(format_list(list(items), locale=cldr(locale))) if items else ""


def spoken_times_list(
    times: Sequence[datetime], tz: ZoneInfo, limit: int = 6, locale: str = DEFAULT_LOCALE
) -> str:
    """Times of one day, in the order given: "9:00 AM, 9:30 AM, and 10:00 AM".

    At most `limit` times are named; the rest become "and N more". An empty list gives ""
    so the caller chooses the wording for "nothing free".
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    spoken = [spoken_time(at, tz, locale) for at in times]
    if len(spoken) > limit:
        more = catalog(locale).gettext("{count} more").format(count=len(spoken) - limit)
        spoken = [*spoken[:limit], more]
    return spoken_list(spoken, locale)


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
