"""A Temporal dev server that can be stopped and started again on the same port and store.

It runs the same binary with the same arguments as `devstack.temporal` (`booking dev`), plus
SQLite pragmas: with SQLite's default fsync on every commit, phase 1 of 20 concurrent bookings
takes ~9 s on a busy 2-core machine instead of ~2 s, which would make this scenario about disk
speed. The pragmas change nothing a SIGTERM restart relies on (the store is a file; WAL and
`synchronous=off` only give up durability across an OS crash, not a process exit).
"""

import asyncio
import contextlib
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from core.temporal.names import SEARCH_ATTRIBUTES
from devstack.temporal import EmbeddedTemporal, free_port, temporal_binary

_PRAGMAS = ("journal_mode=wal", "synchronous=off")
_START_TIMEOUT_S = 60


class RestartableTemporal:
    """`start()` and `stop()` as often as needed; the SQLite store keeps workflows across."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = root / "temporal.log"
        self._server: EmbeddedTemporal | None = None

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        args = ["server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port)]
        args += ["--headless", "--log-level", "error", "--db-filename", str(self.root / "db")]
        for pragma in _PRAGMAS:
            args += ["--sqlite-pragma", pragma]
        for key in SEARCH_ATTRIBUTES:
            kind = "".join(p.capitalize() for p in key.indexed_value_type.name.split("_"))
            args += ["--search-attribute", f"{key.name}={kind}"]
        with self.log.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                temporal_binary(), *args, start_new_session=True, stdout=output, stderr=output
            )
        self._server = EmbeddedTemporal(process=process, address=self.address, ui_url=None)
        try:
            await self._wait_until_serving()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """SIGTERM, as a deployment stops it; the store is flushed on the way out."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def _wait_until_serving(self) -> None:
        assert self._server is not None
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            if self._server.process.returncode is not None:
                raise AssertionError(f"the Temporal dev server exited: {self.log.read_text()}")
            with contextlib.suppress(Exception):
                client = await Client.connect(self.address)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace="default")
                )
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the Temporal dev server did not answer: {self.log.read_text()}")
