"""Applies the numbered `.sql` files in core/infra/migrations/ in order, each once.

Safe to run from several processes at once: a session advisory lock serialises runners, each
migration runs in its own transaction together with its row in `schema_migrations`, so a
failure leaves the database at the last complete version.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant shared by every runner of this project ("book" in ASCII).
_ADVISORY_LOCK_KEY = 0x626F6F6B
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migration files, sorted by version; a malformed or duplicate number is an error."""
    migrations: dict[int, Migration] = {}
    for path in directory.glob("*.sql"):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            raise ValueError(f"migration file name must look like 0001_name.sql: {path.name}")
        version = int(match.group(1))
        if version in migrations:
            raise ValueError(f"two migrations share version {version}")
        migrations[version] = Migration(version, match.group(2), path)
    return [migrations[v] for v in sorted(migrations)]


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Bring the database at `dsn` up to date; returns the migrations this call applied."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
        try:
            return await _apply_pending(conn, discover(directory))
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
    done: list[Migration] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        async with conn.transaction():
            await conn.execute(migration.path.read_text())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
        done.append(migration)
    return done
