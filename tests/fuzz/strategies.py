"""Hypothesis strategies for hostile values: text, JSON, times, phones, emails, tool arguments.

Every strategy mixes values that should work (so real bookings happen and later calls can move
or cancel them) with values that must be refused: control characters, lone surrogates, odd
unicode, strings at and past each field's length limit, the wrong JSON type, broken and valid
date formats, invalid phone numbers, unknown tools, missing and duplicate ids.

One module because the value strategies compose one another: `tool_arguments` builds each tool's
arguments from the text, time, phone and email strategies above it.
"""

import calendar
import itertools
import re
from datetime import date, time
from typing import Any

from hypothesis import strategies as st

from tests.booking_helpers import dst_days, local_day, local_start

TOOLS = (
    "check_availability",
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "find_appointments",
)
# The test org's (tests/factories.py), so some calls name them right.
SERVICE, PROVIDER = "Consultation", "Dr. Test"


class Missing:
    """A field or header left out; `without_missing` drops it."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


def known_token(index: int) -> str:
    """Stands for the `index`-th booking made so far in the test; harness.Ledger.resolve puts
    the real id in the encoded request, so it also works inside arguments sent as a string."""
    return f"@known-booking-{index}@"


KNOWN_TOKEN = re.compile(rb"@known-booking-([0-9])@")
known_booking = st.integers(0, 9).map(known_token)


def without_missing(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not MISSING}


# Text ---------------------------------------------------------------------------------------

# Limits in api/inputs.py and core/domain/normalize.py: each is tried just under, at and just past.
_LIMITS = (64, 100, 200, 254, 500, 1000, 2000)
_ODD = (
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\ud800",  # lone surrogates: UTF-8 cannot encode them
    "\udfff",
    "\u200b",  # zero width space
    "\u202e",  # right-to-left override
    "\u2028",  # line separator
    "\ufeff",
    "\ufffd",
    "\uffff",
    "\U0010ffff",
    "\U0001f600",
    "e\u0301",  # combining accent
    "\u0130",  # İ: lower() makes it two characters
    "\ufb03",  # ﬃ: upper() makes it three
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff12\uff10\uff12\uff16",  # fullwidth digits
    "%s%n{0}${x}",
    "'; DROP TABLE bookings; --",
    "\t\n\r",
)


def _repeated(char: str, size: int) -> str:
    return char * max(size, 0)


near_limits = st.builds(
    _repeated,
    st.sampled_from(("x", "7", " ", "\u00e9", "\U0001f600", "\x00")),
    st.builds(
        lambda limit, delta: limit + delta, st.sampled_from(_LIMITS), st.sampled_from((-1, 0, 1))
    ),
)
# Past the 256 KiB body limit once JSON-encoded (the emoji is 12 bytes as a \\u escape pair).
oversized = st.builds(_repeated, st.sampled_from(("x", "\U0001f600")), st.just(300_000))

hostile_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zl", "Zp", "Mn", "Co"]), max_size=8),
    st.lists(st.one_of(st.sampled_from(_ODD), st.text(max_size=5)), max_size=5).map("".join),
    near_limits,
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10))
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# What an LLM may put where a string belongs, or anything at all.
hostile_value: st.SearchStrategy[Any] = st.one_of(
    hostile_text, hostile_text, json_scalars, json_values
)


# Times, phones, emails, names ----------------------------------------------------------------

_TIME_FORMATS = (
    "{d}T{h:02}:{m:02}",
    "{d} {h:02}:{m:02}",
    "{d}t{h:02}:{m:02}",
    "{d}T{h:02}:{m:02}:00",
    "{d}T{h:02}:{m:02}:00.123456789",
    "{d}T{h:02}:{m:02}-05:00",
    "{d}T{h:02}:{m:02}Z",
    "{d}T{h:02}:{m:02}+0530",
    "{d}T{h:02}:{m:02}+14",
    "{d}T{h:02}:{m:02}+99:99",
    "{d}",
    "{d}T{h}:{m}",
    "{h:02}:{m:02}",
    "{d.month}/{d.day}/{d.year} {h}:{m:02}",
    "{d:%B} {d.day} at {h}",
)
# Days from the clock, so each odd time keeps its meaning whatever the date: the next DST days
# in the test org's zone, the next February 29 still to come, a day a few weeks ahead.
_SPRING, _FALL = dst_days()
_AHEAD = local_day(days_ahead=20)
_NEXT_LEAP = next(
    y
    for y in itertools.count(_AHEAD.year)
    if calendar.isleap(y) and date(y, 2, 29) > local_day(days_ahead=0)
)
_ODD_TIMES = (
    "",
    " ",
    "now",
    "tomorrow at 2pm",
    "0001-01-01T00:00+14:00",
    "0000-01-01T00:00",
    "9999-12-31T23:45",
    "9999-12-31T23:59-12:00",
    "9999-12-30T10:00",
    f"{_SPRING}T02:30",  # New York spring-forward gap
    f"{_FALL}T01:30",  # New York fall-back fold
    f"{_NEXT_LEAP}-02-29T10:00",
    f"{_NEXT_LEAP + 1}-02-29T10:00",  # a February 29 that will not exist
    "2020-02-29T10:00",  # a leap day moved to a year without one
    f"{_AHEAD.year}-13-01T10:00",
    f"{_AHEAD.year + 1}-11-31T10:00",
    f"{_AHEAD}T24:00",
    f"{_AHEAD}T14:00\x00",
    "+275760-09-13T00:00",
    f"{_AHEAD}T14:00:00.1234567890123",
)


def _formatted(days: int, hour: int, minute: int, fmt: str) -> str:
    day = local_start(days_ahead=days).date()
    return fmt.format(d=day, h=hour, m=minute)


# Any shape, any day from last year to two years ahead, hours and minutes past their range.
any_time = st.one_of(
    st.builds(
        _formatted,
        st.integers(-400, 800),
        st.integers(-1, 25),
        st.sampled_from((0, 30, 15, 59, 60, -1)),
        st.sampled_from(_TIME_FORMATS),
    ),
    st.sampled_from(_ODD_TIMES),
    hostile_text,
)


def _bookable(days: int, hour: int, half: bool, naive: bool) -> str:
    at = local_start(days_ahead=days, at=time(hour, 30 if half else 0))
    return at.replace(tzinfo=None).isoformat(timespec="minutes") if naive else at.isoformat()


# A start the test org takes: 3+ days ahead (no reminder due during the test), within its
# 60-day horizon, in opening hours (08:00-20:00).
bookable_start = st.builds(
    _bookable, st.integers(3, 45), st.integers(8, 19), st.booleans(), st.booleans()
)
bookable_day = st.builds(
    lambda days: local_start(days_ahead=days).date().isoformat(), st.integers(0, 60)
)

VALID_PHONES = (
    "+12125550123",
    "(212) 555-0142",
    "212-555-0199",
    "+1 212 555 0100",
    "tel:+12125550111",
    "12125550177",
    "+44 20 7946 0958",
)
_INVALID_PHONES = (
    "12",
    "0",
    "+",
    "++12125550123",
    "+1 555 123 4567",
    "tel:+12125550123;ext=12",
    "+12125550123 ext. 5",
    "+9999999999999999999999",
    "1-800-FLOWERS",
    "+1212555012\uff13",
    "\u0661\u0662\u0661\u0662\u0665\u0665\u0665\u0660\u0661\u0662\u0663",
)
phones = st.one_of(
    st.sampled_from(VALID_PHONES),
    st.sampled_from(_INVALID_PHONES),
    st.from_regex(r"\+1212555[0-9]{4}", fullmatch=True),
    st.from_regex(r"\+?[0-9 ()\-]{0,25}", fullmatch=True),
    hostile_text,
)
emails = st.one_of(
    st.sampled_from(
        (
            "sam@example.com",
            "Sam.Wilson+x@Clinic.Example",
            "mailto:sam@example.com",
            "sam@@example.com",
            "@example.com",
            "sam@localhost",
            "sam@exa mple.com",
            "sam@ex_ample.com",
            "a" * 65 + "@example.com",
            "s@" + "a" * 250 + ".com",
        )
    ),
    st.emails(),
    hostile_text,
)
names = st.one_of(
    st.sampled_from(
        (
            "Sam Wilson",
            "ann lee",
            "JOS\u00c9 \u00d1\u00da\u00d1EZ",
            "\u674e\u5c0f\u9f99",
            "O'Brien-Smith",
        )
    ),
    st.sampled_from(("", "   ", "123", "!!!", "Dr.")),
    hostile_text,
)
booking_ids = st.one_of(
    known_booking,
    known_booking,
    st.uuids().map(str),
    st.sampled_from(("not-a-uuid", "", " ", "00000000-0000-0000-0000-000000000000", "{}")),
    hostile_value,
)


def weighted(draw: st.DrawFn, *choices: tuple[int, st.SearchStrategy[Any]]) -> Any:
    """A draw from one of `choices`, picked in proportion to its weight (the first shrinks
    best: put the ordinary case first)."""
    roll = draw(st.integers(0, sum(weight for weight, _ in choices) - 1))
    for weight, strategy in choices:
        if roll < weight:
            return draw(strategy)
        roll -= weight
    raise AssertionError("unreachable")


# Tool arguments -------------------------------------------------------------------------------


def _field(good: st.SearchStrategy[Any], *, required: bool) -> st.SearchStrategy[Any]:
    """Mostly a usable value, sometimes a hostile one, sometimes absent (absent more often
    when the field is optional)."""
    absent = st.just(MISSING)
    if required:
        return st.one_of(good, good, good, hostile_value, absent)
    return st.one_of(absent, absent, good, hostile_value)


def _arguments(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.dictionaries(st.text(max_size=10), json_values, max_size=2)
    return st.builds(
        lambda values, more: {**more, **without_missing(values)},
        st.fixed_dictionaries(fields),
        st.one_of(st.just({}), st.just({}), extra),
    )


_GOOD_ARGUMENTS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "check_availability": st.fixed_dictionaries({"date": bookable_day}),
    "book_appointment": st.builds(
        lambda name, start, phone: without_missing({"name": name, "start": start, "phone": phone}),
        st.sampled_from(("Sam Wilson", "ann lee")),
        bookable_start,
        st.one_of(st.just(MISSING), st.sampled_from(VALID_PHONES)),
    ),
    "reschedule_appointment": st.builds(
        lambda start, booking: without_missing({"new_start": start, "booking_id": booking}),
        bookable_start,
        st.one_of(st.just(MISSING), known_booking),
    ),
    "cancel_appointment": st.builds(
        lambda booking: without_missing({"booking_id": booking, "reason": "fuzz"}),
        st.one_of(st.just(MISSING), known_booking),
    ),
    "find_appointments": st.builds(
        lambda phone: without_missing({"phone": phone}),
        st.one_of(st.just(MISSING), st.sampled_from(VALID_PHONES)),
    ),
}
_HOSTILE_ARGUMENTS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "check_availability": _arguments(
        {
            "date": _field(st.one_of(bookable_day, any_time), required=True),
            "service": _field(st.just(SERVICE), required=False),
            "provider": _field(st.just(PROVIDER), required=False),
        }
    ),
    "book_appointment": _arguments(
        {
            "name": _field(names, required=True),
            "start": _field(st.one_of(bookable_start, any_time), required=True),
            "phone": _field(phones, required=False),
            "email": _field(emails, required=False),
            "service": _field(st.just(SERVICE), required=False),
            "provider": _field(st.just(PROVIDER), required=False),
            "notes": _field(st.one_of(st.text(max_size=50), near_limits), required=False),
        }
    ),
    "reschedule_appointment": _arguments(
        {
            "new_start": _field(st.one_of(bookable_start, any_time), required=True),
            "booking_id": _field(booking_ids, required=False),
        }
    ),
    "cancel_appointment": _arguments(
        {
            "booking_id": _field(booking_ids, required=False),
            "reason": _field(st.one_of(st.just("changed plans"), near_limits), required=False),
        }
    ),
    "find_appointments": _arguments({"phone": _field(phones, required=False)}),
}


def tool_arguments(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments for `tool` (well-formed or hostile, evenly); for an unknown name, any tool's."""
    if tool in TOOLS:
        return st.one_of(_GOOD_ARGUMENTS[tool], _HOSTILE_ARGUMENTS[tool])
    return st.sampled_from(TOOLS).flatmap(tool_arguments)


tool_names: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(TOOLS),
    st.sampled_from(TOOLS),
    st.sampled_from(TOOLS),
    st.sampled_from(TOOLS).map(lambda name: f" {name.upper()} "),
    st.sampled_from(("book", "bookAppointment", "", "transfer_call")),
    hostile_value,
)
# Fresh ids, ids shared between examples and calls (retries and duplicates), absent or junk.
call_ids: st.SearchStrategy[Any] = st.one_of(
    st.uuids().map(lambda u: f"call_{u.hex}"),
    st.uuids().map(lambda u: f"call_{u.hex}"),
    st.sampled_from(("call_1", "call_2", " call_1 ")),
    st.just(MISSING),
    hostile_value,
)


# POST /bookings has no caller number to fall back on: a usable body names a phone.
good_booking_fields = st.builds(
    lambda name, start, phone: {"name": name, "start": start, "phone": phone},
    st.sampled_from(("Kim Park", "ann lee")),
    bookable_start,
    st.sampled_from(VALID_PHONES),
)
booking_fields = st.one_of(good_booking_fields, _HOSTILE_ARGUMENTS["book_appointment"])
