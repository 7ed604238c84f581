"""Liveness and readiness, including readiness when the database is gone."""

from pathlib import Path

from core.infra.config import Settings
from devstack.postgres import EmbeddedPostgres
from tests.apiclient import api_client


async def test_health_and_ready_when_everything_is_up(settings: Settings) -> None:
    async with api_client(settings) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"postgres": "ok", "temporal": "ok"}


async def test_ready_reports_a_stopped_database(settings: Settings, tmp_path: Path) -> None:
    own = EmbeddedPostgres(tmp_path / "pg")
    dsn = own.start()
    try:
        async with api_client(settings.model_copy(update={"database_url": dsn})) as client:
            assert (await client.get("/ready")).status_code == 200
            own.stop()
            ready = await client.get("/ready")
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["postgres"].startswith("unreachable")
            assert body["checks"]["temporal"] == "ok"
            assert (await client.get("/health")).status_code == 200
    finally:
        own.stop()
