"""The API's Prometheus metrics, in a registry each app owns (several apps never collide).

Labels stay low-cardinality: route templates (never raw paths), methods, status codes, tool
names, platforms and outcomes. Never org ids, phone numbers or booking ids.

    booking_http_requests_total{route, method, status}
    booking_http_request_duration_seconds{route, method}
    booking_voice_tool_duration_seconds{tool, platform}
    booking_outcomes_total{outcome, channel}
    booking_changes_total{change, outcome, channel}
    booking_calendar_last_synced_timestamp_seconds{provider_id}

The calendar gauge is read from Postgres when /metrics is scraped; its label is the provider's
id (a random UUID that names no person), one series per provider calendar.
"""

import time
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Channel = Literal["vapi", "retell", "rest"]
Platform = Literal["vapi", "retell"]
UNMATCHED = "unmatched"

# A caller waits in silence for a tool answer: resolution around the 1-3 s that callers notice.
_TOOL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)


class ApiMetrics:
    """The registry served at /metrics and every metric the API records into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "booking_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "booking_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "booking_voice_tool_duration_seconds",
            "Time to run one voice tool call (a webhook may carry several), by tool and platform.",
            ["tool", "platform"],
            buckets=_TOOL_BUCKETS,
            registry=self.registry,
        )
        self.bookings = Counter(
            "booking_outcomes",
            "Booking attempts by answer: booked, already_booked, unavailable, invalid, error.",
            ["outcome", "channel"],
            registry=self.registry,
        )
        self.changes = Counter(
            "booking_changes",
            "Reschedules and cancellations by answer (rescheduled, cancelled, unchanged, "
            "unavailable, invalid, refused, not_found, error).",
            ["change", "outcome", "channel"],
            registry=self.registry,
        )
        self.calendar_synced = Gauge(
            "booking_calendar_last_synced_timestamp_seconds",
            "When each provider calendar's busy times were last synced from Google "
            "(Unix time; 0: never). Availability and booking read what was synced.",
            ["provider_id"],
            registry=self.registry,
        )


class RequestMetrics:
    """Pure ASGI middleware counting and timing every HTTP request by its route template.

    The template is read after the app has answered, when routing has put the matched route
    in the scope; a path no route matches is counted as `unmatched`.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaping the app ends as a 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route, method = route_template(scope), scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.request_duration.labels(route, method).observe(
                time.perf_counter() - started
            )


def route_template(scope: Scope) -> str:
    """`/bookings/{booking_id}` for `/bookings/0b5e...`; `unmatched` when no route matched."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # Plain Starlette routes on the app itself (/docs, /openapi.json) leave no "route" behind.
    router = getattr(scope.get("app"), "router", None)
    for route in getattr(router, "routes", ()):
        if isinstance(route, Route) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return UNMATCHED
