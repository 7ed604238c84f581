"""The stack under test, started from nothing and stopped completely on exit.

Everything lives in a fresh temporary directory and on OS-chosen ports (never the dev defaults
7233/8233/8000), so the bench runs beside `booking dev`. Embedded Postgres and the Temporal dev
server as `booking dev` starts them; the sandboxes, the two `booking worker` roles, `booking
api`, the baseline app and the Temporal floor (its app and its worker) as separate processes,
each in its own session (so Ctrl-C reaches only the bench, which then stops them in order:
floor, baseline, API, workers, sandboxes, Temporal, Postgres).
"""

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from cli.dev import terminate
from core.errors import StackError
from core.infra.keys import generate_key
from core.infra.migrate import migrate
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import free_port, start_embedded_temporal

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
_READY_TIMEOUT_S = 90
# Settings a developer's environment might carry that would point the children elsewhere, and
# PYTHONDONTWRITEBYTECODE: without bytecode caches (which `pip install` writes in production)
# the workflow sandbox compiles workflows/booking.py from source for every new workflow.
_NOT_INHERITED = (
    "PUBLIC_BASE_URL",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TWILIO_",
    "GOOGLE_",
    "PYTHONDONTWRITEBYTECODE",
)


@dataclass(frozen=True)
class Stack:
    root: Path
    dsn: str
    api_url: str
    baseline_url: str
    floor_url: str
    admin_token: str
    temporal_address: str
    # Every process tree under test by name (api, worker, side_effects, temporal, postgres,
    # sandboxes, baseline, floor, floor_worker): their CPU time and memory are sampled.
    pids: dict[str, int]
    sandbox_control: dict[str, str]  # "twilio", "calendar": base URL of each control API


@contextlib.asynccontextmanager
async def running_stack(*, keep: bool = False) -> AsyncIterator[Stack]:
    """Start everything; on exit (also on error or cancellation) stop all of it and remove the
    temporary directory unless `keep`."""
    root = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(_remove, root, keep)
        postgres = EmbeddedPostgres(root / "pg")
        stack.callback(postgres.stop)  # only stops a server this object started
        dsn = await _in_thread(postgres.start)
        await migrate(dsn)
        temporal = await start_embedded_temporal(
            database_file=None, port=None, ui_port=None, log_file=root / "temporal.log"
        )
        stack.push_async_callback(temporal.stop)
        sandboxes, sandbox_env, sandbox_control = await _start_sandboxes(root, stack)
        api_port, baseline_port, floor_port = free_port(), free_port(), free_port()
        admin_token = secrets.token_urlsafe(32)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env |= {
            **sandbox_env,
            "DATABASE_URL": dsn,
            "TEMPORAL_ADDRESS": temporal.address,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
            "ADMIN_TOKEN": admin_token,
            # The API refuses to start without one; the bench's orgs store no vendor secret.
            "SECRETS_ENCRYPTION_KEY": generate_key("bench"),
            "DATA_DIR": str(root),
            # The children run in `root`, so a developer's .env is not read; the code is found
            # through the path.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
        # As production runs them: the answer path and the side effects in processes of
        # their own (see worker.main.BookingWorkers).
        booking = [sys.executable, "-m", "cli.main", "worker", "--role"]
        side_effects = await _spawn(stack, root, "side_effects", [*booking, "side-effects"], env)
        worker = await _spawn(stack, root, "worker", [*booking, "answers"], env)
        api = await _spawn(stack, root, "api", [sys.executable, "-m", "cli.main", "api"], env)
        baseline = await _spawn(
            stack,
            root,
            "baseline",
            [sys.executable, "-m", "bench.baseline", str(baseline_port)],
            env,
        )
        floor_command = [sys.executable, "-m", "bench.floor"]
        floor_worker = await _spawn(stack, root, "floor_worker", [*floor_command, "worker"], env)
        floor = await _spawn(stack, root, "floor", [*floor_command, "app", str(floor_port)], env)
        api_url = f"http://127.0.0.1:{api_port}"
        baseline_url = f"http://127.0.0.1:{baseline_port}"
        floor_url = f"http://127.0.0.1:{floor_port}"
        children = {
            "api": api,
            "worker": worker,
            "side_effects": side_effects,
            "baseline": baseline,
            "floor": floor,
            "floor_worker": floor_worker,
        }
        await _wait_ready(f"{api_url}/ready", children, root)
        await _wait_ready(f"{baseline_url}/health", children, root)
        await _wait_ready(f"{floor_url}/ready", children, root)
        yield Stack(
            root=root,
            dsn=dsn,
            api_url=api_url,
            baseline_url=baseline_url,
            floor_url=floor_url,
            admin_token=admin_token,
            temporal_address=temporal.address,
            pids={
                "api": api.pid,
                "worker": worker.pid,
                "side_effects": side_effects.pid,
                "temporal": temporal.process.pid,
                "postgres": _postmaster_pid(postgres.pgdata),
                "sandboxes": sandboxes.pid,
                "baseline": baseline.pid,
                "floor": floor.pid,
                "floor_worker": floor_worker.pid,
            },
            sandbox_control=sandbox_control,
        )


async def _in_thread(function: Callable[[], T]) -> T:
    """Run a blocking start in a thread and let it finish even if we are cancelled meanwhile,
    so the exit stack stops a server that is fully started rather than half started."""
    task = asyncio.ensure_future(asyncio.to_thread(function))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


async def _start_sandboxes(
    root: Path, stack: contextlib.AsyncExitStack
) -> tuple[asyncio.subprocess.Process, dict[str, str], dict[str, str]]:
    """The sandboxes' process, the children's environment, and the control API base URLs."""
    with (root / "sandboxes.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.sandboxes",
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            start_new_session=True,
            cwd=REPO,
        )
    stack.push_async_callback(terminate, process)
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=_READY_TIMEOUT_S)
        started = json.loads(line)
        environment: dict[str, str] = started["environment"]
        control: dict[str, str] = started["control"]
    except (TimeoutError, ValueError, KeyError, TypeError):
        raise StackError(f"the sandboxes did not start; see {root / 'sandboxes.log'}") from None
    return process, environment, control


async def _spawn(
    stack: contextlib.AsyncExitStack, root: Path, name: str, command: list[str], env: dict[str, str]
) -> asyncio.subprocess.Process:
    with (root / f"{name}.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=root, stdout=log, stderr=log, start_new_session=True
        )
    stack.push_async_callback(terminate, process)
    return process


async def _wait_ready(
    url: str, children: dict[str, asyncio.subprocess.Process], root: Path
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as http:
        while loop.time() < deadline:
            for name, child in children.items():
                if child.returncode is not None:
                    raise StackError(f"`{name}` exited during start-up:\n{_tail(root, name)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise StackError(f"{url} was not ready within {_READY_TIMEOUT_S}s; logs in {root}")


def _postmaster_pid(pgdata: Path) -> int:
    """The server's pid: the first line of postmaster.pid (the backends are its children)."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        raise StackError(f"no postmaster.pid in {pgdata}") from None


def _tail(root: Path, name: str, lines: int = 15) -> str:
    path = root / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _remove(root: Path, keep: bool) -> None:
    if keep:
        print(f"bench: kept {root} (logs, Postgres data)", file=sys.stderr)
        return
    shutil.rmtree(root, ignore_errors=True)
