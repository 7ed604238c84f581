"""POSTs a sandbox sends to the system under test: Twilio's status callbacks, Google's push
notifications.

They go out from background tasks of the server's loop, so the request that caused them is
answered first, as the vendors do. A receiver's failure is reported to the caller, never raised
into the sandbox. Reset cancels what is still on its way; `aclose` also closes the HTTP client.
"""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class PostOutcome:
    """How one POST went: the receiver's status code, or the error that kept it from answering."""

    status_code: int | None = None
    error: str | None = None


class Outbound:
    """Background tasks and the one HTTP client they POST with (made on first use)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str | None = None) -> None:
        """Run `work` in the background; it is cancelled by `cancel` or `aclose`."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, url: str, **request: Any) -> PostOutcome:
        """POST `url` (httpx keyword arguments); never raises for the receiver's failure."""
        try:
            if self._http is None:
                # Receivers (our API under uvicorn) close idle connections after 5 s; expiring
                # ours sooner means none is reused just as the receiver closes it.
                limits = httpx.Limits(keepalive_expiry=2.0)
                self._http = httpx.AsyncClient(timeout=10.0, limits=limits)
            response = await self._http.post(url, **request)
        except Exception as exc:  # noqa: BLE001 - a receiver's failure must never crash us
            return PostOutcome(error=f"{type(exc).__name__}: {exc}")
        return PostOutcome(status_code=response.status_code)

    def cancel(self) -> None:
        """Cancel everything still on its way (a reset)."""
        for task in self._tasks:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel everything still on its way, wait for it, and close the HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
