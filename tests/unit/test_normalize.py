"""Normalization of caller input: phone, email, name, zones, regions, start times and days.

Every test passes a fixed `now`; nothing reads the clock.

One module because it mirrors the one module under test, `core.domain.normalize`: a parametrized
table per function, all against the same fixed `NOW`.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.normalize import (
    ParsedDay,
    ParsedTime,
    ensure_region,
    ensure_timezone,
    normalize_email,
    normalize_name,
    normalize_phone,
    parse_day,
    parse_start,
)
from core.domain.speech import one_line
from core.errors import ConfigurationError, InvalidInput

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LONDON = ZoneInfo("Europe/London")
# Saturday, November 21, 2026, 9:00 AM in New York (EST, UTC-5).
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=NY)


def assert_speakable(exc: InvalidInput, field: str) -> None:
    """The message is what a voice agent reads aloud: one short line."""
    assert exc.field == field
    assert exc.message == one_line(exc.message)
    assert 0 < len(exc.message) <= 200


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(212) 555-0123", "US", "+12125550123"),
        ("212-555-0123", "US", "+12125550123"),
        ("212.555.0123", "US", "+12125550123"),
        ("2125550123", "US", "+12125550123"),
        ("12125550123", "US", "+12125550123"),
        ("1-212-555-0123", "US", "+12125550123"),
        ("+1 212 555 0123", "US", "+12125550123"),
        ("+1 (415) 555-0100", "US", "+14155550100"),
        ("  +1 650 253 0000  ", "US", "+16502530000"),
        ("tel:+1-212-555-0123", "US", "+12125550123"),
        ("TEL:+12125550123", "US", "+12125550123"),
        ("tel:212-555-0123;phone-context=+1", "US", "+12125550123"),
        ("2125550123", "us", "+12125550123"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("07911 123456", "GB", "+447911123456"),
        ("+1 212 555 0123", "GB", "+12125550123"),
    ],
)
def test_normalize_phone_accepts(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "+1 555 123 4567",  # 555 is not an area code; libphonenumber says invalid
        "555 123 4567",
        "5550123",  # seven digits: no area code
        "12345",
        "+999 123 4567",
        "",
        "   ",
        "abc",
        "call me at 212 555 0123",
        "1-800-FLOWERS",
        "tel:+1-800-FLOWERS",
        "two one two five five five zero one two three",
        "212 555 0123 x4",
        "1" * 70,
        None,
        2125550123,
    ],
)
def test_normalize_phone_rejects(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_phone(raw, "US")  # type: ignore[arg-type]
    assert_speakable(info.value, "phone")


@pytest.mark.parametrize("raw", ["tel:+12125550123;ext=7", "tel:+1-212-555-0123;ext=45"])
def test_normalize_phone_rejects_extensions(raw: str) -> None:
    with pytest.raises(InvalidInput, match="extension") as info:
        normalize_phone(raw, "US")
    assert_speakable(info.value, "phone")


@pytest.mark.parametrize("region", ["XX", "", "USA"])
def test_normalize_phone_bad_org_region_is_configuration(region: str) -> None:
    with pytest.raises(ConfigurationError):
        normalize_phone("2125550123", region)


@pytest.mark.parametrize(("code", "expected"), [("US", "US"), ("us", "US"), (" gb ", "GB")])
def test_ensure_region(code: str, expected: str) -> None:
    assert ensure_region(code) == expected


@pytest.mark.parametrize("code", ["XX", "", "USA", "001", "U S", None, 1])
def test_ensure_region_rejects(code: object) -> None:
    with pytest.raises(InvalidInput) as info:
        ensure_region(code)  # type: ignore[arg-type]
    assert_speakable(info.value, "default_region")


# --- time zone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("America/New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        (" Europe/London ", "Europe/London"),
        ("UTC", "UTC"),
        ("Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_ensure_timezone(name: str, key: str) -> None:
    assert ensure_timezone(name).key == key


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "", "America", "../etc/passwd", "/etc/localtime", "localtime", None],
)
def test_ensure_timezone_rejects(name: object) -> None:
    with pytest.raises(InvalidInput) as info:
        ensure_timezone(name)  # type: ignore[arg-type]
    assert_speakable(info.value, "time_zone")


# --- email -------------------------------------------------------------------------------------

_LONGEST_DOMAIN = f"{'b' * 63}.{'c' * 63}.{'d' * 61}"  # 189 characters: 64 + 1 + 189 = 254


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Sam.Wilson@Example.COM ", "sam.wilson@example.com"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
        ("MAILTO:sam@example.com", "sam@example.com"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("first_last-1@my-clinic.health", "first_last-1@my-clinic.health"),
        ("sam@bücher.de", "sam@bücher.de"),
        (f"{'a' * 64}@{_LONGEST_DOMAIN}", f"{'a' * 64}@{_LONGEST_DOMAIN}"),
    ],
)
def test_normalize_email_accepts(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "sam",
        "sam@",
        "@example.com",
        "sam@example",
        "sam@@example.com",
        "sam@ex@ample.com",
        "sam wilson@example.com",
        "sam@example .com",
        "sam at example dot com",
        "sam@.example.com",
        "sam@example..com",
        "sam@example.com.",
        "sam@-example.com",
        "sam@example-.com",
        "sam@example.c",
        "sam@example,com",
        "sam@exa_mple.com",
        ".sam@example.com",
        "sam.@example.com",
        "sam..w@example.com",
        "<sam@example.com>",
        "sam,w@example.com",
        f"{'a' * 65}@example.com",
        f"{'a' * 64}@{_LONGEST_DOMAIN}e",  # 255 characters
        None,
    ],
)
def test_normalize_email_rejects(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_email(raw)  # type: ignore[arg-type]
    assert_speakable(info.value, "email")


# --- name --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sam wilson", "Sam Wilson"),
        ("SAM WILSON", "Sam Wilson"),
        ("o'brien", "O'Brien"),
        ("O'BRIEN", "O'Brien"),
        ("d’angelo", "D’Angelo"),
        ("mary-jane", "Mary-Jane"),
        ("j.r. smith", "J.R. Smith"),
        ("sam wilson 3rd", "Sam Wilson 3rd"),
        ("josé garcía", "José García"),
        ("jose\u0301", "José"),  # decomposed accent: NFC first, so the "e" keeps its mark
        ("ÉLODIE", "Élodie"),
        ("McDonald", "McDonald"),
        ("van der Berg", "van der Berg"),
        ("Sam wilson", "Sam wilson"),
        ("  sam   \n wilson\t", "Sam Wilson"),
        ("Sam \x00 Wilson", "Sam Wilson"),
        ("王伟", "王伟"),
        ("a" * 200, "A" + "a" * 199),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "123", "---", "a" * 201, None, 42])
def test_normalize_name_rejects(raw: object) -> None:
    with pytest.raises(InvalidInput) as info:
        normalize_name(raw)  # type: ignore[arg-type]
    assert_speakable(info.value, "name")


# --- parse_start -------------------------------------------------------------------------------


def ny(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NY)


@pytest.mark.parametrize(
    ("raw", "expected", "moved"),
    [
        ("2026-11-25T14:00:00-05:00", ny(2026, 11, 25, 14), False),
        ("2026-11-25T14:00:00-0500", ny(2026, 11, 25, 14), False),
        ("2026-11-25T19:00:00Z", ny(2026, 11, 25, 14), False),
        ("2026-11-25T19:00Z", ny(2026, 11, 25, 14), False),
        ("2026-11-25t19:00z", ny(2026, 11, 25, 14), False),
        ("2026-11-25T19:00:00.000Z", ny(2026, 11, 25, 14), False),
        ("2026-11-25T20:00:00+01:00", ny(2026, 11, 25, 14), False),  # an instant, any offset
        ("2026-11-25T14:00", ny(2026, 11, 25, 14), False),
        ("2026-11-25 14:00", ny(2026, 11, 25, 14), False),
        ("2026-11-25T14:00:00", ny(2026, 11, 25, 14), False),
        ("2026-11-25 14:00:30", ny(2026, 11, 25, 14, 0, 30), False),
        ("  2026-11-25T14:00  ", ny(2026, 11, 25, 14), False),
        ("2026-11-21T09:00", NOW, False),  # exactly now is not the past
        ("2026-11-21T09:01", ny(2026, 11, 21, 9, 1), False),
        ("2027-01-05T10:00", ny(2027, 1, 5, 10), False),
        # Last year's date, still ahead this year: moved, same wall time.
        ("2025-12-02T10:00", ny(2026, 12, 2, 10), True),
        ("2025-12-02 10:00:00", ny(2026, 12, 2, 10), True),
        ("2025-12-02T15:00:00Z", ny(2026, 12, 2, 10), True),
        ("2025-12-02T10:00:00-05:00", ny(2026, 12, 2, 10), True),
        ("2024-12-02T10:00", ny(2026, 12, 2, 10), True),
        ("2025-11-21T15:00", ny(2026, 11, 21, 15), True),  # later today
    ],
)
def test_parse_start_accepts(raw: str, expected: datetime, moved: bool) -> None:
    parsed = parse_start(raw, tz=NY, now=NOW)
    assert parsed == ParsedTime(at=expected, moved_to_this_year=moved)
    assert parsed.at.tzinfo is NY
    assert parsed.at.utcoffset() == expected.utcoffset()


def test_parse_start_now_in_any_zone() -> None:
    now_utc = NOW.astimezone(UTC)
    assert parse_start("2026-11-21T09:30", tz=NY, now=now_utc).at == ny(2026, 11, 21, 9, 30)
    with pytest.raises(InvalidInput):
        parse_start("2026-11-21T08:30", tz=NY, now=now_utc)


def test_parse_start_requires_aware_now() -> None:
    with pytest.raises(ValueError):
        parse_start("2026-11-25T14:00", tz=NY, now=NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2026-11-21T08:00", "has already passed"),  # earlier today
        ("2026-11-21T08:59:59", "has already passed"),
        ("2026-11-21T13:00:00Z", "has already passed"),  # 8:00 AM in New York
        ("2026-11-20T14:00", "has already passed"),
        ("2025-11-01T10:00", "has already passed"),  # last year, month and day gone this year
        ("2025-11-21T08:00", "has already passed"),  # last year, earlier today
        ("2026-11-25", "time as well as the date"),
        ("", "couldn't understand"),
        ("tomorrow at 2pm", "couldn't understand"),
        ("next Tuesday", "couldn't understand"),
        ("2pm", "couldn't understand"),
        ("14:00", "couldn't understand"),
        ("25/11/2026 14:00", "couldn't understand"),
        ("2026/11/25 14:00", "couldn't understand"),
        ("2026-11-25T14", "couldn't understand"),
        ("2026-11-25T14:00:00 EST", "couldn't understand"),
        ("2026-11-25T14:00:00-05:00[America/New_York]", "couldn't understand"),
        ("20261125T1400", "couldn't understand"),
        ("2026-W48-3T14:00", "couldn't understand"),
        ("0001-01-01T00:00+01:00", "couldn't understand"),
        ("2026-02-30T10:00", "doesn't exist"),
        ("2026-11-25T25:00", "doesn't exist"),
        ("2026-11-25T14:60", "doesn't exist"),
        ("2026-11-25T14:00+25:00", "doesn't exist"),
        (None, "couldn't understand"),
        (20261125, "couldn't understand"),
    ],
)
def test_parse_start_rejects(raw: object, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        parse_start(raw, tz=NY, now=NOW)  # type: ignore[arg-type]
    assert_speakable(info.value, "start")


def test_past_message_names_the_time() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_start("2026-11-21T08:00", tz=NY, now=NOW)
    assert info.value.message == "Saturday, November 21, 2026 at 8:00 AM has already passed."


# DST in New York: 2027-03-14 02:00 → 03:00 (gap), 2026-11-01 02:00 → 01:00 (fold).
SPRING_NOW = datetime(2027, 1, 10, 12, 0, tzinfo=NY)
FALL_NOW = datetime(2026, 10, 15, 12, 0, tzinfo=NY)


@pytest.mark.parametrize(
    ("raw", "tz", "now"),
    [
        ("2027-03-14T02:30", NY, SPRING_NOW),
        ("2027-03-14 02:00", NY, SPRING_NOW),
        ("2027-03-14T02:59:59", NY, SPRING_NOW),
        ("2026-03-14T02:30", NY, SPRING_NOW),  # moved from 2026, lands in 2027's gap
        ("2027-03-28T01:30", LONDON, SPRING_NOW),
    ],
)
def test_parse_start_rejects_dst_gap(raw: str, tz: ZoneInfo, now: datetime) -> None:
    with pytest.raises(InvalidInput, match="clocks go forward") as info:
        parse_start(raw, tz=tz, now=now)
    assert_speakable(info.value, "start")


def test_dst_gap_message() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_start("2027-03-14T02:30", tz=NY, now=SPRING_NOW)
    assert info.value.message.startswith("2:30 AM on Sunday, March 14, 2027 doesn't exist")


@pytest.mark.parametrize(
    ("raw", "now", "utc", "offset_hours"),
    [
        ("2027-03-14T01:59", SPRING_NOW, datetime(2027, 3, 14, 6, 59, tzinfo=UTC), -5),
        ("2027-03-14T03:00", SPRING_NOW, datetime(2027, 3, 14, 7, 0, tzinfo=UTC), -4),
        # An explicit offset is an instant, even when its wall time is in the gap.
        ("2027-03-14T02:30:00-05:00", SPRING_NOW, datetime(2027, 3, 14, 7, 30, tzinfo=UTC), -4),
        # Fold: the first 1:30 AM (still EDT) unless the offset says otherwise.
        ("2026-11-01T01:30", FALL_NOW, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), -4),
        ("2026-11-01 01:30:00", FALL_NOW, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), -4),
        ("2026-11-01T01:30:00-05:00", FALL_NOW, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), -5),
        ("2025-11-01T01:30", FALL_NOW, datetime(2026, 11, 1, 5, 30, tzinfo=UTC), -4),  # moved
    ],
)
def test_parse_start_dst_edges(raw: str, now: datetime, utc: datetime, offset_hours: int) -> None:
    at = parse_start(raw, tz=NY, now=now).at
    # Compare in UTC: Python never calls a fold-time equal to a datetime in another zone (PEP 495).
    assert at.astimezone(UTC) == utc
    assert at.utcoffset() == timedelta(hours=offset_hours)


@pytest.mark.parametrize(
    ("raw", "now", "expected"),
    [
        ("2024-02-29T10:00", datetime(2028, 1, 10, tzinfo=NY), ny(2028, 2, 29, 10)),
        ("2028-02-29T10:00", datetime(2028, 1, 10, tzinfo=NY), ny(2028, 2, 29, 10)),
    ],
)
def test_parse_start_feb_29_in_leap_year(raw: str, now: datetime, expected: datetime) -> None:
    assert parse_start(raw, tz=NY, now=now).at == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("2024-02-29T10:00", "no February 29 in 2026"), ("2025-02-29T10:00", "doesn't exist")],
)
def test_parse_start_feb_29_outside_leap_year(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        parse_start(raw, tz=NY, now=datetime(2026, 1, 10, tzinfo=NY))
    assert_speakable(info.value, "start")


def test_last_year_rule_uses_the_org_zone() -> None:
    # 8 PM UTC on November 21 is already 5 AM on November 22 in Tokyo.
    now = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
    assert parse_start("2025-11-22T10:00", tz=TOKYO, now=now).at == datetime(
        2026, 11, 22, 10, tzinfo=TOKYO
    )
    with pytest.raises(InvalidInput, match="has already passed"):
        parse_start("2025-11-21T23:00", tz=TOKYO, now=now)
    assert parse_start("2025-11-21T23:00", tz=ZoneInfo("UTC"), now=now).moved_to_this_year


def test_year_end_does_not_wrap_to_next_year() -> None:
    with pytest.raises(InvalidInput, match="has already passed"):
        parse_start("2025-01-02T10:00", tz=NY, now=datetime(2026, 12, 31, 23, tzinfo=NY))


# --- parse_day ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "moved"),
    [
        ("2026-11-25", date(2026, 11, 25), False),
        (" 2026-11-21 ", date(2026, 11, 21), False),  # today
        ("2026-11-25T14:00", date(2026, 11, 25), False),
        ("2026-11-25 14:00:00", date(2026, 11, 25), False),
        ("2026-11-26T03:00:00Z", date(2026, 11, 25), False),  # 10 PM on the 25th in New York
        ("2026-11-22T04:59:59Z", date(2026, 11, 21), False),
        ("2027-03-14T02:30", date(2027, 3, 14), False),  # a gap time still names a day
        ("2025-12-02", date(2026, 12, 2), True),
        ("2025-11-21", date(2026, 11, 21), True),
        ("2025-12-02T10:00-05:00", date(2026, 12, 2), True),
        ("2023-12-02", date(2026, 12, 2), True),
    ],
)
def test_parse_day_accepts(raw: str, expected: date, moved: bool) -> None:
    assert parse_day(raw, tz=NY, now=NOW) == ParsedDay(day=expected, moved_to_this_year=moved)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2026-11-20", "Friday, November 20, 2026 has already passed"),
        ("2026-11-21T02:00:00Z", "has already passed"),  # 9 PM on the 20th in New York
        ("2025-11-20", "has already passed"),
        ("2025-01-01", "has already passed"),
        ("2026-02-30", "doesn't exist"),
        ("2026-13-01", "doesn't exist"),
        ("", "couldn't understand"),
        ("tomorrow", "couldn't understand"),
        ("11/25/2026", "couldn't understand"),
        ("2026-11", "couldn't understand"),
        ("November 25", "couldn't understand"),
        (None, "couldn't understand"),
    ],
)
def test_parse_day_rejects(raw: object, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        parse_day(raw, tz=NY, now=NOW)  # type: ignore[arg-type]
    assert_speakable(info.value, "day")


def test_parse_day_feb_29() -> None:
    leap = parse_day("2024-02-29", tz=NY, now=datetime(2028, 1, 10, tzinfo=NY))
    assert leap == ParsedDay(day=date(2028, 2, 29), moved_to_this_year=True)
    with pytest.raises(InvalidInput, match="no February 29 in 2026"):
        parse_day("2024-02-29", tz=NY, now=datetime(2026, 1, 10, tzinfo=NY))


def test_parse_day_requires_aware_now() -> None:
    with pytest.raises(ValueError):
        parse_day("2026-11-25", tz=NY, now=NOW.replace(tzinfo=None))


def test_the_last_hours_of_year_9999_are_too_far_not_a_crash() -> None:
    with pytest.raises(InvalidInput, match="too far in the future"):
        parse_start(
            "9999-12-31T23:45",
            tz=ZoneInfo("America/New_York"),
            now=datetime(2026, 11, 21, tzinfo=UTC),
        )
