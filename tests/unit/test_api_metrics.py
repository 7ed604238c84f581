"""The request middleware on a bare app: route templates, not paths; failures counted as 500."""

import httpx
from fastapi import FastAPI

from api.metrics import ApiMetrics, RequestMetrics


def _app(metrics: ApiMetrics) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("bug")

    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


def _requests(metrics: ApiMetrics, route: str, status: str) -> float | None:
    labels = {"route": route, "method": "GET", "status": status}
    return metrics.registry.get_sample_value("booking_http_requests_total", labels)


async def test_requests_are_counted_by_template_and_status() -> None:
    metrics = ApiMetrics()
    transport = httpx.ASGITransport(app=_app(metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/items/secret-42")).status_code == 200
        assert (await client.get("/items/secret-43")).status_code == 200
        assert (await client.get("/secret-44")).status_code == 404
        assert (await client.get("/broken")).status_code == 500
        assert (await client.get("/docs")).status_code == 200
    assert _requests(metrics, "/items/{item_id}", "200") == 2
    assert _requests(metrics, "unmatched", "404") == 1
    assert _requests(metrics, "/broken", "500") == 1
    assert _requests(metrics, "/docs", "200") == 1
    duration = metrics.registry.get_sample_value(
        "booking_http_request_duration_seconds_count",
        {"route": "/items/{item_id}", "method": "GET"},
    )
    assert duration == 2


def test_each_app_has_its_own_registry() -> None:
    first, second = ApiMetrics(), ApiMetrics()  # a shared registry would refuse the second
    first.bookings.labels("booked", "vapi").inc()
    labels = {"outcome": "booked", "channel": "vapi"}
    assert first.registry.get_sample_value("booking_outcomes_total", labels) == 1
    assert second.registry.get_sample_value("booking_outcomes_total", labels) is None
