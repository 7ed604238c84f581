"""Fixtures of the reliability scenarios. Each gets sandboxes of its own, so faults it injects and
the messages and events it counts are its alone; a scenario that restarts Temporal or Postgres
gets its own server for that, never the session's, and it is stopped even when the test fails."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.infra.migrate import migrate
from devstack.postgres import EmbeddedPostgres
from sandbox.runner import Sandboxes, running_sandboxes
from tests.reliability.servers import RestartableTemporal


@pytest.fixture
async def own_sandboxes() -> AsyncIterator[Sandboxes]:
    async with running_sandboxes() as running:
        yield running


@pytest.fixture
async def own_temporal(tmp_path: Path) -> AsyncIterator[RestartableTemporal]:
    """A persistent dev server (SQLite file) on a fixed port, so it can come back as it was."""
    server = RestartableTemporal(tmp_path / "temporal")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A migrated Postgres with its own data directory (and so its own socket)."""
    server = EmbeddedPostgres(tmp_path / "pg")
    try:
        dsn = server.start()
        await migrate(dsn)
        yield server
    finally:
        server.stop()
