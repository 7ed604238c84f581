"""The locales an org can speak, and each one's CLDR data and message catalog.

Locales are BCP 47 tags ("de-DE"). Catalogs are gettext `.mo` files compiled from the `.po`
files in `core/domain/locales/` (managed with pybabel, see README "Languages") and shipped with
the package. Everything is loaded once, at import, so that the booking workflow, which imports
this module through Temporal's sandbox passthrough, never reads a file while it runs.
"""

import gettext
from collections.abc import Callable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.lists import format_list

from core.errors import InvalidInput

DEFAULT_LOCALE = "en-US"
# Each needs a catalog in core/domain/locales/<ll_CC>/ and a clock style in core.domain.speech.
SUPPORTED_LOCALES = ("en-US", "en-GB", "de-DE", "es-ES", "fr-FR")
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locales"


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name, read by pybabel
    """Marks `message` for extraction; it is translated where it is said
    (`core.domain.messages.say`, or the voice tools for a refusal raised as an error)."""
    return message


def parse_locale(value: str) -> str:
    """`value` as one of SUPPORTED_LOCALES ("de_de", "de-DE" -> "de-DE"); ValueError otherwise.

    Babel's `Locale.parse` reads the tag, so a malformed one is refused as such."""
    try:
        parsed = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError) as error:
        raise ValueError(f"not a BCP 47 locale like en-US: {error}") from None
    tag = f"{parsed.language}-{parsed.territory}" if parsed.territory else parsed.language
    if tag not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {tag!r}; use one of {', '.join(SUPPORTED_LOCALES)}")
    return tag


def served_locale(value: str, served: tuple[str, ...]) -> str | None:
    """The locale among `served` that a caller's `value` asks for, or None.

    "es-ES" must be served as is; a bare language ("es", "de") takes the first served locale
    of that language; anything Babel cannot read is None, never an error."""
    try:
        parsed = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.territory:
        tag = f"{parsed.language}-{parsed.territory}"
        return tag if tag in served else None
    return next((tag for tag in served if tag.split("-")[0] == parsed.language), None)


def _underscored(tag: str) -> str:
    return tag.replace("-", "_")


def _load(tag: str) -> gettext.GNUTranslations:
    # fallback=False: a missing catalog is a packaging bug, found at import, not a silent English.
    found = gettext.translation(DOMAIN, LOCALE_DIR, languages=[_underscored(tag)], fallback=False)
    assert isinstance(found, gettext.GNUTranslations)
    return found


def _warm(locale: Locale) -> Locale:
    # Babel reads a locale's CLDR data lazily from disk; touch what speech uses now, at import.
    format_date(None, "full", locale=locale)
    format_time(None, "short", locale=locale)
    format_list(["a", "b"], locale=locale)
    _ = locale.datetime_skeletons
    return locale


CATALOGS: dict[str, gettext.GNUTranslations] = {tag: _load(tag) for tag in SUPPORTED_LOCALES}
LOCALES: dict[str, Locale] = {
    tag: _warm(Locale.parse(_underscored(tag))) for tag in SUPPORTED_LOCALES
}


def catalog(tag: str) -> gettext.GNUTranslations:
    """The catalog of `tag`; an unknown tag (an old payload, a typo) gets the default's."""
    return CATALOGS.get(tag, CATALOGS[DEFAULT_LOCALE])


def cldr(tag: str) -> Locale:
    """Babel's locale for `tag`; an unknown tag gets the default's."""
    return LOCALES.get(tag, LOCALES[DEFAULT_LOCALE])


def quoting_input(
    kind: type[InvalidInput], message: str, field: str, **values: Callable[[str], str]
) -> InvalidInput:
    """`kind` of error whose `message` (an id) quotes the input: `values` are spelled per
    locale by the error's `in_locale`; its own message is the DEFAULT_LOCALE (English) one."""

    def in_locale(locale: str) -> str:
        spelled = {name: value(locale) for name, value in values.items()}
        return catalog(locale).gettext(message).format(**spelled)

    return kind(in_locale(DEFAULT_LOCALE), field=field, in_locale=in_locale)
