"""Faults and recorded requests of one loopback sandbox: what a test asked for, and what came.

Each sandbox server owns one `SandboxState`: the faults tests have set (`FaultSpec`), which of
them fires on a request (`SandboxState.decide`), and the vendor requests it recorded. The HTTP
side (the ASGI wrapper that applies faults and records, and the `/_sandbox/` routes that set
them) is `sandbox.fault_http`.

A fault acts before the vendor routes by default: the request never reaches the vendor, so
nothing is created. With `after_processing` it acts on the answer instead: the vendor handles
the request (an event or message is created), then the answer is delayed and/or replaced by the
error, which is how a client loses the answer to a request that did take effect.
"""

import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, model_validator

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
