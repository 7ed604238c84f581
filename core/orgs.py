"""Organizations as configured by an admin: the spec to create one, and the credentials it gets."""

from dataclasses import dataclass
from datetime import time
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from pydantic import BaseModel, Field, field_validator, model_validator

from core.credentials import hash_token, new_token
from core.errors import InvalidInput
from core.repositories import orgs as org_repo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ProviderSpec(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    calendar_id: str = Field(min_length=1, max_length=1024)


class ServiceSpec(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    duration_minutes: int = Field(ge=5, le=720)
    buffer_minutes: int = Field(default=0, ge=0, le=240)


class OpeningSpec(BaseModel):
    """One opening interval on a weekday (`mon` .. `sun`), local time in the org's zone."""

    weekday: str
    opens: time
    closes: time

    @field_validator("weekday")
    @classmethod
    def _known_weekday(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}")
        return day

    @property
    def weekday_index(self) -> int:
        """0 = Monday, as Python's `date.weekday()` counts."""
        return WEEKDAYS.index(self.weekday)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> "OpeningSpec":
        if self.opens >= self.closes:
            raise ValueError("opens must be before closes")
        return self


class OrgSpec(BaseModel):
    """Everything needed to create an org in one transaction."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    name: str = Field(min_length=1, max_length=200)
    time_zone: str
    default_region: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    sms_sender: str | None = None
    retell_api_key: str | None = None
    slot_step_minutes: int = Field(default=30, ge=5, le=240)
    min_notice_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30)
    horizon_days: int = Field(default=60, ge=1, le=730)
    providers: list[ProviderSpec] = Field(min_length=1)
    services: list[ServiceSpec] = Field(min_length=1)
    hours: list[OpeningSpec] = Field(min_length=1)

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class OrgCredentials(BaseModel):
    """Returned once at creation; only hashes are stored."""

    org_id: str
    slug: str
    api_key: str
    voice_secret: str


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
    """Create the org with its providers, services and hours; a taken slug is InvalidInput."""
    api_key, voice_secret = new_credentials()
    try:
        org_id = await org_repo.insert_org(
            pool,
            spec=spec,
            api_key_hash=hash_token(api_key),
            voice_secret_hash=hash_token(voice_secret),
        )
    except asyncpg.UniqueViolationError:
        raise InvalidInput(f"an org with slug {spec.slug!r} already exists", field="slug") from None
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
