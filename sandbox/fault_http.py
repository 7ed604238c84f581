"""The HTTP side of the sandboxes' faults and request log (state in `sandbox.faults`).

`SandboxMiddleware` wraps a vendor app: it records every vendor request (method, path, query,
headers, parsed body, answered status) and applies the faults `SandboxState.decide` picks,
before the vendor routes run or on their answer. `control_router` exposes both over HTTP:

    POST   /_sandbox/faults          add a fault (JSON `FaultSpec`) → the stored fault with its id
    GET    /_sandbox/faults          list faults (with how often each fired)
    DELETE /_sandbox/faults          remove every fault
    DELETE /_sandbox/faults/{id}     remove one fault
    GET    /_sandbox/requests        recorded requests (?path_contains=&method=)
    DELETE /_sandbox/requests        forget recorded requests
    POST   /_sandbox/reset           faults, requests and vendor state back to empty

Control requests themselves are neither recorded nor subject to faults.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.faults import Fault, FaultSpec, RecordedRequest, SandboxState

CONTROL_PREFIX = "/_sandbox"

# Turns a fired fault into the vendor's error response (each vendor has its own format).
FaultResponder = Callable[[Fault, str], Response]


def parse_body(raw: bytes, content_type: str) -> Any:
    """Form bodies as a dict, JSON as parsed JSON, anything else as text (None when empty)."""
    if not raw:
        return None
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    if "json" in content_type:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode("utf-8", "replace")


class SandboxMiddleware:
    """ASGI wrapper: records each vendor request, applies latency and faults, then routes it."""

    def __init__(self, app: ASGIApp, *, state: SandboxState, responder: FaultResponder) -> None:
        self.app = app
        self.state = state
        self.responder = responder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        raw = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        record = RecordedRequest(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=parse_body(raw, headers.get("content-type", "")),
            received_at=time.time(),
        )
        self.state.requests.append(record)
        latency, fault = self.state.decide(record.method, path)
        if latency:
            await asyncio.sleep(latency)
        if fault is not None:
            await self._fail(fault, record, scope, receive, send)
            return
        # Decided on arrival, like the faults above; applied once the vendor has answered.
        latency, fault = self.state.decide(record.method, path, after_processing=True)

        async def send_recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if not latency and fault is None:
            await self.app(scope, _replay(raw, receive), send_recording)
            return
        # The vendor handles the request in full; its answer is held back, then sent late or
        # replaced by the error. A client that gives up meanwhile ends the hold early.
        answer: list[Message] = []

        async def hold(message: Message) -> None:
            answer.append(message)

        await self.app(scope, _replay(raw, receive), hold)
        if latency:
            await _hold(latency, receive)
        if fault is not None:
            await self._fail(fault, record, scope, receive, send)
            return
        for message in answer:
            await send_recording(message)

    async def _fail(
        self, fault: Fault, record: RecordedRequest, scope: Scope, receive: Receive, send: Send
    ) -> None:
        record.fault_id = fault.id
        record.status = fault.spec.status
        await self.responder(fault, record.path)(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _hold(seconds: float, receive: Receive) -> None:
    """Wait `seconds`, or less once the client has gone: there is nobody left to answer, and a
    held answer must not keep the server from stopping."""

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await gone()


def _replay(raw: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive callable that hands the already-read body to the app once, then defers."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


def control_router(state: SandboxState) -> APIRouter:
    """The `/_sandbox/` control endpoints shared by every sandbox server."""
    router = APIRouter(prefix=CONTROL_PREFIX, tags=["sandbox"])

    @router.post("/faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> dict[str, Any]:
        """Add a fault; it applies to the next matching vendor requests."""
        return state.add_fault(spec).public()

    @router.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        """Faults still active, with how often each fired."""
        return [f.public() for f in state.faults]

    @router.delete("/faults", status_code=204)
    async def clear_faults() -> None:
        """Remove every fault."""
        state.faults.clear()

    @router.delete("/faults/{fault_id}", status_code=204)
    async def remove_fault(fault_id: str) -> None:
        """Remove one fault."""
        before = len(state.faults)
        state.faults = [f for f in state.faults if f.id != fault_id]
        if len(state.faults) == before:
            raise HTTPException(404, "no such fault")

    @router.get("/requests")
    async def list_requests(
        path_contains: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded vendor requests, oldest first, optionally filtered."""
        return [
            asdict(r)
            for r in state.requests
            if (path_contains is None or path_contains in r.path)
            and (method is None or r.method.upper() == method.upper())
        ]

    @router.delete("/requests", status_code=204)
    async def clear_requests() -> None:
        """Forget recorded requests."""
        state.requests.clear()

    @router.post("/reset", status_code=204)
    async def reset() -> None:
        """Faults, recorded requests and vendor state back to empty."""
        state.reset()

    return router
