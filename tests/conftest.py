"""Session-wide real infrastructure: one embedded Postgres and one Temporal dev server per run,
and the fixtures every test that books composes from.

Each test isolates itself with a fresh org and a fresh task queue instead of global cleanup, and
everything listens on OS-chosen ports / private sockets, so tests run while `booking dev` is up.

The usual test names `booking_env` (settings on the sandboxes, the workers polling, a fresh org), or
the parts it needs: `booking_settings`, `worker`, `org`, `api` (the app in front of the
worker). A variation comes from a factory, not a copy: `make_worker(**overrides)` for other
settings, `make_org(**overrides)` for a second org or another shape of one.
"""

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.keys import generate_key
from core.infra.logs import LIBRARY_LEVELS, UVICORN_LOGGERS
from core.infra.migrate import migrate
from core.infra.secret_box import SecretBox, require_secret_box
from core.temporal.client import connect_temporal
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import EmbeddedTemporal, start_embedded_temporal
from sandbox.runner import Sandboxes, running_sandboxes
from tests.apiclient import api_client
from tests.booking_helpers import BookingEnv
from tests.factories import TestOrg, create_test_org
from worker.main import BookingWorkers, booking_workers

# The key the tests' org secrets are sealed with: made per run, so none is written in code.
TEST_SECRETS_KEY = generate_key("test")


@dataclass(frozen=True)
class Stack:
    database_url: str
    temporal_address: str
    root: Path


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def temporal_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[EmbeddedTemporal]:
    root = tmp_path_factory.mktemp("temporal")
    server = await start_embedded_temporal(
        database_file=None, port=None, ui_port=None, log_file=root / "temporal.log"
    )
    yield server
    await server.stop()


@pytest.fixture(scope="session")
async def stack(
    postgres_server: EmbeddedPostgres,
    temporal_server: EmbeddedTemporal,
    tmp_path_factory: pytest.TempPathFactory,
) -> Stack:
    assert postgres_server.dsn is not None
    await migrate(postgres_server.dsn)
    return Stack(
        database_url=postgres_server.dsn,
        temporal_address=temporal_server.address,
        root=tmp_path_factory.mktemp("stack"),
    )


def make_settings(stack: Stack, **overrides: object) -> Settings:
    """Settings for one test: never reads the developer's `.env`, own task queue."""
    values: dict[str, object] = {
        "database_url": stack.database_url,
        "temporal_address": stack.temporal_address,
        "temporal_task_queue": f"test-{uuid.uuid4().hex[:12]}",
        "data_dir": stack.root,
        "admin_token": "test-admin-token",
        "db_pool_min_size": 1,
        "db_pool_max_size": 10,
        # The session's database holds every test's orgs: a worker process must not start a
        # calendar sync for each of them. Tests of the sync start the ones they need.
        "calendar_sync_autostart": False,
        "secrets_encryption_key": TEST_SECRETS_KEY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type,call-arg]


@pytest.fixture
def settings(stack: Stack) -> Settings:
    return make_settings(stack)


@pytest.fixture(scope="session")
def secret_box(stack: Stack) -> SecretBox:
    """What seals org secrets under the tests' settings (the API's own box opens them)."""
    return require_secret_box(make_settings(stack), "by the tests")


@pytest.fixture(scope="session")
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(make_settings(stack, db_pool_max_size=30))
    yield created
    await created.close()


@pytest.fixture(scope="session")
async def temporal_client(stack: Stack) -> Client:
    return await connect_temporal(make_settings(stack))


@pytest.fixture(scope="session")
async def sandboxes() -> AsyncIterator[Sandboxes]:
    async with running_sandboxes() as running:
        yield running


@pytest.fixture
async def booking_settings(stack: Stack, sandboxes: Sandboxes) -> AsyncIterator[Settings]:
    """Settings for a test that books: sandboxes, fast retries, no faults left by others."""
    await sandboxes.twilio.clear_faults()
    await sandboxes.calendar.clear_faults()
    yield make_settings(
        stack,
        activity_retry_initial_interval=timedelta(milliseconds=100),
        activity_retry_maximum_interval=timedelta(milliseconds=500),
        **sandboxes.settings_overrides(),
    )
    await sandboxes.twilio.clear_faults()
    await sandboxes.calendar.clear_faults()


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[BookingWorkers]:
    """The workers `booking worker` runs (real SDK clients from settings), polling the test's
    own task queue until the block exits."""
    async with booking_workers(client, settings, pool) as workers, workers.running():
        yield workers


class MakeWorker(Protocol):
    def __call__(
        self, settings: Settings | None = None, *, client: Client | None = None, **overrides: object
    ) -> Awaitable[BookingWorkers]: ...


@pytest.fixture
async def make_worker(
    temporal_client: Client, booking_settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[MakeWorker]:
    """Start the real workers, polling until the test ends: on `booking_settings` changed by
    `overrides` (shorter timings, another public URL), or on `settings` and `client` of the
    test's own (an encrypting client, another database)."""
    async with AsyncExitStack() as started:

        async def start(
            settings: Settings | None = None, *, client: Client | None = None, **overrides: object
        ) -> BookingWorkers:
            chosen = (settings or booking_settings).model_copy(update=overrides)
            return await started.enter_async_context(
                running_worker(client or temporal_client, chosen, pool)
            )

        yield start


@pytest.fixture
async def worker(make_worker: MakeWorker) -> BookingWorkers:
    """The real workers on `booking_settings`, polling for the whole test."""
    return await make_worker()


MakeOrg = Callable[..., Awaitable[TestOrg]]


@pytest.fixture
def make_org(pool: asyncpg.Pool, secret_box: SecretBox) -> MakeOrg:
    """Create a fresh org the way the admin API does, the spec changed by keyword overrides
    (`retell_api_key=...`, `services=[...]`): for a second org or an org of another shape."""

    async def make(**overrides: object) -> TestOrg:
        return await create_test_org(pool, secrets=secret_box, **overrides)

    return make


@pytest.fixture
async def org(make_org: MakeOrg) -> TestOrg:
    """A fresh org of the usual shape (`tests.factories.org_spec`)."""
    return await make_org()


@pytest.fixture
async def api(
    booking_settings: Settings, worker: BookingWorkers
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (with its lifespan) on `booking_settings`, the workers polling behind it."""
    async with api_client(booking_settings) as client:
        yield client


@pytest.fixture
def booking_env(
    booking_settings: Settings,
    temporal_client: Client,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    worker: BookingWorkers,
    org: TestOrg,
) -> BookingEnv:
    """The usual stage for a test that books. Built from the fixtures of those names, so a test
    that also names `pool`, `sandboxes` or `org` gets the same objects."""
    return BookingEnv(
        settings=booking_settings,
        temporal=temporal_client,
        pool=pool,
        sandboxes=sandboxes,
        workers=worker,
        org=org,
    )


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging and uvicorn change process-wide logging state; put it back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = (*LIBRARY_LEVELS, *UVICORN_LOGGERS, "uvicorn.asgi")
    saved = [(lg, lg.level, lg.handlers[:], lg.propagate) for lg in map(logging.getLogger, names)]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for lg, lg_level, lg_handlers, propagate in saved:
        lg.setLevel(lg_level)
        lg.handlers[:] = lg_handlers
        lg.propagate = propagate
