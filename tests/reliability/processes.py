"""`booking worker` as a real child process, so SIGKILL and restarts are real; always reaped."""

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.infra.config import Settings
from tests.processes import process_env


class WorkerProcess:
    """One `booking worker` process writing to `log`."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "worker"],
                env=process_env(settings),
                cwd=log.parent,  # away from the repository's .env
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def wait_polling(self, timeout: float = 60) -> None:
        """Until the worker says it polls, or fail with its log."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if "worker polling task queue" in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"the worker never polled (exit {self.process.poll()}):\n{self.tail()}"
        )

    def kill(self) -> None:
        """SIGKILL: no grace, no clean-up, in-flight activities are simply lost."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def worker_processes() -> Iterator[list[WorkerProcess]]:
    """A list to start workers into (`start_worker`); every one is stopped on the way out."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


async def start_worker(
    started: list[WorkerProcess], settings: Settings, logs: Path
) -> WorkerProcess:
    """Start one more worker (each with its own log) and wait until it polls."""
    worker = WorkerProcess(settings, logs / f"worker-{len(started)}.log")
    started.append(worker)
    await worker.wait_polling()
    return worker
