"""Run an ASGI app with uvicorn inside the current event loop on 127.0.0.1 and an OS-chosen port."""

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

# Idle keep-alive connections are closed after this long (clients must expire theirs sooner).
SERVER_KEEP_ALIVE_S = 75


class _InProcessServer(uvicorn.Server):
    """uvicorn without signal handling: the host process (tests, `booking dev`) owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LoopbackServer:
    """One in-process HTTP server; `base_url` is known once `start()` returns."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str,
        host: str = "127.0.0.1",
        keep_alive_s: int = SERVER_KEEP_ALIVE_S,
    ) -> None:
        self.name = name
        self.keep_alive_s = keep_alive_s
        self._app = app
        self._host = host
        self._server: _InProcessServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} sandbox is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` without a trailing slash."""
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        """Bind port 0 ourselves (so the port is known at once) and serve until `stop()`."""
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
            # Vendors keep idle connections far longer than uvicorn's 5 s. At 5 s, a client
            # whose own pool also expires idle connections at 5 s (httpx's default) races the
            # server's close and now and then sends on a socket being closed: ReadError.
            timeout_keep_alive=self.keep_alive_s,
        )
        self._server = _InProcessServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name=self.name)
        while not self._server.started:
            if self._task.done():
                self._task.result()  # surfaces the startup error
                raise RuntimeError(f"{self.name} sandbox stopped during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop accepting, close idle keep-alive connections and wait for the server task."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            await self._task
        finally:
            self._server = None
            self._task = None
