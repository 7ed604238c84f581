"""The message catalogs: complete in every supported locale, compiled as committed, speakable."""

import io
import re
import string
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pydantic import ValidationError

from core.domain import find_messages, messages
from core.domain.language import (
    LOCALE_DIR,
    SUPPORTED_LOCALES,
    catalog,
    parse_locale,
    served_locale,
)
from core.domain.speech import spoken_clock, spoken_datetime
from core.services.scheduling import REFUSALS
from tests.factories import org_spec

ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2025, 11, 25, 13, 0, tzinfo=UTC)  # Tuesday, 14:00 in Berlin
BUSY = REFUSALS["busy"]
LATER = [AT + timedelta(minutes=30), AT + timedelta(hours=1), AT + timedelta(days=1)]


def _po(tag: str):
    with open(LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=tag.replace("-", "_"))


def _ids_in_code() -> set[str]:
    # Extracted as `pybabel extract -F babel.cfg -k N_` does (directories starting with "." or
    # "_", such as .venv, are skipped).
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(
        str(ROOT), method_map, options_map, keywords={"N_": None, "gettext": None}
    )
    return {message for _, _, message, _, _ in found}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_template_holds_exactly_the_messages_in_the_code() -> None:
    with open(LOCALE_DIR / "messages.pot", "rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == _ids_in_code(), "run the pybabel extract/update commands in README"


@pytest.mark.parametrize("tag", SUPPORTED_LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(tag: str) -> None:
    po = _po(tag)
    translated = {m.id: m.string for m in po if m.id}
    assert set(translated) == _ids_in_code()
    for msgid, text in translated.items():
        assert text, f"{tag}: {msgid!r} is untranslated"
        assert _placeholders(text) == _placeholders(msgid), f"{tag}: {msgid!r}"
        assert "\n" not in text


@pytest.mark.parametrize("tag", SUPPORTED_LOCALES)
def test_the_committed_mo_is_the_compiled_po(tag: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _po(tag))
    folder = LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES"
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue(), (
        "run `pybabel compile -d core/domain/locales -D messages`"
    )


def _rendered(tag: str) -> list[str]:
    """Every sentence, in `tag`, with sample arguments (German-looking names, so that any
    English left in a German answer is ours)."""
    names = {"service": "Beratung", "provider": "Dr. Weber", "tz": BERLIN, "locale": tag}
    appointment = find_messages.SpokenAppointment("Beratung", "Dr. Weber", AT)
    said = [
        messages.booked(at=AT, moved=False, **names),
        messages.booked(at=AT, moved=True, **names),
        messages.already_booked(at=AT, **names),
        messages.unavailable(reason=BUSY, alternatives=[AT, *LATER[:2]], tz=BERLIN, locale=tag),
        messages.unavailable(reason=BUSY, alternatives=LATER, tz=BERLIN, locale=tag),
        messages.unavailable(reason=BUSY, alternatives=[], tz=BERLIN, locale=tag),
        *(
            messages.unavailable(reason=r, alternatives=[], tz=BERLIN, locale=tag)
            for r in REFUSALS.values()
        ),
        messages.already_on(AT, BERLIN, tag),
        messages.moved(AT, BERLIN, tag),
        messages.move_undone(AT, BERLIN, tag),
        messages.cancelled(AT, BERLIN, tag),
        *(messages.not_cancelled(s, tag) for s in messages.BookingStatus),
        find_messages.upcoming_appointments([], more=False, tz=BERLIN, locale=tag),
        find_messages.upcoming_appointments([appointment], more=False, tz=BERLIN, locale=tag),
        find_messages.upcoming_appointments([appointment] * 2, more=False, tz=BERLIN, locale=tag),
        find_messages.upcoming_appointments([appointment] * 4, more=False, tz=BERLIN, locale=tag),
        find_messages.upcoming_appointments([appointment] * 3, more=True, tz=BERLIN, locale=tag),
        *(
            messages.sms_body(kind, org="Praxis Weber", at=AT, **names)
            for kind in messages.SMS_TEXTS
        ),
        *(messages.say(m, tag) for m in messages.CHANGE_REFUSALS.values()),
        *(
            messages.say(m, tag)
            for m in (
                messages.TECHNICAL_PROBLEM,
                messages.ALREADY_STARTED,
                messages.HALF_MOVED,
                find_messages.FIND_NEEDS_A_NUMBER,
                find_messages.CALLER_NUMBER_UNREADABLE,
                messages.WORKFLOW_DID_NOT_ANSWER,
                messages.DATABASE_UNREACHABLE,
                messages.TOOL_FAILED,
            )
        ),
    ]
    for step in (timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)):
        run = [AT, AT + step, AT + 2 * step, AT + 5 * step]
        for starts, next_day in (
            (run, None),
            ([], None),
            ([], date(2025, 11, 26)),
        ):
            said.append(
                messages.availability(
                    today=date(2025, 11, 24),
                    day=date(2025, 11, 25),
                    provider="Dr. Weber",
                    starts=starts,
                    next_day=next_day,
                    next_starts=run,
                    tz=BERLIN,
                    step=step,
                    locale=tag,
                )
            )
    return said


@pytest.mark.parametrize("tag", SUPPORTED_LOCALES)
def test_every_answer_is_one_speakable_line(tag: str) -> None:
    for text in _rendered(tag):
        assert text == " ".join(text.split()), text
        assert not re.search(r"[{}]", text), text
        assert "\u202f" not in text and "\xa0" not in text


# Words that only English would put in these sentences (German shares "in", "am", "an", ...).
ENGLISH = {
    "the", "with", "on", "at", "is", "your", "you", "and", "to", "of", "for", "are", "has",
    "booked", "free", "appointment", "appointments", "please", "sorry", "reply", "every",
    "from", "more", "today", "minutes", "hours", "hour", "pm", "am", "this", "booking", "no",
}  # fmt: skip


def test_no_english_word_leaks_into_german() -> None:
    for text in _rendered("de-DE"):
        words = {w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", text)}
        # "am" is German ("am Dienstag"); the clock must not say AM/PM, checked below.
        leaked = (words & ENGLISH) - {"am"}
        assert not leaked, f"{leaked} in {text!r}"
        assert not re.search(r"\b(AM|PM)\b", text), text


def test_no_english_word_in_any_german_translation() -> None:
    for message in _po("de-DE"):
        if not message.id:
            continue
        text = re.sub(r"\{\w+\}", "", message.string)
        words = {w.lower() for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", text)} - {"am"}
        assert not words & ENGLISH, f"{words & ENGLISH} in {message.string!r}"


@pytest.mark.parametrize(
    ("tag", "on_the_hour", "half_past"),
    [
        ("en-US", "2:00 PM", "2:30 PM"),
        ("en-GB", "2 pm", "2:30 pm"),
        ("de-DE", "14:00 Uhr", "14:30 Uhr"),
        ("es-ES", "14:00", "14:30"),
        ("fr-FR", "14 h", "14 h 30"),
    ],
)
def test_the_clock_as_a_receptionist_says_it(tag: str, on_the_hour: str, half_past: str) -> None:
    assert spoken_clock(AT.astimezone(BERLIN).time(), tag) == on_the_hour
    assert spoken_clock((AT + timedelta(minutes=30)).astimezone(BERLIN).time(), tag) == half_past


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-US", "Tuesday, November 25, 2025 at 2:00 PM"),
        ("en-GB", "Tuesday, 25 November 2025 at 2 pm"),
        ("de-DE", "Dienstag, 25. November 2025 um 14:00 Uhr"),
        ("es-ES", "martes, 25 de noviembre de 2025 a las 14:00"),
        ("fr-FR", "mardi 25 novembre 2025 à 14 h"),
    ],
)
def test_dates_come_from_cldr(tag: str, expected: str) -> None:
    assert spoken_datetime(AT, BERLIN, tag) == expected


@pytest.mark.parametrize(
    ("raw", "tag"),
    [("de-DE", "de-DE"), ("de_DE", "de-DE"), (" fr-FR ", "fr-FR"), ("en-GB", "en-GB")],
)
def test_parse_locale_accepts_supported_tags(raw: str, tag: str) -> None:
    assert parse_locale(raw) == tag


@pytest.mark.parametrize("raw", ["de", "pt-BR", "xx-YY", "", "en-US-x-private!", "12"])
def test_parse_locale_refuses_others(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_locale(raw)


def test_an_unknown_tag_in_an_old_payload_speaks_the_default() -> None:
    assert catalog("xx-XX").gettext("at {time}") == "at {time}"


@pytest.mark.parametrize(
    ("asked", "served", "expected"),
    [
        ("es-ES", ("en-US", "es-ES"), "es-ES"),
        ("es_es", ("en-US", "es-ES"), "es-ES"),
        ("es", ("en-US", "es-ES"), "es-ES"),  # a bare language: the served locale of it
        ("en", ("de-DE", "en-GB", "en-US"), "en-GB"),  # the first served, in the org's order
        ("es-MX", ("en-US", "es-ES"), None),  # another region is another locale
        ("fr-FR", ("en-US", "es-ES"), None),
        ("klingon", ("en-US",), None),
        ("", ("en-US",), None),
    ],
)
def test_served_locale(asked: str, served: tuple[str, ...], expected: str | None) -> None:
    assert served_locale(asked, served) == expected


def test_an_org_serves_its_own_locale_first_and_each_language_once() -> None:
    spec = org_spec(locale="de-DE", languages=["en-GB", "de_DE", "en-GB"])
    assert (spec.locale, spec.languages) == ("de-DE", ["de-DE", "en-GB"])
    assert org_spec().languages == ["en-US"]
    with pytest.raises(ValidationError, match="unsupported locale"):
        org_spec(languages=["pt-BR"])
