"""Runs the real app (with its lifespan) in-process behind an httpx client, or on a real port."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from core.infra.config import Settings
from sandbox.server import LoopbackServer


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


class _AppOnceKnown:
    """ASGI app forwarding to one built after the port (hence the public URL) is known."""

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "the app is not ready yet"
        await self.target(scope, receive, send)


@asynccontextmanager
async def served_api(settings: Settings) -> AsyncIterator[Settings]:
    """The real app served by uvicorn on a loopback port, for callers that need a real address
    (the sandboxes' webhooks); yields `settings` naming that URL as PUBLIC_BASE_URL."""
    forward = _AppOnceKnown()
    server = LoopbackServer(forward, name="api-under-test")
    async with AsyncExitStack() as stack:
        await server.start()
        stack.push_async_callback(server.stop)
        served = settings.model_copy(update={"public_base_url": server.base_url})
        app = create_app(served)
        await stack.enter_async_context(app.router.lifespan_context(app))
        # Stop serving before the lifespan closes the pool (stopping twice is a no-op).
        stack.push_async_callback(server.stop)
        forward.target = app
        yield served
