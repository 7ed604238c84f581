"""The FastAPI application: shared resources built once in `lifespan`, one router per resource."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.actions import BookingActions
from api.calendar_relay import CalendarChangeRelay
from api.changes import BookingChanges
from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.metrics import ApiMetrics, RequestMetrics
from api.routes import admin as admin_routes
from api.routes import (
    availability,
    booking_commands,
    bookings,
    calendar_notifications,
    codec,
    health,
    upcoming,
    voice,
)
from api.routes import metrics as metrics_routes
from api.routes import twilio as twilio_webhooks
from api.voice.tools import VoiceTools
from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.logs import FreshLogContext
from core.infra.secret_box import require_secret_box
from core.services.scheduling import CatalogCache
from core.temporal.client import connect_temporal
from core.temporal.codec import payload_codec

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the app; Postgres pool and Temporal client open on startup and close on shutdown.

    ConfigurationError without SECRETS_ENCRYPTION_KEY: every org's stored vendor secrets are
    sealed with it, so the API could neither verify Retell or Vapi HMAC calls nor store a key.
    """
    # Here, not in lifespan: a missing key stops `booking api` before it listens.
    secrets = require_secret_box(settings, "by the API to seal and open org vendor secrets")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.secrets = secrets
        app.state.codec = payload_codec(settings)
        app.state.pool = await create_pool(settings)
        try:
            app.state.temporal = await connect_temporal(settings)
            app.state.actions = BookingActions(
                pool=app.state.pool,
                temporal=app.state.temporal,
                settings=settings,
                catalogs=CatalogCache(app.state.pool),
                metrics=app.state.metrics,
            )
            app.state.changes = BookingChanges(
                pool=app.state.pool,
                temporal=app.state.temporal,
                settings=settings,
                metrics=app.state.metrics,
            )
            app.state.voice_tools = VoiceTools(
                app.state.actions, app.state.changes, app.state.metrics, pool=app.state.pool
            )
            app.state.calendar_relay = CalendarChangeRelay(app.state.temporal, settings)
            try:
                yield
            finally:
                await app.state.calendar_relay.aclose()
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Voice booking API",
        summary="Book, move and cancel appointments for AI voice agents, durably.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(FreshLogContext)
    # Built here, not in lifespan: the middleware needs it before the app starts. Per app, so
    # several apps in one process (tests) never share a registry.
    app.state.metrics = ApiMetrics()
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.include_router(health.router)
    app.include_router(admin_routes.router)
    app.include_router(voice.router)
    app.include_router(availability.router)
    app.include_router(booking_commands.router)
    # Before `bookings`: its `/bookings/{booking_id}` would take "upcoming" for an id.
    app.include_router(upcoming.router)
    app.include_router(bookings.router)
    app.include_router(twilio_webhooks.router)
    app.include_router(calendar_notifications.router)
    app.include_router(metrics_routes.router)
    app.include_router(codec.router)
    return app
