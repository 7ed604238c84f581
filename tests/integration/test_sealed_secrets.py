"""Vendor secrets at rest: the Retell key and the Vapi HMAC secret are ciphertext in Postgres,
bound to their org, still verify signed calls (after a key rotation too), and rows stored in
clear before are sealed by `booking migrate`. Real app, real embedded Postgres, real subprocess
for the command."""

import base64
import json
import logging
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from core.domain.vapi_auth import HmacSettings, VapiAuthSettings
from core.errors import ConfigurationError
from core.infra.config import Settings
from core.infra.keys import generate_key
from core.infra.migrate import MIGRATIONS_DIR, migrate
from core.infra.secret_box import SecretBox, require_secret_box
from core.ops.sealed_secrets import seal_stored_secrets
from core.repositories import orgs as org_repo
from core.services.orgs import create_org
from tests.apiclient import api_client
from tests.booking_helpers import local_start
from tests.conftest import MakeOrg, Stack, make_settings
from tests.factories import org_spec
from tests.voice_helpers import retell_body, retell_headers, vapi_message, vapi_signed_headers
from tests.voice_helpers import vapi_call as vapi_tool_call

pytestmark = pytest.mark.integration

RETELL_KEY = "key_retell_sealed_0123456789abcdef"
HMAC_SECRET = "vapi-hmac-sealed-0123456789abcdef"
ADMIN = {"Authorization": "Bearer test-admin-token"}
BOOKING = [sys.executable, "-m", "cli.main"]
REPO = Path(__file__).resolve().parents[2]


def every_form(secret: str) -> list[str]:
    """The secret as it could leak: raw, base64 (both alphabets, unpadded too), hex."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    return [secret, b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode(), raw.hex()]


def hmac_settings() -> VapiAuthSettings:
    return VapiAuthSettings(hmac=HmacSettings.model_validate({"secret": HMAC_SECRET}))


def availability_body() -> bytes:
    day = local_start(days_ahead=1).date().isoformat()
    return json.dumps(vapi_message(vapi_tool_call("check_availability", {"date": day}))).encode()


async def retell_call(client: httpx.AsyncClient, slug: str, key: str) -> httpx.Response:
    body = retell_body("find_appointments", {})
    return await client.post(
        f"/voice/retell/{slug}", content=body, headers=retell_headers(body, key)
    )


async def vapi_call(client: httpx.AsyncClient, slug: str, secret: str) -> httpx.Response:
    body = availability_body()
    return await client.post(
        f"/voice/vapi/{slug}", content=body, headers=vapi_signed_headers(body, secret)
    )


async def stored_row(conn: asyncpg.Pool | asyncpg.Connection, slug: str) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT id, retell_api_key, vapi_hmac_secret, o::text AS whole_row "
        "FROM organizations o WHERE slug = $1",
        slug,
    )


@asynccontextmanager
async def fresh_database(
    stack: Stack, pool: asyncpg.Pool, migrations: Path = MIGRATIONS_DIR
) -> AsyncIterator[str]:
    """A database of the test's own on the session's server, migrated with `migrations`: the
    session's database holds every test's orgs, sealed under the tests' key."""
    name = f"sealed_{uuid.uuid4().hex[:8]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    dsn = stack.database_url.replace("/postgres?", f"/{name}?")
    try:
        await migrate(dsn, migrations)
        yield dsn
    finally:
        await pool.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def booking_migrate(dsn: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`booking migrate` as an operator runs it, with only these settings."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": dsn,
        "LOG_FORMAT": "text",
        **settings,
    }
    return subprocess.run(
        [*BOOKING, "migrate"], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


# --- what is stored --------------------------------------------------------------------------


async def test_stored_vendor_secrets_are_ciphertext_and_still_verify(
    settings: Settings, pool: asyncpg.Pool, secret_box: SecretBox
) -> None:
    body = org_spec(retell_api_key=RETELL_KEY, vapi_auth=hmac_settings()).model_dump(mode="json")
    body["retell_api_key"], body["vapi_auth"]["hmac"]["secret"] = RETELL_KEY, HMAC_SECRET
    async with api_client(settings) as client:
        created = await client.post("/admin/orgs", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        row = await stored_row(pool, body["slug"])
        assert row["retell_api_key"].startswith("v1:test:")
        assert row["vapi_hmac_secret"].startswith("v1:test:")
        # No form of either secret anywhere in the row (other columns, the vapi_auth JSON).
        for secret in (RETELL_KEY, HMAC_SECRET):
            for form in every_form(secret):
                assert form not in row["whole_row"], form
        assert (await retell_call(client, body["slug"], RETELL_KEY)).status_code == 200
        assert (await vapi_call(client, body["slug"], HMAC_SECRET)).status_code == 200
        # The schema refuses plaintext from now on, whoever writes it.
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(
                "UPDATE organizations SET retell_api_key = $2 WHERE id = $1", row["id"], RETELL_KEY
            )


async def test_a_secret_copied_to_another_org_fails_closed(
    settings: Settings,
    pool: asyncpg.Pool,
    make_org: MakeOrg,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = await make_org(retell_api_key=RETELL_KEY, vapi_auth=hmac_settings())
    target = await make_org(
        retell_api_key="key_retell_target_0123456789", vapi_auth=hmac_settings()
    )
    # Someone with database access copies the source org's sealed values onto the target org,
    # hoping to sign the target's calls with the source's secrets.
    await pool.execute(
        """
        UPDATE organizations AS t SET retell_api_key = s.retell_api_key,
                                      vapi_hmac_secret = s.vapi_hmac_secret
        FROM organizations AS s WHERE s.id = $1 AND t.id = $2
        """,
        source.id,
        target.id,
    )
    with caplog.at_level(logging.ERROR):
        async with api_client(settings) as client:
            retell = await retell_call(client, target.slug, RETELL_KEY)
            vapi = await vapi_call(client, target.slug, HMAC_SECRET)
            # The source org itself is untouched.
            assert (await retell_call(client, source.slug, RETELL_KEY)).status_code == 200
    assert (retell.status_code, vapi.status_code) == (401, 401)
    assert retell.json()["error"]["message"] == "missing or invalid Retell signature"
    assert vapi.json()["error"]["message"] == "missing or invalid credentials"
    refusals = [r.getMessage() for r in caplog.records if "failed authentication" in r.getMessage()]
    assert len(refusals) == 2, refusals
    logged = caplog.text
    assert RETELL_KEY not in logged and HMAC_SECRET not in logged


# --- rotation and the migration step ---------------------------------------------------------


async def test_rotation_keeps_old_sealed_secrets_verifying_and_reseals_them(
    stack: Stack, pool: asyncpg.Pool
) -> None:
    old_key, new_key = generate_key("old-may"), generate_key("new-nov")
    async with fresh_database(stack, pool) as dsn:
        before = make_settings(stack, database_url=dsn, secrets_encryption_key=old_key)
        old_box = require_secret_box(before, "by the test")
        setup = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            spec = org_spec(retell_api_key=RETELL_KEY, vapi_auth=hmac_settings())
            await create_org(setup, spec, secrets=old_box)
            assert (await stored_row(setup, spec.slug))["retell_api_key"].startswith("v1:old-may:")
        finally:
            await setup.close()

        # The new key is current, the old one kept for opening.
        rotated = before.model_copy(
            update={
                "secrets_encryption_key": SecretStr(new_key),
                "secrets_encryption_old_keys": SecretStr(old_key),
            }
        )
        async with api_client(rotated) as client:
            assert (await retell_call(client, spec.slug, RETELL_KEY)).status_code == 200
            assert (await vapi_call(client, spec.slug, HMAC_SECRET)).status_code == 200

        # Re-sealing needs the old key: without it, a clear error names the missing key id.
        new_only = before.model_copy(update={"secrets_encryption_key": SecretStr(new_key)})
        with pytest.raises(ConfigurationError, match="sealed with key.s. old-may, which are not"):
            await seal_stored_secrets(dsn, require_secret_box(new_only, "by the test"))
        report = await seal_stored_secrets(dsn, require_secret_box(rotated, "by the test"))
        assert (report.sealed, report.resealed, report.unreadable) == (0, 2, 0)
        again = await seal_stored_secrets(dsn, require_secret_box(rotated, "by the test"))
        assert (again.sealed, again.resealed) == (0, 0)

        conn = await asyncpg.connect(dsn)
        try:
            row = await stored_row(conn, spec.slug)
        finally:
            await conn.close()
        assert row["retell_api_key"].startswith("v1:new-nov:")
        assert row["vapi_hmac_secret"].startswith("v1:new-nov:")
        # The old key can go now: everything opens with the new one alone.
        async with api_client(new_only) as client:
            assert (await retell_call(client, spec.slug, RETELL_KEY)).status_code == 200
            assert (await vapi_call(client, spec.slug, HMAC_SECRET)).status_code == 200


async def test_booking_migrate_seals_secrets_stored_in_clear(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # The schema as the previous release left it, and an org whose secrets it stored in clear.
    before_sealing = tmp_path / "migrations"
    before_sealing.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0009":
            shutil.copy(path, before_sealing)
    async with fresh_database(stack, pool, before_sealing) as dsn:
        setup = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        try:
            spec = org_spec()
            await create_org(setup, spec)
            await setup.execute(
                """
                UPDATE organizations SET retell_api_key = $2, vapi_auth = $3::jsonb,
                                         vapi_hmac_secret = $4
                WHERE slug = $1
                """,
                spec.slug,
                RETELL_KEY,
                json.dumps(hmac_settings().public()),
                HMAC_SECRET,
            )
        finally:
            await setup.close()

        # Without the key: the new migration applies, then a clear error says what to set.
        refused = booking_migrate(dsn, tmp_path)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert refused.stderr.strip().splitlines()[-1] == (
            "booking migrate: 2 org secret(s) are stored in clear (retell_api_key, "
            "vapi_hmac_secret): set SECRETS_ENCRYPTION_KEY and run `booking migrate` again to "
            "seal them"
        )
        key = generate_key("s1")
        sealed = booking_migrate(dsn, tmp_path, SECRETS_ENCRYPTION_KEY=key)
        assert sealed.returncode == 0, sealed.stderr
        assert sealed.stdout.splitlines() == [
            "migrations: nothing to apply",
            "org secrets: sealed 2, re-sealed 0 under the current key",
        ]
        assert booking_migrate(dsn, tmp_path, SECRETS_ENCRYPTION_KEY=key).stdout.splitlines()[
            -1
        ] == ("org secrets: sealed 0, re-sealed 0 under the current key")

        conn = await asyncpg.connect(dsn)
        try:
            row = await stored_row(conn, spec.slug)
            # The constraints now hold for every row: plaintext cannot come back.
            validated = await conn.fetch(
                "SELECT conname, convalidated FROM pg_constraint WHERE conname LIKE '%_sealed'"
            )
        finally:
            await conn.close()
        for secret in (RETELL_KEY, HMAC_SECRET):
            for form in every_form(secret):
                assert form not in row["whole_row"], form
        assert sorted((r["conname"], r["convalidated"]) for r in validated) == [
            ("organizations_retell_api_key_sealed", True),
            ("organizations_vapi_hmac_secret_sealed", True),
        ]
        settings = make_settings(stack, database_url=dsn, secrets_encryption_key=key)
        async with api_client(settings) as client:
            assert (await retell_call(client, spec.slug, RETELL_KEY)).status_code == 200
            assert (await vapi_call(client, spec.slug, HMAC_SECRET)).status_code == 200
            assert (
                await retell_call(client, spec.slug, "key_retell_wrong_01234")
            ).status_code == 401


# --- configuration ---------------------------------------------------------------------------


async def test_the_api_does_not_start_without_a_secrets_key(stack: Stack, tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": stack.database_url,
        "TEMPORAL_ADDRESS": stack.temporal_address,
        "API_PORT": "1",  # never reached: it stops before listening
    }
    result = subprocess.run(
        [*BOOKING, "api"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "booking api: SECRETS_ENCRYPTION_KEY is not set; it is needed by the API to seal and "
            "open org vendor secrets. Generate one with"
        )
    )
    bad = subprocess.run(
        [*BOOKING, "api"],
        env={**env, "SECRETS_ENCRYPTION_KEY": "s1:c2hvcnQ="},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == (
        "booking api: SECRETS_ENCRYPTION_KEY: the key must be 32 bytes (AES-256), got 5"
    )


async def test_reading_a_secret_needs_the_box_the_api_holds(
    pool: asyncpg.Pool, make_org: MakeOrg, secret_box: SecretBox
) -> None:
    org = await make_org(retell_api_key=RETELL_KEY)
    found = await org_repo.find_by_slug(pool, slug=org.slug, secrets=secret_box)
    assert found is not None and found.retell_api_key is not None
    # Opened only into a SecretStr: a row printed in a log line shows no key.
    assert found.retell_api_key.get_secret_value() == RETELL_KEY
    assert RETELL_KEY not in repr(found) and RETELL_KEY not in str(found)
