"""Transport limits applied before any route runs: body size and JSON content type."""

import json

from fastapi import HTTPException, Request, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.voice.calls import transport_error_body

MAX_BODY_BYTES = 256 * 1024
# Voice platforms ignore any status but 200, so their refusals are 200 with a spoken error.
VOICE_PREFIX = "/voice/"


class BodySizeLimit:
    """Refuse bodies over `limit` bytes with 413, whether declared or streamed (chunked).

    The body is read here, up to the limit, and replayed to the app, so no route ever sees a
    partial or oversized body.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = f"the request body is over the {self._limit // 1024} KiB limit"
        if str(scope.get("path", "")).startswith(VOICE_PREFIX):
            payload, code = transport_error_body(message), status.HTTP_200_OK
        else:
            payload = {"error": {"code": "payload_too_large", "message": message}}
            code = status.HTTP_413_CONTENT_TOO_LARGE
        encoded = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(encoded)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": encoded})


def is_json(content_type: str | None) -> bool:
    """`application/json` or any `+json` type, with or without parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def require_json(request: Request) -> None:
    """Dependency for JSON routes: a body in anything but a JSON content type is 415 (an empty
    body is fine where the route's body is optional)."""
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if (
        request.method in ("POST", "PUT", "PATCH")
        and has_body
        and not is_json(request.headers.get("content-type"))
    ):
        raise HTTPException(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail="send the body as application/json",
        )
