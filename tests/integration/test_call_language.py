"""A caller's own language in one call (a tool's `language` argument), on the real stack: the
answer and that booking's texts use it when the org serves it; otherwise the org's locale."""

import re
from datetime import time

import asyncpg
import httpx
import pytest

from sandbox.runner import Sandboxes
from tests.booking_helpers import local_start, unique_phone, wait_for_phase2, wait_until
from tests.conftest import MakeOrg
from tests.voice_helpers import vapi_call, vapi_said

pytestmark = pytest.mark.integration


async def texts_sent(pool: asyncpg.Pool, booking_id: object, kinds: set[str]) -> None:
    async def all_sent() -> bool:
        rows = await pool.fetch(
            "SELECT kind FROM sms_messages WHERE booking_id = $1 AND twilio_sid IS NOT NULL",
            booking_id,
        )
        return {row["kind"] for row in rows} >= kinds

    await wait_until(all_sent, what=f"the {', '.join(sorted(kinds))} texts")


async def test_a_callers_language_switches_one_bookings_answer_and_texts(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = await make_org(languages=["es-ES"])  # an en-US clinic that also serves Spanish
    spanish, english = unique_phone(), unique_phone()
    start = local_start(days_ahead=2, at=time(16))

    free = await vapi_said(
        api, org, vapi_call("check_availability", {"date": str(start.date()), "language": "es"})
    )
    assert free.startswith("Hoy es "), free  # a bare "es" is read as es-ES, the one served

    booking = {"name": "Ana García", "phone": spanish, "start": start.isoformat()}
    booked = await vapi_said(
        api, org, vapi_call("book_appointment", {**booking, "language": "es-ES"})
    )
    assert booked.startswith("Reservado: Consultation con Dr. Test el "), booked
    assert booked.endswith(" a las 16:00."), booked
    other = {"name": "Sam Wilson", "phone": english, "start": start.replace(hour=17).isoformat()}
    assert (await vapi_said(api, org, vapi_call("book_appointment", other))).startswith("Booked: ")

    rows = await pool.fetch(
        "SELECT b.id, c.phone, b.locale FROM bookings b "
        "JOIN contacts c ON c.id = b.contact_id WHERE b.org_id = $1",
        org.id,
    )
    # Only the booking made in another language records one; the other follows the org's.
    assert {row["phone"]: row["locale"] for row in rows} == {spanish: "es-ES", english: None}
    ids = {row["phone"]: row["id"] for row in rows}
    for booking_id in ids.values():
        await wait_for_phase2(pool, booking_id)
    [confirmation] = await sandboxes.twilio.messages(to=spanish)
    assert confirmation["body"].startswith(
        "Test Clinic: su cita de Consultation con Dr. Test está reservada para el "
    ), confirmation["body"]
    assert confirmation["body"].endswith("a las 16:00. Responda STOP para no recibir más mensajes.")
    [english_text] = await sandboxes.twilio.messages(to=english)
    assert english_text["body"].startswith("Test Clinic: your Consultation with Dr. Test is booked")

    # A later change, asked in no particular language, keeps the booking's: answer and text.
    closed = {"new_start": start.replace(hour=21).isoformat()}
    refused = await vapi_said(api, org, vapi_call("reschedule_appointment", closed), caller=spanish)
    assert refused.startswith("A esa hora no estamos abiertos. Las próximas horas libres"), refused
    later = start.replace(hour=18).isoformat()
    moved = await vapi_said(
        api, org, vapi_call("reschedule_appointment", {"new_start": later}), caller=spanish
    )
    assert moved.startswith("Hecho: la cita queda cambiada al "), moved
    await texts_sent(pool, ids[spanish], {"confirmation", "rescheduled"})
    bodies = [m["body"] for m in await sandboxes.twilio.messages(to=spanish)]
    assert any(re.search(r"ha cambiado al .* a las 18:00\.", body) for body in bodies), bodies


async def test_a_language_the_org_does_not_serve_gets_the_orgs_locale(
    api: httpx.AsyncClient, make_org: MakeOrg, pool: asyncpg.Pool
) -> None:
    org = await make_org(locale="de-DE", languages=["en-GB"])
    start = local_start(days_ahead=3, at=time(10))
    for language in ("fr-FR", "klingon", "x" * 35):
        answer = await vapi_said(
            api,
            org,
            vapi_call("check_availability", {"date": str(start.date()), "language": language}),
        )
        assert answer.startswith("Heute ist "), (language, answer)
    british = await vapi_said(
        api, org, vapi_call("check_availability", {"date": str(start.date()), "language": "en-GB"})
    )
    assert british.startswith("Today is ") and "from 8 am to 7:30 pm" in british, british
    # Too long to be a tag: the argument is refused like any other, in a short sentence.
    too_long = await vapi_said(
        api, org, vapi_call("check_availability", {"date": str(start.date()), "language": "x" * 36})
    )
    # The argument keeps its name (the agent sends it so); the sentence is the org's German.
    assert "language ist zu lang" in too_long
