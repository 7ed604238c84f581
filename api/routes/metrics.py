"""`GET /metrics`: the API's Prometheus metrics (see api/metrics.py for names and labels)."""

import hmac

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth import bearer_token
from api.deps import MetricsDep, SettingsDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(
    request: Request, settings: SettingsDep, metrics: MetricsDep
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
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
