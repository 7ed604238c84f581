"""Heartbeats for activities that wait on a vendor, so a dead worker is noticed in seconds.

Without them the server learns that a worker died only when the attempt's start-to-close
timeout passes; with a heartbeat timeout it starts the next attempt (on a live worker) once
the heartbeats stop. The vendor SDKs block in threads, so the event loop is free to beat.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat three times per heartbeat timeout while the block runs (none when the
    activity has no heartbeat timeout)."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        yield
        return
    interval = timeout.total_seconds() / 3

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
