"""The FastAPI application: shared resources built once in `lifespan`, one router per resource."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.routes import bookings, health
from core.config import Settings
from core.db import create_pool
from core.temporal_client import connect_temporal


def create_app(settings: Settings) -> FastAPI:
    """Build the app; Postgres pool and Temporal client open on startup and close on shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await create_pool(settings)
        try:
            app.state.temporal = await connect_temporal(settings)
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Voice booking API",
        summary="Book, move and cancel appointments for AI voice agents, durably.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.include_router(health.router)
    app.include_router(bookings.router)
    return app
