"""Fault injection and request recording shared by the loopback sandboxes.

Each sandbox server owns one `SandboxState`. `SandboxMiddleware` records every vendor request
(method, path, query, headers, parsed body, answered status) and consults the configured faults
before the vendor routes run; `control_router` exposes both over HTTP under `/_sandbox/`:

    POST   /_sandbox/faults          add a fault (JSON `FaultSpec`) → the stored fault with its id
    GET    /_sandbox/faults          list faults (with how often each fired)
    DELETE /_sandbox/faults          remove every fault
    DELETE /_sandbox/faults/{id}     remove one fault
    GET    /_sandbox/requests        recorded requests (?path_contains=&method=)
    DELETE /_sandbox/requests        forget recorded requests
    POST   /_sandbox/reset           faults, requests and vendor state back to empty

Control requests themselves are neither recorded nor subject to faults.

A fault acts before the vendor routes by default: the request never reaches the vendor, so
nothing is created. With `after_processing` it acts on the answer instead: the vendor handles
the request (an event or message is created), then the answer is delayed and/or replaced by the
error, which is how a client loses the answer to a request that did take effect.
"""

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, model_validator
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL_PREFIX = "/_sandbox"
# The log is a ring: a long `booking dev` session must not grow without bound.
MAX_RECORDED_REQUESTS = 10_000


class FaultSpec(BaseModel):
    """What a test asks for: fail (or delay) requests matching `method` / `path_contains`.

    `count` limits how many matching requests the fault fires on (unlimited when unset);
    `share` is the probability (0..1) that a matching request is hit; `latency_ms` delays a hit
    request. Without `status` the fault only delays. `code` is the vendor error code (a Twilio
    number such as 20429, a Google reason such as "rateLimitExceeded"). `seed` makes `share`
    reproducible. `after_processing` lets the vendor handle the request first and applies the
    latency and status to its answer (the request took effect, the answer is late or lost).
    """

    status: int | None = Field(default=None, ge=400, le=599)
    code: str | int | None = None
    message: str | None = None
    count: int | None = Field(default=None, ge=1)
    share: float = Field(default=1.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0)
    path_contains: str | None = None
    method: str | None = None
    seed: int | None = None
    after_processing: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> "FaultSpec":
        if self.status is None and self.latency_ms == 0:
            raise ValueError("a fault needs a status, a latency_ms, or both")
        return self


@dataclass
class Fault:
    """A stored fault; `remaining` counts down when it fires, `fired` counts up."""

    id: str
    spec: FaultSpec
    remaining: int | None
    rng: random.Random
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method and self.spec.method.upper() != method.upper():
            return False
        return not (self.spec.path_contains and self.spec.path_contains not in path)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.model_dump(),
            "remaining": self.remaining,
            "fired": self.fired,
        }


@dataclass
class RecordedRequest:
    """One vendor request as the sandbox saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    received_at: float
    status: int | None = None
    fault_id: str | None = None


@dataclass
class SandboxState:
    """Faults and recorded requests of one sandbox server; `on_reset` clears vendor state."""

    faults: list[Fault] = field(default_factory=list)
    requests: deque[RecordedRequest] = field(
        default_factory=lambda: deque(maxlen=MAX_RECORDED_REQUESTS)
    )
    on_reset: list[Callable[[], None]] = field(default_factory=list)

    def add_fault(self, spec: FaultSpec) -> Fault:
        fault = Fault(
            id=uuid.uuid4().hex[:12],
            spec=spec,
            remaining=spec.count,
            rng=random.Random(spec.seed),
        )
        self.faults.append(fault)
        return fault

    def decide(
        self, method: str, path: str, *, after_processing: bool = False
    ) -> tuple[float, Fault | None]:
        """Latency in seconds and the failing fault (if any) for one request, from the faults
        acting before the vendor handles it or (`after_processing`) on its answer.

        Faults are consulted in the order they were added; latency-only faults add up, the first
        failing fault that hits wins and later failing faults are not consumed.
        """
        latency_ms = 0
        failure: Fault | None = None
        for fault in self.faults:
            if fault.spec.after_processing != after_processing:
                continue
            if not fault.matches(method, path):
                continue
            if fault.spec.status is not None and failure is not None:
                continue
            if fault.spec.share < 1.0 and fault.rng.random() >= fault.spec.share:
                continue
            latency_ms += fault.spec.latency_ms
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
            if fault.spec.status is not None:
                failure = fault
        self.faults = [f for f in self.faults if f.remaining is None or f.remaining > 0]
        return latency_ms / 1000.0, failure

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()
        for hook in self.on_reset:
            hook()


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
