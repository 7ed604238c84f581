"""`booking dev`: the whole pipeline on one machine with nothing installed but Python.

Starts what is not configured (embedded Postgres, the Temporal dev server with its UI, the
Twilio / Google sandboxes), migrates, seeds the demo org, then runs the two `booking worker`
roles and `booking api` as child processes (as production runs them, and so they use both
cores) with the settings pointing at what it started. Ctrl-C or SIGTERM stops everything in
reverse order.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from cli.dev_secrets_key import with_dev_secrets_key
from core.errors import StackError
from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.migrate import migrate
from core.infra.secret_box import require_secret_box
from core.ops.demo import DemoCredentials, ensure_demo_org
from core.ops.sealed_secrets import seal_stored_secrets
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import ensure_port_free, free_port, start_embedded_temporal
from devstack.ui_front import running_ui_front
from sandbox.runner import running_sandboxes

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 60


async def run_dev(settings: Settings) -> int:
    settings = with_dev_secrets_key(settings)
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_port_free(settings.api_port, "the API", "API_PORT")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        env = await stack.enter_async_context(_infrastructure(settings, data_dir))
        env["ADMIN_TOKEN"] = _admin_token(settings, data_dir)
        assert settings.secrets_encryption_key is not None  # with_dev_secrets_key set it
        env["SECRETS_ENCRYPTION_KEY"] = settings.secrets_encryption_key.get_secret_value()
        credentials = await _seed(env["DATABASE_URL"], settings, data_dir)
        children = await stack.enter_async_context(_children(env))
        await _wait_ready(settings, children)
        print(_banner(settings, env, credentials), flush=True)
        exited = asyncio.create_task(_first_exit(children))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            print("a child process exited; stopping the stack", file=sys.stderr)
        stopping.cancel()
        exited.cancel()
    print("stopped.", flush=True)
    return 0


@contextlib.asynccontextmanager
async def _infrastructure(settings: Settings, data_dir: Path) -> AsyncIterator[dict[str, str]]:
    """Start what settings leave unset; yield the environment the children need."""
    env = dict(os.environ)
    env["LOG_FORMAT"] = settings.log_format  # children log as we do: text unless set (cli.main)
    async with contextlib.AsyncExitStack() as stack:
        if settings.embedded_temporal:
            # Check ports before touching Postgres, so a second `booking dev` fails fast.
            ensure_port_free(
                settings.embedded_temporal_port, "Temporal gRPC", "EMBEDDED_TEMPORAL_PORT"
            )
            ensure_port_free(
                settings.embedded_temporal_ui_port, "Temporal UI", "EMBEDDED_TEMPORAL_UI_PORT"
            )
        if settings.embedded_database:
            postgres = EmbeddedPostgres(data_dir / "pg")
            env["DATABASE_URL"] = await asyncio.to_thread(postgres.start)
            stack.callback(postgres.stop, also_adopted=True)
        else:
            assert settings.database_url is not None
            env["DATABASE_URL"] = settings.database_url
        if settings.embedded_temporal:
            codec = codec_endpoint(settings)
            temporal = await start_embedded_temporal(
                database_file=data_dir / "temporal.db",
                port=settings.embedded_temporal_port,
                # With the codec, the UI itself listens elsewhere, behind its front (below).
                ui_port=settings.embedded_temporal_ui_port if codec is None else free_port(),
                namespace=settings.temporal_namespace,
                log_file=data_dir / "temporal.log",
                ui_codec_endpoint=codec,
            )
            stack.push_async_callback(temporal.stop)
            env["TEMPORAL_ADDRESS"] = temporal.address
            ui_url = temporal.ui_url or settings.temporal_ui_url
            if codec is not None and temporal.ui_url is not None:
                ui_url = await stack.enter_async_context(
                    running_ui_front(
                        upstream=temporal.ui_url,
                        host="127.0.0.1",
                        port=settings.embedded_temporal_ui_port,
                    )
                )
            # The codec server answers CORS for this origin only.
            env["TEMPORAL_UI_URL"] = ui_url
        else:
            assert settings.temporal_address is not None
            env["TEMPORAL_ADDRESS"] = settings.temporal_address
        await _sandboxes_for_unset_vendors(settings, env, stack)
        yield env


def codec_endpoint(settings: Settings) -> str | None:
    """Where the Temporal UI reaches the API's codec server from the browser: only when
    payloads are encrypted and the codec server is on (CODEC_TOKEN)."""
    if settings.payload_encryption_key is None or settings.codec_token is None:
        return None
    return f"{_browser_api_url(settings)}/codec"


def _browser_api_url(settings: Settings) -> str:
    """The API as a browser on this machine reaches it (an all-interfaces bind is not an
    address to browse to)."""
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::", "") else settings.api_host
    return f"http://{host}:{settings.api_port}"


async def _sandboxes_for_unset_vendors(
    settings: Settings, env: dict[str, str], stack: contextlib.AsyncExitStack
) -> None:
    """Point each vendor without credentials at its loopback sandbox, so SMS and calendar
    events are real HTTP calls through the real SDKs that you can inspect."""
    use_twilio = settings.twilio_account_sid is None
    use_google = (
        settings.google_service_account_json is None
        and settings.google_service_account_file is None
    )
    if not (use_twilio or use_google):
        return
    sandboxes = await stack.enter_async_context(running_sandboxes())
    for key, value in sandboxes.environment().items():
        if (key.startswith("TWILIO_") and use_twilio) or (key.startswith("GOOGLE_") and use_google):
            env[key] = value
    if use_twilio:
        env["SANDBOX_TWILIO_URL"] = sandboxes.twilio_base_url
    if use_google:
        env["SANDBOX_CALENDAR_URL"] = sandboxes.calendar_base_url.removesuffix("/calendar/v3/")


async def _seed(dsn: str, settings: Settings, data_dir: Path) -> DemoCredentials:
    applied = await migrate(dsn)
    if applied:
        log.info("applied %d migration(s)", len(applied))
    box = require_secret_box(settings, "to seal the demo org's Retell key")
    await seal_stored_secrets(dsn, box)
    pool = await create_pool(settings, dsn)
    try:
        return await ensure_demo_org(pool, data_dir, box)
    finally:
        await pool.close()


def _admin_token(settings: Settings, data_dir: Path) -> str:
    """The configured admin token, or one generated once and kept in DATA_DIR for dev use."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = data_dir / "admin-token"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


@contextlib.asynccontextmanager
async def _children(env: dict[str, str]) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """The two `booking worker` roles and `booking api` (as production runs them), each in its
    own session so the terminal's Ctrl-C reaches only us and they get exactly one SIGTERM, in
    order: API first, then the answer-path worker, then the side-effect worker."""
    booking = [sys.executable, "-m", "cli.main"]
    processes: list[asyncio.subprocess.Process] = []
    try:
        for command in (
            ("worker", "--role", "side-effects"),
            ("worker", "--role", "answers"),
            ("api",),
        ):
            processes.append(
                await asyncio.create_subprocess_exec(
                    *booking, *command, env=env, start_new_session=True
                )
            )
        yield processes
    finally:
        for process in reversed(processes):
            await terminate(process)


async def terminate(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 40 s (its own grace is 30 s)."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=40)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _first_exit(children: list[asyncio.subprocess.Process]) -> None:
    await asyncio.wait(
        [asyncio.create_task(c.wait()) for c in children], return_when=asyncio.FIRST_COMPLETED
    )


async def _wait_ready(settings: Settings, children: list[asyncio.subprocess.Process]) -> None:
    url = f"http://{settings.api_host}:{settings.api_port}/ready"
    deadline = asyncio.get_running_loop().time() + _READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as http:
        while asyncio.get_running_loop().time() < deadline:
            if any(child.returncode is not None for child in children):
                raise StackError("the API or worker exited during start-up; see the log above")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise StackError(f"the API did not become ready within {_READY_TIMEOUT_S}s ({url})")


def _banner(settings: Settings, env: dict[str, str], credentials: DemoCredentials) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    ui = env.get("TEMPORAL_UI_URL", settings.temporal_ui_url)
    codec = codec_endpoint(settings)
    return "\n".join(
        [
            "",
            "booking dev is up. Ctrl-C stops everything; data stays in " + str(settings.data_dir),
            f"  API            {api}",
            f"  API docs       {api}/docs",
            f"  Temporal UI    {ui}",
            *(
                [f"  Codec sign-in  {codec}/ (any user name, CODEC_TOKEN as the password)"]
                if codec is not None
                else []
            ),
            f"  Postgres       {env['DATABASE_URL']}",
            *[
                f"  {label:<14} {env[key]}/_sandbox/requests"
                for label, key in (
                    ("Twilio sandbox", "SANDBOX_TWILIO_URL"),
                    ("Google sandbox", "SANDBOX_CALENDAR_URL"),
                )
                if key in env
            ],
            f"  Admin token    {env['ADMIN_TOKEN']}",
            f"  Demo org       {credentials.slug}",
            f"    API key      {credentials.api_key}",
            f"    Voice secret {credentials.voice_secret}",
            f"    Retell key   {credentials.retell_api_key}",
            "",
        ]
    )
