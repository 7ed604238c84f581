"""Input normalization: phone, email, name, time zone, region, start times and days.

Pure functions, no I/O and no clock: `now` is always passed in, so results are deterministic.
Bad input raises `InvalidInput` with a short, speakable one-line message and the `field` it is
about; a voice agent reads the message to the caller and asks again.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers

from core.domain.language import N_, quoting_input
from core.domain.speech import spoken_clock, spoken_date, spoken_datetime, spoken_month_day
from core.errors import ConfigurationError, InvalidInput, TimeInPast

MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
_MAX_PHONE_INPUT = 64
_MAX_TIME_INPUT = 64

_BAD_PHONE = N_("I couldn't understand that phone number.")
_BAD_EMAIL = N_("I couldn't understand that email address.")
_BAD_TIME = N_("I couldn't understand that date and time.")
_BAD_DAY = N_("I couldn't understand that date.")

# Specials that only appear in quoted local parts; pragmatically, real addresses never use them.
_EMAIL_LOCAL_FORBIDDEN = set('<>()[]\\,;:"@')
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATE_RE = re.compile(_DATE, re.ASCII)
_DATETIME_RE = re.compile(
    _DATE + r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?", re.ASCII
)


@dataclass(frozen=True, slots=True)
class ParsedTime:
    """A bookable start: `at` is aware, in the org's zone, never before `now`."""

    at: datetime
    moved_to_this_year: bool


@dataclass(frozen=True, slots=True)
class ParsedDay:
    """A day to look at, in the org's calendar: today or later."""

    day: date
    moved_to_this_year: bool


def _text(raw: object, message: str, field: str) -> str:
    # Tool-call arguments come from an LLM: a number where a string belongs must be answered, not
    # crash with AttributeError.
    if not isinstance(raw, str):
        raise InvalidInput(message, field=field)
    return unicodedata.normalize("NFC", raw).strip()


def ensure_region(code: str) -> str:
    """A region phonenumbers knows (ISO 3166 alpha-2, e.g. "US"), upper-cased.

    Raises InvalidInput(field="default_region") for anything else.
    """
    region = _text(code, N_("That isn't a region code I know, like US."), "default_region").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(N_("That isn't a region code I know, like US."), field="default_region")
    return region


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    # Machine-specific entries would make an org's behaviour depend on the server it runs on.
    names = available_timezones() - {"localtime", "Factory"}
    return {name.lower(): name for name in names}


def ensure_timezone(name: str) -> ZoneInfo:
    """The IANA zone `name` names (matched case-insensitively, e.g. "america/new_york").

    Raises InvalidInput(field="time_zone") for names the zone database does not hold.
    """
    message = "That isn't a time zone I know, like America/New_York."
    key = _text(name, message, "time_zone")
    canonical = _zone_names().get(key.lower())
    if canonical is None:
        raise InvalidInput(message, field="time_zone")
    return ZoneInfo(canonical)


def normalize_phone(raw: str, default_region: str) -> str:
    """The E.164 form ("+12125550123") of a valid phone number.

    National numbers are read in `default_region` (the org's, e.g. "US"); "+1 ...", "tel:" URIs
    and bare digit strings work too. Numbers libphonenumber does not consider valid (including
    the non-existent area code 555, as in "+1 555 123 4567"), words, vanity letters and
    extensions raise InvalidInput(field="phone"). An unsupported `default_region` is the org's
    configuration, not the caller's fault: ConfigurationError.
    """
    region = default_region.strip().upper() if isinstance(default_region, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigurationError(f"Unsupported default phone region {default_region!r}.")
    text = _text(raw, _BAD_PHONE, "phone")
    if not text or len(text) > _MAX_PHONE_INPUT:
        raise InvalidInput(_BAD_PHONE, field="phone")
    # phonenumbers would happily pull a number out of "call me at 212..." or spell "FLOWERS";
    # from a voice transcript, letters mean the agent did not get a clean number.
    # In a tel: URI only the parameters after ";" (ext=, phone-context=) may hold letters.
    digits_part = text[4:].split(";")[0] if text[:4].lower() == "tel:" else text
    if any(c.isalpha() for c in digits_part):
        raise InvalidInput(_BAD_PHONE, field="phone")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(_BAD_PHONE, field="phone") from exc
    if number.extension:
        # E.164 has no extensions, and SMS confirmations cannot reach one.
        raise InvalidInput(N_("I need a phone number without an extension."), field="phone")
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(_BAD_PHONE, field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    """A trimmed, lower-cased email address that passes a pragmatic syntax check.

    One "@", a non-empty local part of at most 64 characters, a dotted domain of letters, digits
    and hyphens, no spaces, at most 254 characters. Otherwise InvalidInput(field="email").
    """
    text = _text(raw, _BAD_EMAIL, "email").lower()
    text = text.removeprefix("mailto:")
    if not text or len(text) > MAX_EMAIL_LENGTH or text.count("@") != 1:
        raise InvalidInput(_BAD_EMAIL, field="email")
    local, domain = text.split("@")
    local_ok = (
        0 < len(local) <= 64
        and not any(
            c.isspace() or not c.isprintable() or c in _EMAIL_LOCAL_FORBIDDEN for c in local
        )
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
    )
    labels = domain.split(".")
    domain_ok = (
        len(labels) >= 2
        and all(label and all(c.isalnum() or c == "-" for c in label) for label in labels)
        and not any(label.startswith("-") or label.endswith("-") for label in labels)
        and len(labels[-1]) >= 2
    )
    if not (local_ok and domain_ok):
        raise InvalidInput(_BAD_EMAIL, field="email")
    return text


def _title_case(text: str) -> str:
    # Capitalize the first letter of every part, where parts are split by anything that is not a
    # letter, digit or combining mark: "o'brien" → "O'Brien", "mary-jane" → "Mary-Jane",
    # "j.r." → "J.R.", but "3rd" stays "3rd".
    out: list[str] = []
    in_word = False
    for c in text:
        out.append(c.lower() if in_word else c.upper())
        in_word = c.isalnum() or unicodedata.category(c).startswith("M")
    return "".join(out)


def normalize_name(raw: str) -> str:
    """A display name: trimmed, inner whitespace collapsed, at most 200 characters.

    Title-cased only when given entirely in lower or upper case ("SAM WILSON" → "Sam Wilson");
    mixed case is the caller's own spelling and is kept ("McDonald", "van der Berg"). Empty,
    letterless or over-long input raises InvalidInput(field="name").
    """
    text = _text(raw, N_("I couldn't understand that name."), "name")
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(N_("I didn't catch a name."), field="name")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(N_("That name is too long."), field="name")
    if not any(c.isalpha() for c in text):
        raise InvalidInput(N_("I couldn't understand that name."), field="name")
    if text.islower() or text.isupper():
        text = _title_case(text)
    return text


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _parse_iso(raw: str, *, field: str, message: str) -> datetime | date:
    """A naive or aware datetime, or a date, from the few ISO 8601 shapes we accept."""
    text = _text(raw, message, field).upper()
    if len(text) > _MAX_TIME_INPUT:
        raise InvalidInput(message, field=field)
    try:
        if _DATETIME_RE.fullmatch(text):
            return datetime.fromisoformat(text)
        if _DATE_RE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError as exc:
        # The shape was right but the values are not (February 30, 25:00, offset +30:00).
        raise InvalidInput(N_("That date or time doesn't exist."), field=field) from exc
    raise InvalidInput(message, field=field)


def _localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """`wall` (naive) in `tz`; the first occurrence in a fold; InvalidInput in a gap."""
    at = wall.replace(tzinfo=tz, fold=0)
    try:
        round_trip = at.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # the last hours of year 9999 are past the end of time in UTC
        raise InvalidInput(N_("That date is too far in the future."), field="start") from None
    # A wall time in a spring-forward gap does not survive a round trip through UTC.
    if round_trip != wall:
        raise quoting_input(
            InvalidInput,
            N_(
                "{clock} on {date} doesn't exist in {zone} because the clocks go forward; "
                "please pick another time."
            ),
            "start",
            clock=lambda locale: spoken_clock(wall.time(), locale),
            date=lambda locale: spoken_date(wall.date(), locale),
            zone=lambda _: tz.key,
        )
    return at


def _this_year(d: date, year: int, field: str) -> date:
    try:
        return d.replace(year=year)
    except ValueError as exc:  # February 29 outside a leap year
        raise quoting_input(
            InvalidInput,
            N_("That date has passed, and there's no {month_day} in {year}."),
            field,
            month_day=lambda locale: spoken_month_day(d.month, d.day, locale),
            year=lambda _: str(year),
        ) from exc


def parse_start(raw: str, *, tz: ZoneInfo, now: datetime) -> ParsedTime:
    """A future start time, as an aware datetime in `tz`.

    Accepts ISO 8601 with an offset or "Z" (any offset: it is an instant) and local wall time in
    `tz` ("2026-11-25T14:00", "2026-11-25 14:00", seconds optional). A wall time in a DST gap is
    rejected; one in a DST fold takes the first occurrence. Voice LLMs often send last year's
    date: a time in an earlier year whose wall time this year is still ahead of `now` moves to
    this year (same wall time, `moved_to_this_year=True`). Any other past time, a date without a
    time, or garbage raises InvalidInput(field="start").
    """
    _require_aware(now)
    parsed = _parse_iso(raw, field="start", message=_BAD_TIME)
    if not isinstance(parsed, datetime):
        raise InvalidInput(N_("I need a time as well as the date."), field="start")
    now_local = now.astimezone(tz)
    at: datetime | None = None
    if parsed.tzinfo is not None:
        try:
            at = parsed.astimezone(tz)
        except OverflowError as exc:  # year 1 or 9999 pushed off the calendar by the offset
            raise InvalidInput(_BAD_TIME, field="start") from exc
        wall = at.replace(tzinfo=None)
    else:
        wall = parsed
    moved = wall.year < now_local.year
    if moved:
        # Every wall time in an earlier year is in the past; the caller meant this year's date.
        wall = datetime.combine(_this_year(wall.date(), now_local.year, "start"), wall.time())
        at = None
    if at is None:
        at = _localize(wall, tz)
    if at < now:
        passed = N_("{when} has already passed.")
        raise quoting_input(
            TimeInPast, passed, "start", when=lambda loc: spoken_datetime(at, tz, loc)
        )
    return ParsedTime(at=at, moved_to_this_year=moved)


def parse_day(raw: str, *, tz: ZoneInfo, now: datetime) -> ParsedDay:
    """A day in the org's calendar, today or later, for "what's free on ..." questions.

    Accepts "2026-11-25" or a full ISO datetime (its date in `tz`; a naive one is read as wall
    time in `tz`). A day in an earlier year whose month and day are still ahead (or today) this
    year moves to this year with `moved_to_this_year=True`; any other past day, or garbage,
    raises InvalidInput(field="day").
    """
    _require_aware(now)
    parsed = _parse_iso(raw, field="day", message=_BAD_DAY)
    if isinstance(parsed, datetime):
        try:
            day = parsed.astimezone(tz).date() if parsed.tzinfo is not None else parsed.date()
        except OverflowError as exc:
            raise InvalidInput(_BAD_DAY, field="day") from exc
    else:
        day = parsed
    today = now.astimezone(tz).date()
    moved = day.year < today.year
    if moved:
        day = _this_year(day, today.year, "day")
    if day < today:
        passed = N_("{when} has already passed.")
        raise quoting_input(InvalidInput, passed, "day", when=lambda loc: spoken_date(day, loc))
    return ParsedDay(day=day, moved_to_this_year=moved)
