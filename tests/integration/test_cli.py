"""The `booking` command as a user runs it: subprocesses, real signals, real ports."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.temporal import free_port
from tests.conftest import Stack

BOOKING = [sys.executable, "-m", "cli.main"]
REPO = Path(__file__).resolve().parents[2]


def _env(**values: str) -> dict[str, str]:
    """The parent's environment minus any project settings, plus `values`."""
    project = {
        "DATABASE_URL",
        "TEMPORAL_ADDRESS",
        "ADMIN_TOKEN",
        "API_PORT",
        "DATA_DIR",
        "SECRETS_ENCRYPTION_KEY",
        "SECRETS_ENCRYPTION_OLD_KEYS",
    }
    env = {k: v for k, v in os.environ.items() if k not in project}
    env["PYTHONPATH"] = str(REPO)
    env.update(values)
    return env


def test_api_without_infrastructure_says_what_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        [*BOOKING, "api"], env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "DATABASE_URL and TEMPORAL_ADDRESS not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_against_configured_database(stack: Stack, tmp_path: Path) -> None:
    result = subprocess.run(
        [*BOOKING, "migrate"],
        env=_env(DATABASE_URL=stack.database_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to apply" in result.stdout


class DevProcess:
    def __init__(self, data_dir: Path) -> None:
        self.api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
        self.ui_port = ui_port
        self.env = _env(
            DATA_DIR=str(data_dir),
            API_PORT=str(self.api_port),
            EMBEDDED_TEMPORAL_PORT=str(temporal_port),
            EMBEDDED_TEMPORAL_UI_PORT=str(ui_port),
        )
        self.cwd = data_dir.parent

    def start(self) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [*BOOKING, "dev"],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        seen: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if line.strip().startswith("Voice secret"):
                return process, "".join(seen)
        process.kill()
        raise AssertionError("booking dev did not come up:\n" + "".join(seen))


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevProcess]:
    yield DevProcess(tmp_path / "data")


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    return output


def test_dev_runs_the_stack_and_keeps_data_across_restarts(dev: DevProcess) -> None:
    process, banner = dev.start()
    try:
        ready = httpx.get(f"http://127.0.0.1:{dev.api_port}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"http://127.0.0.1:{dev.ui_port}/", timeout=10).status_code == 200
        assert f"http://127.0.0.1:{dev.api_port}/docs" in banner
    finally:
        output = _stop(process)
    assert "stopped." in output and "Traceback" not in output
    first_key = re.search(r"API key\s+(\S+)", banner)
    assert first_key is not None

    process, banner = dev.start()
    try:
        second_key = re.search(r"API key\s+(\S+)", banner)
        assert second_key is not None and second_key.group(1) == first_key.group(1)
        dsn = re.search(r"Postgres\s+(\S+)", banner)
        assert dsn is not None
        count = subprocess.run(
            [
                sys.executable,
                "-c",
                "import asyncio, asyncpg, sys\n"
                "async def main():\n"
                "    c = await asyncpg.connect(sys.argv[1])\n"
                '    print(await c.fetchval("SELECT count(*) FROM organizations"))\n'
                '    print(await c.fetchval("SELECT retell_api_key FROM organizations"))\n'
                "asyncio.run(main())",
                dsn.group(1),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        orgs, stored_retell_key = count.stdout.split()
        assert orgs == "1", count.stderr
        # The demo Retell key is sealed with the key `booking dev` generated once in DATA_DIR.
        demo = json.loads((dev.cwd / "data" / "demo-org.json").read_text())
        assert demo["retell_api_key"] not in stored_retell_key
        assert stored_retell_key.startswith("v1:dev:")
        assert (dev.cwd / "data" / "secrets-key").stat().st_mode & 0o777 == 0o600
    finally:
        _stop(process)


def test_dev_reports_a_port_in_use_clearly(dev: DevProcess) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", dev.api_port))
        squatter.listen()
        result = subprocess.run(
            [*BOOKING, "dev"], env=dev.env, cwd=dev.cwd, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"port {dev.api_port} (the API) is already in use" in result.stderr
    assert "Traceback" not in result.stderr
