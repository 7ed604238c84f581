"""The production process commands: api, worker, migrate."""

import asyncio
import logging
import signal

import uvicorn

from api.app import create_app
from core.errors import ConfigurationError
from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.migrate import migrate
from core.infra.secret_box import secret_box
from core.ops.sealed_secrets import seal_stored_secrets
from core.temporal.client import connect_temporal
from worker.main import WorkerRole, run_worker
from worker.telemetry import worker_runtime

log = logging.getLogger(__name__)


def _require_infrastructure(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("TEMPORAL_ADDRESS", settings.temporal_address),
        )
        if value is None
    ]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set. Use `booking dev` for the embedded stack, "
            "or point the settings at your Postgres and Temporal."
        )


def serve_api(settings: Settings) -> int:
    """Serve the API until SIGINT/SIGTERM; uvicorn drains in-flight requests before exiting."""
    _require_infrastructure(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go to our handler (core.infra.logs), not its own
        timeout_graceful_shutdown=int(settings.shutdown_grace.total_seconds()),
    )
    return 0


async def serve_worker(settings: Settings, role: WorkerRole = "all") -> int:
    """Run the worker (both roles, or one) until SIGINT/SIGTERM, then finish in-flight tasks."""
    _require_infrastructure(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    client = await connect_temporal(settings, runtime=worker_runtime(settings))
    pool = await create_pool(settings)
    try:
        await run_worker(client, settings, pool, stop, role)
    finally:
        await pool.close()
    return 0


async def migrate_database(settings: Settings) -> int:
    """Apply pending migrations to DATABASE_URL, or to the embedded database when unset, then
    seal the org secrets stored in clear and re-seal those under a former key (SQL has no key,
    so that step is Python: core/ops/sealed_secrets.py)."""
    embedded = None
    dsn = settings.database_url
    if dsn is None:
        # Imported here: the production processes (api, worker) never load the dev stack.
        from cli.dev_secrets_key import with_dev_secrets_key
        from devstack.postgres import EmbeddedPostgres

        settings = with_dev_secrets_key(settings)
        embedded = EmbeddedPostgres(settings.data_dir / "pg")
        dsn = await asyncio.to_thread(embedded.start)
    try:
        applied = await migrate(dsn)
        sealing = await seal_stored_secrets(dsn, secret_box(settings))
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")
    print(f"org secrets: {sealing.summary()}")
    return 0
