"""Liveness and readiness probes."""

import asyncio
from collections.abc import Awaitable

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import PoolDep, TemporalDep

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_S = 2.0


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is alive and serving requests."""
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(pool: PoolDep, temporal: TemporalDep) -> JSONResponse:
    """Postgres and Temporal are reachable; 503 naming what is not."""
    checks = {
        "postgres": await _check(_ping_postgres(pool)),
        "temporal": await _check(temporal.service_client.check_health()),
    }
    healthy = all(result == "ok" for result in checks.values())
    return JSONResponse(
        {"status": "ready" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


async def _ping_postgres(pool: asyncpg.Pool) -> None:
    async with pool.acquire(timeout=_CHECK_TIMEOUT_S) as conn:
        await conn.fetchval("SELECT 1")


async def _check(probe: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(probe, timeout=_CHECK_TIMEOUT_S)
    except TimeoutError:
        return "unreachable: timed out"
    except Exception as error:  # noqa: BLE001 - a probe reports any failure as data
        return f"unreachable: {type(error).__name__}"
    return "ok"
