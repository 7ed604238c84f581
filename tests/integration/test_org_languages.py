"""Changing an existing org's locale and languages, through the admin API and `booking org
languages`: callers hear the new locale at once, the cached configuration is reloaded (its
version bumped), and a bad locale is refused without writing anything."""

from datetime import time
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.booking_helpers import local_start
from tests.conftest import Stack
from tests.factories import TestOrg
from tests.integration.test_org_cli import _env, booking_org
from tests.voice_helpers import vapi_call, vapi_said

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer test-admin-token"}


async def first_words(api: httpx.AsyncClient, org: TestOrg, language: str | None = None) -> str:
    day = str(local_start(days_ahead=2, at=time(10)).date())
    arguments = {"date": day} | ({"language": language} if language else {})
    return (await vapi_said(api, org, vapi_call("check_availability", arguments))).split(" ")[0]


async def settings_of(pool: asyncpg.Pool, org: TestOrg) -> tuple[str, list[str] | None, int]:
    row = await pool.fetchrow(
        "SELECT locale, languages, config_version FROM organizations WHERE id = $1", org.id
    )
    return row["locale"], row["languages"], row["config_version"]


async def test_the_admin_api_changes_what_callers_hear(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool
) -> None:
    assert await first_words(api, org) == "Today"
    _, _, version = await settings_of(pool, org)

    update = {"locale": "de_DE", "languages": ["en-GB"]}
    response = await api.put(f"/admin/orgs/{org.slug}/languages", json=update, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {"locale": "de-DE", "languages": ["de-DE", "en-GB"]}
    assert await settings_of(pool, org) == ("de-DE", ["de-DE", "en-GB"], version + 1)
    assert await first_words(api, org) == "Heute"
    assert await first_words(api, org, language="en") == "Today"  # en-GB, now served

    for bad in ({"locale": "pt-BR"}, {"locale": "de-DE", "languages": ["xx"]}, {"extra": 1}):
        refused = await api.put(f"/admin/orgs/{org.slug}/languages", json=bad, headers=ADMIN)
        assert refused.status_code == 422, refused.text
    assert await settings_of(pool, org) == ("de-DE", ["de-DE", "en-GB"], version + 1)
    missing = await api.put(
        "/admin/orgs/no-such-org/languages", json={"locale": "de-DE"}, headers=ADMIN
    )
    assert missing.status_code == 404


async def test_the_cli_changes_what_callers_hear(
    api: httpx.AsyncClient, org: TestOrg, pool: asyncpg.Pool, stack: Stack, tmp_path: Path
) -> None:
    env = _env(DATABASE_URL=stack.database_url)
    result = await booking_org("languages", org.slug, "fr-FR", "es-ES", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("{") and '"fr-FR"' in result.stdout
    assert (await settings_of(pool, org))[:2] == ("fr-FR", ["fr-FR", "es-ES"])
    assert await first_words(api, org) == "Nous"  # "Nous sommes le ..."
    assert await first_words(api, org, language="es-ES") == "Hoy"

    refused = await booking_org("languages", org.slug, "pt-BR", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "unsupported locale" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    assert (await settings_of(pool, org))[:2] == ("fr-FR", ["fr-FR", "es-ES"])
