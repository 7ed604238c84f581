"""Realistic vendor latency, added in the sandboxes through their own fault API.

Google and Twilio answer in hundreds of milliseconds, not the sandboxes' one or two: with these
delays in place, the answer should not move (no vendor on the answer path) and the end-to-end
time (request → confirmed) shows what phase 2 costs in practice.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sandbox.control import SandboxControl


@dataclass(frozen=True)
class VendorLatency:
    sandbox: str  # "calendar" or "twilio": a key of Stack.sandbox_control
    method: str
    path_contains: str
    latency_ms: int
    what: str


# Matched on method and path: GET …/events is events.list (and events.get), POST …/events is
# events.insert (and events.watch), POST …/Messages.json is a Twilio message create.
REALISTIC = (
    VendorLatency("calendar", "GET", "/events", 150, "Google events.list"),
    VendorLatency("calendar", "POST", "/events", 300, "Google events.insert"),
    VendorLatency("twilio", "POST", "/Messages.json", 250, "Twilio message create"),
)


@dataclass
class Fired:
    """How many vendor requests each delay hit, filled when the block ends."""

    counts: dict[str, int]


@contextlib.asynccontextmanager
async def vendor_latency(
    control: dict[str, str], latencies: tuple[VendorLatency, ...] = REALISTIC
) -> AsyncIterator[Fired]:
    """The delays in place for the block; removed on the way out, whatever happens."""
    controls = {name: SandboxControl(url) for name, url in control.items()}
    added: list[tuple[VendorLatency, str]] = []
    fired = Fired(counts={})
    try:
        for latency in latencies:
            fault_id = await controls[latency.sandbox].add_fault(
                latency_ms=latency.latency_ms,
                path_contains=latency.path_contains,
                method=latency.method,
            )
            added.append((latency, fault_id))
        yield fired
        for name, sandbox in controls.items():
            by_id = {f["id"]: f["fired"] for f in await sandbox.faults()}
            for latency, fault_id in added:
                if latency.sandbox == name:
                    fired.counts[latency.what] = by_id.get(fault_id, 0)
    finally:
        for latency, fault_id in added:
            with contextlib.suppress(Exception):  # the sandbox may be gone on Ctrl-C
                await controls[latency.sandbox].remove_fault(fault_id)
        for sandbox in controls.values():
            await sandbox.aclose()


def describe(latencies: tuple[VendorLatency, ...] = REALISTIC) -> list[dict[str, object]]:
    return [
        {"what": v.what, "method": v.method, "path_contains": v.path_contains, "ms": v.latency_ms}
        for v in latencies
    ]
