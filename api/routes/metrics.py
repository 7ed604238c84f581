"""`GET /metrics`: the API's Prometheus metrics (see api/metrics.py for names and labels)."""

import hmac
import logging

import asyncpg
from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import bearer_token
from api.deps import MetricsDep, PoolDep, SettingsDep
from api.metrics import ApiMetrics
from core.repositories import calendar_syncs as sync_repo

log = logging.getLogger(__name__)

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(
    request: Request, settings: SettingsDep, metrics: MetricsDep, pool: PoolDep
) -> Response:
    """Prometheus text format; with METRICS_TOKEN set, `Authorization: Bearer <token>`."""
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if expected:
        token = bearer_token(request) or ""
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or invalid metrics token",
                headers={"WWW-Authenticate": "Bearer"},
            )
    await _read_calendar_syncs(pool, metrics)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _read_calendar_syncs(pool: asyncpg.Pool, metrics: ApiMetrics) -> None:
    """Set the calendar gauge from Postgres; without Postgres the rest is still served."""
    try:
        health = await sync_repo.sync_health(pool)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("calendar sync metrics not read: %s", error)
        return
    metrics.calendar_synced.clear()
    for calendar in health:
        synced = calendar.last_synced_at.timestamp() if calendar.last_synced_at else 0.0
        metrics.calendar_synced.labels(str(calendar.provider_id)).set(synced)
