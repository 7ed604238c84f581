"""The asyncpg connection pool: the only way code other than migrations reaches Postgres."""

import asyncpg

from core.errors import ConfigurationError
from core.infra.config import Settings

# What a lost, refused or shutting-down Postgres raises: the request may succeed later, so the
# caller is told to try again (HTTP 503), never "internal error". OSError covers a refused
# connection and a socket file gone while the server restarts; InternalClientError is how
# asyncpg reports a connection closed in the middle of a statement.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InternalClientError,
)


async def create_pool(settings: Settings, dsn: str | None = None) -> asyncpg.Pool:
    """Open a pool to `dsn` (default: settings.database_url).

    Statements time out after 10 s so a stuck query surfaces as an error instead of a hang.
    """
    target = dsn or settings.database_url
    if target is None:
        raise ConfigurationError("DATABASE_URL is not set and no embedded database was started")
    pool = await asyncpg.create_pool(
        target,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        command_timeout=10,
        server_settings={"application_name": "booking"},
    )
    assert pool is not None  # create_pool returns None only when used without await
    return pool
