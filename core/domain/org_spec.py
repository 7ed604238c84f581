"""What an admin sends to create an org: its settings, providers, services and opening hours,
validated whole so a typo is an error and never a silently dropped setting."""

import re
import unicodedata
from datetime import time
from typing import Annotated

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from core.domain.language import DEFAULT_LOCALE, SUPPORTED_LOCALES, parse_locale
from core.domain.normalize import ensure_timezone
from core.domain.vapi_auth import VapiAuthSettings
from core.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _single_line(value: str) -> str:
    # Postgres text cannot hold NUL and UTF-8 cannot encode lone surrogates: either would fail
    # at INSERT time as a server error, so refuse them (and other control characters) here.
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("must not contain control characters")
    return value


Label = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_single_line)]


def _retell_key(value: SecretStr) -> SecretStr:
    key = value.get_secret_value()
    if not 1 <= len(key) <= 512 or any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError("must be a single token of 1-512 printable characters")
    return value


# A secret: never echoed by repr, logs or responses (`writeOnly` in the OpenAPI schema).
RetellApiKey = Annotated[SecretStr, AfterValidator(_retell_key)]

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Twilio alphanumeric sender IDs: up to 11 letters, digits and spaces, at least one letter.
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class _Spec(BaseModel):
    # An admin's typo ("retell_key") must be an error, not a silently dropped setting.
    # Errors never echo input back: it may hold the Retell key.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, hide_input_in_errors=True)


class ProviderSpec(_Spec):
    name: Label = Field(description="Unique within the org; callers may ask for it by name.")
    calendar_id: Annotated[
        str, Field(min_length=1, max_length=1024), AfterValidator(_single_line)
    ] = Field(description="Google Calendar id that receives this provider's appointments.")


class ServiceSpec(_Spec):
    name: Label = Field(description="Unique within the org, e.g. `Consultation`.")
    duration_minutes: int = Field(ge=5, le=720)
    buffer_minutes: int = Field(
        default=0, ge=0, le=240, description="Kept free after each appointment."
    )


class OpeningSpec(_Spec):
    """One opening interval on a weekday (`mon` .. `sun`), local time in the org's zone."""

    weekday: str = Field(description="`mon` .. `sun` (full names accepted).")
    opens: time = Field(description="Local wall time, e.g. `09:00`, no UTC offset.")
    closes: time = Field(description="Local wall time after `opens`, same day.")

    @field_validator("weekday")
    @classmethod
    def _known_weekday(cls, value: str) -> str:
        day = value.lower()
        if day in _WEEKDAY_NAMES:
            day = day[:3]
        if day not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}")
        return day

    @field_validator("opens", "closes")
    @classmethod
    def _wall_time(cls, value: time) -> time:
        # Hours follow the org's zone through DST; a fixed offset would silently break that.
        if value.tzinfo is not None:
            raise ValueError("must be a local time without a UTC offset, e.g. 09:00")
        return value

    @property
    def weekday_index(self) -> int:
        """0 = Monday, as Python's `date.weekday()` counts."""
        return WEEKDAYS.index(self.weekday)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> "OpeningSpec":
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        return self


class LanguageSettings(_Spec):
    """The locale an org speaks and the ones a caller may ask for (core/domain/language.py)."""

    locale: str = Field(
        default=DEFAULT_LOCALE,
        description="BCP 47 locale of every word callers hear and read: one of "
        + ", ".join(SUPPORTED_LOCALES)
        + ".",
    )
    languages: list[str] | None = Field(
        default=None,
        max_length=len(SUPPORTED_LOCALES),
        description="Locales a caller may ask for in a call (a tool's `language` argument); "
        "default: only `locale`.",
    )

    @field_validator("locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        return parse_locale(value)

    @field_validator("languages")
    @classmethod
    def _supported_languages(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        # In the order given, each once.
        return list(dict.fromkeys(parse_locale(tag) for tag in value))

    @model_validator(mode="after")
    def _serves_its_own_locale(self) -> "LanguageSettings":
        # The org's own locale first: a bare language ("en") picks the first served of it.
        self.languages = list(dict.fromkeys([self.locale, *(self.languages or [])]))
        return self


class OrgSpec(LanguageSettings):
    """Everything needed to create an org in one transaction."""

    slug: str = Field(
        pattern=SLUG_PATTERN,
        description="Unique, URL-safe id: lower-case letters, digits and dashes.",
    )
    name: Label = Field(description="How the agent and the SMS messages name the business.")
    time_zone: str = Field(description="IANA zone the opening hours are in.")
    default_region: str = Field(
        default="US", description="ISO 3166 region for callers' national phone numbers."
    )
    sms_sender: str | None = Field(
        default=None,
        description="Twilio sender: an E.164 number or an alphanumeric sender ID; "
        "no SMS is sent without one.",
    )
    retell_api_key: RetellApiKey | None = Field(
        default=None,
        description="Verifies Retell webhook signatures. Stored, never returned.",
    )
    vapi_auth: VapiAuthSettings | None = Field(
        default=None,
        description="How /voice/vapi/{slug} checks Vapi's calls: Bearer header name, or HMAC. "
        "Default: the voice secret as `Authorization: Bearer` or `X-Vapi-Secret`.",
    )
    slot_step_minutes: int = Field(
        default=30, ge=5, le=240, description="Spacing of the start times offered to callers."
    )
    min_notice_minutes: int = Field(
        default=60, ge=0, le=60 * 24 * 30, description="How soon from now a booking may start."
    )
    horizon_days: int = Field(
        default=60, ge=1, le=730, description="How far ahead bookings are accepted."
    )
    providers: list[ProviderSpec] = Field(min_length=1)
    services: list[ServiceSpec] = Field(min_length=1)
    hours: list[OpeningSpec] = Field(min_length=1, description="Weekly opening intervals.")

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            # Looked up in the zone list, never as a file path; returns the canonical name.
            return ensure_timezone(value).key
        except InvalidInput:
            raise ValueError(
                f"unknown IANA time zone {value[:64]!r}; use a name like America/New_York"
            ) from None

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a phone region (ISO 3166 alpha-2) like US")
        return region

    @field_validator("sms_sender")
    @classmethod
    def _twilio_sender(cls, value: str | None) -> str | None:
        if value is not None and not (_E164.match(value) or _ALPHANUMERIC_SENDER.match(value)):
            raise ValueError(
                "must be an E.164 number like +12125550100 or an alphanumeric sender ID"
            )
        return value

    @field_validator("providers", "services")
    @classmethod
    def _unique_names(
        cls, items: list[ProviderSpec] | list[ServiceSpec]
    ) -> list[ProviderSpec] | list[ServiceSpec]:
        # Callers name providers and services case-insensitively, so "Dr. A" and "dr. a" clash.
        seen: set[str] = set()
        for item in items:
            key = item.name.casefold()
            if key in seen:
                raise ValueError(f"the name {item.name!r} is used twice")
            seen.add(key)
        return items

    @field_validator("hours")
    @classmethod
    def _hours_do_not_overlap(cls, hours: list[OpeningSpec]) -> list[OpeningSpec]:
        # A booking must fit inside one interval, so overlapping intervals would refuse times
        # that look open; adjacent ones (09-12, 12-17) are fine.
        ordered = sorted(hours, key=lambda h: (h.weekday_index, h.opens))
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.weekday == later.weekday and later.opens < earlier.closes:
                raise ValueError(
                    f"{later.weekday} {_hhmm(earlier)} overlaps {later.weekday} {_hhmm(later)}"
                )
        return hours


def _hhmm(opening: OpeningSpec) -> str:
    return f"{opening.opens:%H:%M}-{opening.closes:%H:%M}"
