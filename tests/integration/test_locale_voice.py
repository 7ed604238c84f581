"""A German-speaking clinic through POST /voice/vapi on the real stack: what callers hear and
read is German, with CLDR dates and the 24-hour clock, from availability to a taken time's
alternatives and the texts Twilio's sandbox receives.
"""

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import httpx
import pytest

from sandbox.runner import Sandboxes
from tests.booking_helpers import local_start, unique_phone, wait_for_phase2, wait_until
from tests.conftest import MakeOrg
from tests.unit.test_locales import ENGLISH
from tests.voice_helpers import vapi_call, vapi_said

pytestmark = pytest.mark.integration

# Spelled out here so the test does not check CLDR against itself.
GERMAN_MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip
GERMAN_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


def no_twelve_hour_clock(text: str) -> None:
    # Case-sensitive: "am" is German ("am Freitag").
    assert not re.search(r"\b(AM|PM|pm)\b", text), text


def no_english_words(text: str) -> None:
    # Tool and argument names are identifiers the agent must send as they are: not words.
    words = {w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", re.sub(r"\w+_\w+", "", text))}
    assert not (words & ENGLISH) - {"am"}, f"{(words & ENGLISH) - {'am'}} in {text!r}"


async def test_a_german_clinic_refuses_unusable_input_in_german(
    api: httpx.AsyncClient, make_org: MakeOrg
) -> None:
    org = await make_org(locale="de-DE")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    heard = []

    past = {"name": "Max Muster", "phone": unique_phone(), "start": yesterday.isoformat()}
    passed = await vapi_said(api, org, vapi_call("book_appointment", past))
    assert " ist schon vorbei. " in passed and " Uhr" in passed, passed
    heard.append(passed)
    past_day = str((yesterday - timedelta(days=1)).date())
    gone = await vapi_said(api, org, vapi_call("check_availability", {"date": past_day}))
    assert gone.endswith(" ist schon vorbei."), gone
    heard.append(gone)

    bad_phone = {"name": "Max Muster", "phone": "abc", "start": local_start(2).isoformat()}
    phone = await vapi_said(api, org, vapi_call("book_appointment", bad_phone))
    assert phone == "Ich habe diese Telefonnummer nicht verstanden.", phone
    bad_time = {"name": "Max Muster", "phone": unique_phone(), "start": "bald"}
    unreadable = await vapi_said(api, org, vapi_call("book_appointment", bad_time))
    assert unreadable == "Ich habe dieses Datum und diese Uhrzeit nicht verstanden.", unreadable
    heard += [phone, unreadable]
    # Sentences quoting the input: a wall time the clocks skip, a February 29 in no leap year.
    # New York's clocks go forward at 2:00 on March's second Sunday: next year's.
    march = date(datetime.now(UTC).year + 1, 3, 1)
    sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    gap_start = f"{sunday}T02:30"
    gap = {"name": "Max Muster", "phone": unique_phone(), "start": gap_start}
    skipped = await vapi_said(api, org, vapi_call("book_appointment", gap))
    expected = f"Sonntag, {sunday.day}. März {sunday.year} um 2:30 Uhr gibt es in der Zeitzone "
    assert skipped.startswith(expected), skipped
    # February 29 of an earlier leap year, asked in a year without one (this year, if it has).
    leap = await vapi_said(api, org, vapi_call("check_availability", {"date": "2024-02-29"}))
    if not calendar.isleap(datetime.now(UTC).year):
        assert leap.startswith("Dieses Datum ist vorbei, und ") and "keinen 29. Februar." in leap
    massage = {"name": "Max Muster", "phone": unique_phone(), "start": local_start(2).isoformat()}
    no_such = await vapi_said(
        api, org, vapi_call("book_appointment", {**massage, "service": "Yoga"})
    )
    assert no_such == "Eine Leistung namens Yoga gibt es leider nicht.", no_such
    heard += [skipped, leap, no_such]

    missing = await vapi_said(api, org, vapi_call("book_appointment", {"name": "Max Muster"}))
    assert missing == "book_appointment: start fehlt.", missing
    unknown = await vapi_said(api, org, vapi_call("move_appointment", {}))
    assert unknown.startswith("Es gibt kein Werkzeug namens move_appointment; verwenden Sie ")
    broken = vapi_call("book_appointment", {})
    broken["function"]["arguments"] = "{"
    unread = await vapi_said(api, org, broken)
    assert unread == "Ich konnte diese Anfrage nicht lesen: die Argumente sind kein gültiges JSON."
    heard += [missing, unknown, unread]
    for text in heard:
        no_english_words(text)


async def test_a_german_clinic_answers_and_texts_in_german_with_the_24_hour_clock(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = await make_org(locale="de-DE")
    start = local_start(days_ahead=2, at=time(15))
    weekday = GERMAN_DAYS[start.weekday()]

    free = await vapi_said(api, org, vapi_call("check_availability", {"date": str(start.date())}))
    assert free.startswith("Heute ist "), free
    assert f"Am {weekday}, {start.day}. " in free
    assert "hat Dr. Test frei alle 30 Minuten von 8:00 Uhr bis 19:30 Uhr." in free
    no_twelve_hour_clock(free)

    booking = {"name": "Erika Muster", "phone": unique_phone(), "start": start.isoformat()}
    booked = await vapi_said(api, org, vapi_call("book_appointment", booking))
    assert booked.startswith(f"Gebucht: Consultation bei Dr. Test am {weekday}, {start.day}. ")
    assert booked.endswith(f"{start.year} um 15:00 Uhr."), booked

    # The same time for someone else: refused in German, alternatives on the 24-hour clock.
    taken = {"name": "Max Muster", "phone": unique_phone(), "start": start.isoformat()}
    refused = await vapi_said(api, org, vapi_call("book_appointment", taken))
    assert refused.startswith("Diese Zeit ist leider schon vergeben. Die nächsten freien Zeiten")
    assert "15:30 Uhr" in refused and "16:00 Uhr" in refused, refused
    no_twelve_hour_clock(refused)
    # Input that cannot be used is answered in German too, from the activity and from the API.
    no_time = {"name": "Max Muster", "phone": unique_phone(), "start": str(start.date())}
    unusable = await vapi_said(api, org, vapi_call("book_appointment", no_time))
    assert unusable == "Ich brauche neben dem Datum auch eine Uhrzeit.", unusable
    bad_id = await vapi_said(api, org, vapi_call("cancel_appointment", {"booking_id": "x"}))
    assert bad_id == "Diese Buchungsnummer ist ungültig.", bad_id

    booking_id = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
    await wait_for_phase2(pool, booking_id)

    [text] = await sandboxes.twilio.messages(to=booking["phone"])
    assert text["body"] == (
        f"Test Clinic: Ihr Termin Consultation bei Dr. Test ist gebucht für {weekday}, "
        f"{start.day}. {GERMAN_MONTHS[start.month - 1]} {start.year} um 15:00 Uhr. "
        "Antworten Sie STOP, um keine Nachrichten mehr zu erhalten."
    )


async def test_a_german_clinic_moves_and_cancels_in_german(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = await make_org(locale="de-DE")
    phone = unique_phone()
    start = local_start(days_ahead=3, at=time(9, 30))
    booking = {"name": "Erika Muster", "phone": phone, "start": start.isoformat()}
    assert (await vapi_said(api, org, vapi_call("book_appointment", booking))).startswith(
        "Gebucht:"
    )
    booking_id = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
    await wait_for_phase2(pool, booking_id)

    closed = {"booking_id": str(booking_id), "new_start": start.replace(hour=21).isoformat()}
    refused = await vapi_said(api, org, vapi_call("reschedule_appointment", closed), caller=phone)
    assert refused.startswith("Zu dieser Zeit haben wir geschlossen. Die nächsten freien"), refused
    assert " Uhr" in refused, refused
    no_twelve_hour_clock(refused)

    later = start.replace(hour=14, minute=0)
    move = {"booking_id": str(booking_id), "new_start": later.isoformat()}
    moved = await vapi_said(api, org, vapi_call("reschedule_appointment", move), caller=phone)
    assert moved.startswith("Erledigt: Der Termin ist jetzt am "), moved
    assert moved.endswith("um 14:00 Uhr."), moved

    cancel = {"booking_id": str(booking_id)}
    cancelled = await vapi_said(api, org, vapi_call("cancel_appointment", cancel), caller=phone)
    assert cancelled.startswith("Erledigt: Der Termin am "), cancelled
    assert cancelled.endswith("um 14:00 Uhr ist abgesagt."), cancelled

    async def all_three_sent() -> bool:
        rows = await pool.fetch(
            "SELECT kind FROM sms_messages WHERE booking_id = $1 AND twilio_sid IS NOT NULL",
            booking_id,
        )
        return {row["kind"] for row in rows} >= {"confirmation", "rescheduled", "cancelled"}

    await wait_until(all_three_sent, what="the confirmation, rescheduled and cancelled texts")
    bodies = sorted(m["body"] for m in await sandboxes.twilio.messages(to=phone))
    assert any(
        b.startswith("Test Clinic: Ihr Termin Consultation bei Dr. Test ist jetzt am")
        and "um 14:00 Uhr." in b
        for b in bodies
    ), bodies
    assert any(
        b.startswith("Test Clinic: Ihr Termin Consultation am") and "ist abgesagt." in b
        for b in bodies
    ), bodies
