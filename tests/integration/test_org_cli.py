"""`booking org` as a subprocess: creates and rotates orgs as the admin API does, and every
failure (bad file, no database) is one line on stderr, exit 1, and no row written."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from api.routes.admin import EXAMPLE_ORG
from core.infra.secret_box import SecretBox
from devstack.postgres import EmbeddedPostgres
from tests.conftest import TEST_SECRETS_KEY, Stack
from tests.integration.test_admin_orgs import (
    EXAMPLE_FILE,
    REPO,
    RETELL_KEY,
    clinic,
    row_counts,
    sha256,
)


def _env(**values: str) -> dict[str, str]:
    """The parent's environment minus any project settings, plus `values`."""
    project = {
        "DATABASE_URL",
        "TEMPORAL_ADDRESS",
        "ADMIN_TOKEN",
        "DATA_DIR",
        "SECRETS_ENCRYPTION_KEY",
        "SECRETS_ENCRYPTION_OLD_KEYS",
    }
    env = {k: v for k, v in os.environ.items() if k not in project}
    env["PYTHONPATH"] = str(REPO)
    env.update(values)
    return env


async def booking_org(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cli.main", "org", *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_creates_the_example_org_as_is(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    env = _env(DATABASE_URL=stack.database_url)
    result = await booking_org("create", "--file", str(EXAMPLE_FILE), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["slug"] == EXAMPLE_ORG["slug"]
    assert "shown only now" in result.stderr and "Traceback" not in result.stderr
    row = await pool.fetchrow(
        "SELECT id, api_key_hash FROM organizations WHERE slug = $1", EXAMPLE_ORG["slug"]
    )
    assert str(row["id"]) == created["org_id"]
    assert row["api_key_hash"] == sha256(created["api_key"])

    again = await booking_org("create", "--file", str(EXAMPLE_FILE), env=env, cwd=tmp_path)
    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr.strip() == (
        f"booking org: an org with slug '{EXAMPLE_ORG['slug']}' already exists"
    )


async def test_cli_reads_stdin_and_rotates(
    stack: Stack, pool: asyncpg.Pool, secret_box: SecretBox, tmp_path: Path
) -> None:
    env = _env(DATABASE_URL=stack.database_url, SECRETS_ENCRYPTION_KEY=TEST_SECRETS_KEY)
    body = clinic(retell_api_key=RETELL_KEY)
    created = await booking_org(
        "create", "--file", "-", env=env, cwd=tmp_path, stdin=json.dumps(body)
    )
    assert created.returncode == 0, created.stderr
    first = json.loads(created.stdout)
    assert first["retell_api_key_set"] is True
    assert RETELL_KEY not in created.stdout + created.stderr
    # Stored sealed with SECRETS_ENCRYPTION_KEY, bound to the org.
    org_id, stored = await pool.fetchrow(
        "SELECT id, retell_api_key FROM organizations WHERE slug = $1", body["slug"]
    )
    assert stored.startswith("v1:test:") and RETELL_KEY not in stored
    assert secret_box.open(stored, org_id=org_id, column="retell_api_key") == RETELL_KEY

    rotated = await booking_org("rotate", body["slug"], env=env, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    second = json.loads(rotated.stdout)
    assert second["api_key"] != first["api_key"]
    stored = await pool.fetchval(
        "SELECT api_key_hash FROM organizations WHERE slug = $1", body["slug"]
    )
    assert stored == sha256(second["api_key"])

    missing = await booking_org("rotate", "no-such-org", env=env, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "booking org: no org with slug 'no-such-org'"


async def test_cli_without_a_secrets_key_stores_no_vendor_secret(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    body = clinic(retell_api_key=RETELL_KEY)
    before = await row_counts(pool)
    result = await booking_org(
        "create",
        "--file",
        "-",
        env=_env(DATABASE_URL=stack.database_url),
        cwd=tmp_path,
        stdin=json.dumps(body),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "booking org: SECRETS_ENCRYPTION_KEY is not set; it is needed to store retell_api_key "
        "sealed"
    )
    assert await row_counts(pool) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read"),
        (b'{"slug": "half', "not valid JSON"),
        (b'{"name": "\xff"}', "cannot read"),
        (json.dumps(clinic(time_zone="Mars/Olympus_Mons")).encode(), "time_zone: unknown IANA"),
        (json.dumps(clinic(hours=[])).encode(), "hours: List should have at least 1 item"),
    ],
    ids=["missing-file", "malformed-json", "not-utf8", "bad-time-zone", "no-hours"],
)
async def test_cli_bad_file_is_a_one_line_error(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path, content: bytes | None, expected: str
) -> None:
    spec = tmp_path / "clinic.json"
    if content is not None:
        spec.write_bytes(content)
    before = await row_counts(pool)
    env = _env(DATABASE_URL=stack.database_url)
    result = await booking_org("create", "--file", str(spec), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("booking org: ") and expected in lines[0]
    assert await row_counts(pool) == before


async def test_cli_uses_the_running_embedded_postgres(
    postgres_server: EmbeddedPostgres, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # Lay DATA_DIR out as `booking dev` does, around the session's already running server.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "pg").symlink_to(postgres_server.pgdata)
    body = clinic()
    result = await booking_org(
        "create",
        "--file",
        "-",
        env=_env(DATA_DIR=str(data_dir)),
        cwd=tmp_path,
        stdin=json.dumps(body),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["slug"] == body["slug"]
    count = await pool.fetchval("SELECT count(*) FROM organizations WHERE slug = $1", body["slug"])
    assert count == 1


async def test_cli_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = await booking_org(
        "create", "--file", str(EXAMPLE_FILE), env=_env(DATA_DIR=str(data_dir)), cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"booking org: no embedded Postgres is running in {data_dir / 'pg'}: "
        "start `booking dev` first or set DATABASE_URL"
    )
    # It looked for a server and did not start one.
    assert not (data_dir / "pg").exists()


async def test_cli_reports_an_unreachable_database_url(tmp_path: Path) -> None:
    env = _env(DATABASE_URL="postgresql://postgres@127.0.0.1:1/postgres")
    result = await booking_org("create", "--file", str(EXAMPLE_FILE), env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("booking org: cannot connect to DATABASE_URL")
