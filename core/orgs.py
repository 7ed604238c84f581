"""Organizations as configured by an admin: the spec to create one, and the credentials it gets."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import time
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
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

from core.credentials import hash_token, new_token
from core.errors import InvalidInput
from core.normalize import ensure_timezone
from core.repositories import orgs as org_repo

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


class OrgSpec(_Spec):
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


class OrgCredentials(BaseModel):
    """Returned once at creation; only hashes are stored."""

    org_id: str
    slug: str
    api_key: str
    voice_secret: str


class CreatedOrg(OrgCredentials):
    """What creating an org answers: its credentials (shown once) and what was set up.

    The Retell key is write-only: only whether one is set is reported.
    """

    name: str
    time_zone: str
    default_region: str
    sms_sender: str | None
    retell_api_key_set: bool
    slot_step_minutes: int
    min_notice_minutes: int
    horizon_days: int
    providers: list[ProviderSpec]
    services: list[ServiceSpec]
    hours: list[OpeningSpec]

    @classmethod
    def of(cls, spec: OrgSpec, credentials: OrgCredentials) -> "CreatedOrg":
        return cls(
            **credentials.model_dump(),
            **spec.model_dump(exclude={"slug", "retell_api_key"}),
            retell_api_key_set=spec.retell_api_key is not None,
        )


class SlugTaken(InvalidInput):
    """Another org already has this slug; the admin API answers 409."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"an org with slug {slug!r} already exists", field="slug")


@dataclass(frozen=True, slots=True)
class Org:
    """An authenticated caller's org: what request handlers need to scope and phrase answers."""

    id: UUID
    slug: str
    name: str
    time_zone: ZoneInfo
    default_region: str

    @classmethod
    def from_record(cls, row: asyncpg.Record) -> "Org":
        return cls(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            time_zone=ZoneInfo(row["time_zone"]),
            default_region=row["default_region"],
        )


def new_credentials() -> tuple[str, str]:
    """A fresh (org API key, voice webhook secret) pair."""
    return new_token("bk_api"), new_token("bk_voice")


async def create_org(pool: asyncpg.Pool, spec: OrgSpec) -> OrgCredentials:
    """Create the org with its providers, services and hours, all or nothing.

    A taken slug raises SlugTaken (an InvalidInput, so callers may catch either).
    """
    api_key, voice_secret = new_credentials()
    try:
        org_id = await org_repo.insert_org(
            pool,
            spec=spec,
            api_key_hash=hash_token(api_key),
            voice_secret_hash=hash_token(voice_secret),
        )
    except asyncpg.UniqueViolationError as error:
        # Only the slug can clash: the spec already refuses duplicate names and hours.
        if error.constraint_name != org_repo.SLUG_CONSTRAINT:
            raise
        raise SlugTaken(spec.slug) from None
    return OrgCredentials(
        org_id=str(org_id), slug=spec.slug, api_key=api_key, voice_secret=voice_secret
    )


async def rotate_credentials(pool: asyncpg.Pool, slug: str) -> OrgCredentials:
    """Replace an org's API key and voice secret; the old ones stop working at once."""
    api_key, voice_secret = new_credentials()
    org_id = await org_repo.replace_credentials(
        pool,
        slug=slug,
        api_key_hash=hash_token(api_key),
        voice_secret_hash=hash_token(voice_secret),
    )
    return OrgCredentials(org_id=str(org_id), slug=slug, api_key=api_key, voice_secret=voice_secret)


async def set_retell_api_key(pool: asyncpg.Pool, slug: str, key: SecretStr | None) -> None:
    """Store the key that verifies the org's Retell webhook signatures; None clears it."""
    await org_repo.update_retell_api_key(
        pool, slug=slug, retell_api_key=key.get_secret_value() if key else None
    )
