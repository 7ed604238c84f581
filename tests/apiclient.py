"""Runs the real app (with its lifespan) in-process behind an httpx client."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import uvicorn

from api.app import create_app
from core.config import Settings
from core.stack.temporal import free_port


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def api_on_port(settings: Settings) -> AsyncIterator[str]:
    """The real app under uvicorn on a free loopback port (for callers that need a real address,
    such as the sandboxes' webhooks); yields its base URL, which `settings` must already name
    as PUBLIC_BASE_URL (use `with_public_port`)."""
    assert settings.public_base_url is not None
    port = int(settings.public_base_url.rsplit(":", 1)[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the API stopped during startup")
        await asyncio.sleep(0.01)
    try:
        yield settings.public_base_url
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def with_public_port(settings: Settings) -> Settings:
    """`settings` whose PUBLIC_BASE_URL is a free loopback port, for `api_on_port`."""
    return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{free_port()}"})


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handlers: the test process owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
