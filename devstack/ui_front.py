"""The dev server's Temporal UI behind a small front that makes it send codec credentials.

The Temporal UI calls the codec server from the operator's browser. Ours (the API's `/codec`)
is on another origin and wants the Basic credentials the browser keeps after the sign-in at
`/codec/`; the browser sends them only when the UI asks for it, which the UI's own server
configures with `codec.includeCredentials` (`TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true` in
docker-compose.yml). `temporal server start-dev` sets the codec endpoint (`--ui-codec-endpoint`)
but has no option for that one, so `booking dev` serves the UI through this front: every request
passes through unchanged except the UI's settings, where `IncludeCredentials` is turned on.
The browser then sees exactly the settings a production UI configured for our codec sends.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from core.errors import StackError

SETTINGS_PATH = "/api/v1/settings"
_START_TIMEOUT_S = 10
# Per connection, not end to end: they are the two servers' business, not the browser's.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def front_app(upstream: str) -> Starlette:
    """An ASGI app passing every request to the UI at `upstream` (`http://host:port`)."""
    client = httpx.AsyncClient(base_url=upstream, timeout=httpx.Timeout(60, connect=5))

    async def forward(request: Request) -> Response:
        headers = [(key, value) for key, value in request.headers.items() if key not in _HOP_BY_HOP]
        outgoing = client.build_request(
            request.method,
            request.url.path,
            params=request.url.query,
            headers=headers,
            content=await request.body(),
        )
        upstream_response = await client.send(outgoing, stream=True)
        if request.url.path == SETTINGS_PATH and upstream_response.status_code == 200:
            return await _with_codec_credentials(upstream_response)
        return StreamingResponse(
            upstream_response.aiter_raw(),
            status_code=upstream_response.status_code,
            headers=_passed_headers(upstream_response, keep_length=True),
            background=BackgroundTask(upstream_response.aclose),
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with client:
            yield

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)


async def _with_codec_credentials(upstream_response: httpx.Response) -> Response:
    try:
        settings = json.loads(await upstream_response.aread())
    finally:
        await upstream_response.aclose()
    codec = settings.get("Codec") or {}
    if codec.get("Endpoint"):
        codec["IncludeCredentials"] = True
    settings["Codec"] = codec
    return Response(
        json.dumps(settings),
        status_code=upstream_response.status_code,
        headers=_passed_headers(upstream_response, keep_length=False),
        media_type="application/json",
    )


def _passed_headers(upstream_response: httpx.Response, *, keep_length: bool) -> dict[str, str]:
    dropped = _HOP_BY_HOP if keep_length else _HOP_BY_HOP | {"content-length", "content-encoding"}
    return {key: value for key, value in upstream_response.headers.items() if key not in dropped}


class _QuietServer(uvicorn.Server):
    """uvicorn inside `booking dev`: signals stay with `booking dev`, which stops us in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def running_ui_front(*, upstream: str, host: str, port: int) -> AsyncIterator[str]:
    """Serve the front on `host:port` while the context lasts; yields its URL."""
    config = uvicorn.Config(
        front_app(upstream), host=host, port=port, log_level="warning", lifespan="on"
    )
    server = _QuietServer(config)
    serving = asyncio.create_task(server.serve())
    try:
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_S
        while not server.started:
            if serving.done():
                serving.result()  # the error, if it failed
                raise StackError(f"the Temporal UI front on port {port} stopped at start-up")
            if asyncio.get_running_loop().time() > deadline:
                raise StackError(f"the Temporal UI front on port {port} did not start")
            await asyncio.sleep(0.05)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await serving
