"""SQL for organizations and their providers, services and opening hours.

The vendor secrets an org stores (`SEALED_COLUMNS`) are sealed here on the way in and opened
here on the way out (core/infra/secret_box.py), bound to the org's id: no other code reads or
writes those columns, so their plaintext exists only in the request that needs it.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg
from pydantic import SecretStr

from core.domain.org_spec import OrgSpec
from core.domain.vapi_auth import VapiAuthSettings
from core.errors import ConfigurationError, NotFound
from core.infra.secret_box import SecretBox
from core.repositories import Executor, from_record

RETELL_KEY_COLUMN = "retell_api_key"
VAPI_HMAC_COLUMN = "vapi_hmac_secret"
SEALED_COLUMNS = (RETELL_KEY_COLUMN, VAPI_HMAC_COLUMN)

# Postgres' default name for `slug text UNIQUE` in 0001_schema.sql.
SLUG_CONSTRAINT = "organizations_slug_key"


async def insert_org(
    pool: asyncpg.Pool,
    *,
    spec: OrgSpec,
    api_key_hash: str,
    voice_secret_hash: str,
    secrets: SecretBox | None,
) -> UUID:
    """Insert the org and everything it owns in one transaction; returns the org id.
    `secrets` seals the spec's vendor secrets (ConfigurationError if it has some and no box)."""
    # Chosen here, not by the column default: the sealed secrets are bound to it.
    org_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            INSERT INTO organizations (slug, name, time_zone, default_region, sms_sender,
                                       locale, languages, api_key_hash, voice_secret_hash,
                                       retell_api_key, slot_step, min_notice, horizon,
                                       vapi_auth, vapi_hmac_secret, id)
            VALUES ($1, $2, $3, $4, $5, $14, $15, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $16)
            """,
            spec.slug,
            spec.name,
            spec.time_zone,
            spec.default_region,
            spec.sms_sender,
            api_key_hash,
            voice_secret_hash,
            _sealed(secrets, spec.retell_api_key, org_id, RETELL_KEY_COLUMN),
            timedelta(minutes=spec.slot_step_minutes),
            timedelta(minutes=spec.min_notice_minutes),
            timedelta(days=spec.horizon_days),
            json.dumps(spec.vapi_auth.public()) if spec.vapi_auth else None,
            _sealed(secrets, _hmac_secret(spec.vapi_auth), org_id, VAPI_HMAC_COLUMN),
            spec.locale,
            spec.languages,
            org_id,
        )
        await conn.executemany(
            "INSERT INTO providers (org_id, name, calendar_id) VALUES ($1, $2, $3)",
            [(org_id, p.name, p.calendar_id) for p in spec.providers],
        )
        await conn.executemany(
            """
            INSERT INTO services (org_id, name, duration_minutes, buffer_minutes)
            VALUES ($1, $2, $3, $4)
            """,
            [(org_id, s.name, s.duration_minutes, s.buffer_minutes) for s in spec.services],
        )
        await conn.executemany(
            "INSERT INTO business_hours (org_id, weekday, opens, closes) VALUES ($1, $2, $3, $4)",
            [(org_id, h.weekday_index, h.opens, h.closes) for h in spec.hours],
        )
    return org_id


async def replace_credentials(
    pool: asyncpg.Pool, *, slug: str, api_key_hash: str, voice_secret_hash: str
) -> UUID:
    org_id: UUID | None = await pool.fetchval(
        """
        UPDATE organizations SET api_key_hash = $2, voice_secret_hash = $3
        WHERE slug = $1 RETURNING id
        """,
        slug,
        api_key_hash,
        voice_secret_hash,
    )
    if org_id is None:
        raise NotFound(f"no org with slug {slug!r}")
    return org_id


async def update_retell_api_key(
    pool: asyncpg.Pool, *, slug: str, retell_api_key: SecretStr | None, secrets: SecretBox | None
) -> UUID:
    """Set (or clear) the org's Retell API key, sealed; NotFound for an unknown slug."""
    org_id = await _org_id(pool, slug=slug)
    await pool.execute(
        "UPDATE organizations SET retell_api_key = $2 WHERE id = $1",
        org_id,
        _sealed(secrets, retell_api_key, org_id, RETELL_KEY_COLUMN),
    )
    return org_id


async def update_vapi_auth(
    pool: asyncpg.Pool,
    *,
    slug: str,
    settings: dict[str, object] | None,
    hmac_secret: SecretStr | None,
    secrets: SecretBox | None,
) -> UUID:
    """Set (or, with None, reset) the org's Vapi auth settings and sealed HMAC secret together."""
    org_id = await _org_id(pool, slug=slug)
    await pool.execute(
        "UPDATE organizations SET vapi_auth = $2::jsonb, vapi_hmac_secret = $3 WHERE id = $1",
        org_id,
        json.dumps(settings) if settings is not None else None,
        _sealed(secrets, hmac_secret, org_id, VAPI_HMAC_COLUMN),
    )
    return org_id


async def _org_id(conn: Executor, *, slug: str) -> UUID:
    # An org's id never changes, so reading it before the update races with nothing.
    org_id: UUID | None = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    if org_id is None:
        raise NotFound(f"no org with slug {slug!r}")
    return org_id


def _sealed(
    secrets: SecretBox | None, plain: SecretStr | None, org_id: UUID, column: str
) -> str | None:
    if plain is None:
        return None
    if secrets is None:
        raise ConfigurationError(
            f"SECRETS_ENCRYPTION_KEY is not set; it is needed to store {column} sealed"
        )
    return secrets.seal(plain.get_secret_value(), org_id=org_id, column=column)


async def update_languages(
    pool: asyncpg.Pool, *, slug: str, locale: str, languages: list[str]
) -> UUID:
    """Set the org's locale and the languages it serves (a trigger bumps config_version)."""
    org_id: UUID | None = await pool.fetchval(
        "UPDATE organizations SET locale = $2, languages = $3 WHERE slug = $1 RETURNING id",
        slug,
        locale,
        languages,
    )
    if org_id is None:
        raise NotFound(f"no org with slug {slug!r}")
    return org_id


async def has_api_key(pool: asyncpg.Pool, *, slug: str, api_key_hash: str) -> bool:
    found: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM organizations WHERE slug = $1 AND api_key_hash = $2)",
        slug,
        api_key_hash,
    )
    return found


_ORG_COLUMNS = (
    "id, slug, name, time_zone, default_region, locale, languages, sms_sender, slot_step, "
    "min_notice, horizon"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgRow:
    """An org's own settings (`_ORG_COLUMNS`), without its providers, services or secrets."""

    id: UUID
    slug: str
    name: str
    time_zone: str
    default_region: str
    locale: str
    languages: list[str] | None
    sms_sender: str | None
    slot_step: timedelta
    min_notice: timedelta
    horizon: timedelta


@dataclass(frozen=True, slots=True)
class OrgByHash:
    """An org found by a credential's hash, with the hash stored for it: the caller compares
    the two in constant time."""

    org: OrgRow
    stored_hash: str


@dataclass(frozen=True, slots=True)
class OrgWithRetellKey:
    """An org and the key that verifies its Retell webhook signatures (None: not set)."""

    org: OrgRow
    retell_api_key: SecretStr | None


async def find_by_api_key_hash(conn: Executor, *, api_key_hash: str) -> OrgByHash | None:
    """The org whose API key hashes to this, with the stored hash for a constant-time check."""
    row = await conn.fetchrow(
        f"SELECT {_ORG_COLUMNS}, api_key_hash FROM organizations WHERE api_key_hash = $1",
        api_key_hash,
    )
    return OrgByHash(from_record(OrgRow, row), row["api_key_hash"]) if row is not None else None


async def find_by_voice_secret_hash(conn: Executor, *, voice_secret_hash: str) -> OrgByHash | None:
    """The org whose voice webhook secret hashes to this, with the stored hash."""
    row = await conn.fetchrow(
        f"""
        SELECT {_ORG_COLUMNS}, voice_secret_hash FROM organizations
        WHERE voice_secret_hash = $1
        """,
        voice_secret_hash,
    )
    return (
        OrgByHash(from_record(OrgRow, row), row["voice_secret_hash"]) if row is not None else None
    )


async def find_by_slug(conn: Executor, *, slug: str, secrets: SecretBox) -> OrgWithRetellKey | None:
    """The org with this slug and its opened Retell key, for Retell webhook auth.

    SealedSecretUnreadable when the stored key does not open for this org."""
    row = await conn.fetchrow(
        f"SELECT {_ORG_COLUMNS}, retell_api_key FROM organizations WHERE slug = $1",
        slug,
    )
    if row is None:
        return None
    org = from_record(OrgRow, row)
    return OrgWithRetellKey(
        org, _opened(secrets, row[RETELL_KEY_COLUMN], org.id, RETELL_KEY_COLUMN)
    )


@dataclass(frozen=True, slots=True)
class OrgWithVapiAuth:
    """An org, how its Vapi calls are checked, and its voice secret's hash to compare with."""

    org: OrgRow
    vapi_auth: VapiAuthSettings
    voice_secret_hash: str


async def find_vapi_auth_by_slug(
    conn: Executor, *, slug: str, secrets: SecretBox
) -> OrgWithVapiAuth | None:
    """The org with this slug and its Vapi auth settings (defaults when none are set), the HMAC
    secret opened; SealedSecretUnreadable when it does not open for this org."""
    row = await conn.fetchrow(
        f"""
        SELECT {_ORG_COLUMNS}, vapi_auth, vapi_hmac_secret, voice_secret_hash
        FROM organizations WHERE slug = $1
        """,
        slug,
    )
    if row is None:
        return None
    org = from_record(OrgRow, row)
    settings = json.loads(row["vapi_auth"]) if row["vapi_auth"] is not None else {}
    if settings.get("hmac") is not None:
        settings["hmac"]["secret"] = _opened(
            secrets, row[VAPI_HMAC_COLUMN], org.id, VAPI_HMAC_COLUMN
        )
    return OrgWithVapiAuth(
        org,
        VapiAuthSettings.model_validate(settings),
        row["voice_secret_hash"],
    )


async def requires_vapi_hmac(conn: Executor, *, org_id: UUID) -> bool:
    """Whether the org accepts only HMAC-signed Vapi calls."""
    required: bool = await conn.fetchval(
        "SELECT vapi_hmac_secret IS NOT NULL FROM organizations WHERE id = $1", org_id
    )
    return bool(required)


def _hmac_secret(settings: VapiAuthSettings | None) -> SecretStr | None:
    return settings.hmac.secret if settings and settings.hmac else None


def _opened(secrets: SecretBox, stored: str | None, org_id: UUID, column: str) -> SecretStr | None:
    if stored is None:
        return None
    return SecretStr(secrets.open(stored, org_id=org_id, column=column))
