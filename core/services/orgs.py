"""Organizations once created: the credentials they get, and the org a request acts for."""

from dataclasses import dataclass, replace
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, SecretStr

from core.domain.credentials import hash_token, new_token
from core.domain.language import served_locale
from core.domain.org_spec import (
    LanguageSettings,
    OpeningSpec,
    OrgSpec,
    ProviderSpec,
    ServiceSpec,
)
from core.domain.vapi_auth import VapiAuthSettings
from core.errors import InvalidInput
from core.infra.secret_box import SecretBox
from core.repositories import orgs as org_repo


class OrgCredentials(BaseModel):
    """Returned once at creation; only hashes are stored."""

    org_id: str
    slug: str
    api_key: str
    voice_secret: str


class CreatedOrg(OrgCredentials):
    """What creating an org answers: its credentials (shown once) and what was set up.

    The Retell key and the Vapi HMAC secret are write-only: only the rest is reported.
    """

    name: str
    time_zone: str
    default_region: str
    locale: str
    languages: list[str] | None
    sms_sender: str | None
    retell_api_key_set: bool
    vapi_auth: dict[str, object] | None
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
            **spec.model_dump(exclude={"slug", "retell_api_key", "vapi_auth"}),
            retell_api_key_set=spec.retell_api_key is not None,
            vapi_auth=spec.vapi_auth.public() if spec.vapi_auth else None,
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
    locale: str
    # Every locale a caller may ask for, the org's own first.
    languages: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: org_repo.OrgRow) -> "Org":
        return cls(
            id=row.id,
            slug=row.slug,
            name=row.name,
            time_zone=ZoneInfo(row.time_zone),
            default_region=row.default_region,
            locale=row.locale,
            languages=tuple(row.languages or (row.locale,)),
        )

    def speaking(self, language: str | None) -> "Org":
        """This org answering in `language` (a caller's, BCP 47) when it serves it; as is
        otherwise, so an unknown or unserved language falls back to the org's locale."""
        tag = served_locale(language, self.languages) if language else None
        return replace(self, locale=tag) if tag else self


def new_credentials() -> tuple[str, str]:
    """A fresh (org API key, voice webhook secret) pair."""
    return new_token("bk_api"), new_token("bk_voice")


async def create_org(
    pool: asyncpg.Pool, spec: OrgSpec, *, secrets: SecretBox | None = None
) -> OrgCredentials:
    """Create the org with its providers, services and hours, all or nothing.

    The spec's vendor secrets are sealed with `secrets` (a spec that has some needs it: a
    ConfigurationError otherwise). A taken slug raises SlugTaken (an InvalidInput, so callers
    may catch either).
    """
    api_key, voice_secret = new_credentials()
    try:
        org_id = await org_repo.insert_org(
            pool,
            spec=spec,
            api_key_hash=hash_token(api_key),
            voice_secret_hash=hash_token(voice_secret),
            secrets=secrets,
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


async def set_retell_api_key(
    pool: asyncpg.Pool, slug: str, key: SecretStr | None, *, secrets: SecretBox | None
) -> None:
    """Store the key that verifies the org's Retell webhook signatures, sealed; None clears it."""
    await org_repo.update_retell_api_key(pool, slug=slug, retell_api_key=key, secrets=secrets)


async def set_vapi_auth(
    pool: asyncpg.Pool,
    slug: str,
    settings: VapiAuthSettings | None,
    *,
    secrets: SecretBox | None,
) -> None:
    """Store how the org's Vapi calls are checked (the HMAC secret sealed); None goes back to
    the defaults."""
    hmac = settings.hmac if settings else None
    await org_repo.update_vapi_auth(
        pool,
        slug=slug,
        settings=settings.public() if settings else None,
        hmac_secret=hmac.secret if hmac else None,
        secrets=secrets,
    )


async def set_languages(pool: asyncpg.Pool, slug: str, settings: LanguageSettings) -> None:
    """Store the org's locale and the languages it serves; NotFound for an unknown slug."""
    await org_repo.update_languages(
        pool, slug=slug, locale=settings.locale, languages=list(settings.languages or ())
    )
