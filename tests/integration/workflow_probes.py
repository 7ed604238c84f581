"""Small workflows that misbehave on purpose, for tests of the worker's sandbox and logs.

Alone in their module with only the standard library and temporalio, so the sandbox can load
them under any restrictions (a stricter runner re-imports them per run).
"""

import datetime
import random
import socket
import time
import uuid
from collections.abc import Callable

from temporalio import workflow

# Each does something a replay could not repeat.
CALLS: dict[str, Callable[[], object]] = {
    "open": lambda: open("/etc/hostname").read(),  # refused before it opens
    "datetime.now": lambda: datetime.datetime.now(),
    "random.random": lambda: random.random(),
    "time.time": lambda: time.time(),
    "uuid.uuid4": lambda: uuid.uuid4(),
    "socket.gethostname": lambda: socket.gethostname(),
}


@workflow.defn
class NonDeterministic:
    """Makes the one non-deterministic call asked for (test_workflow_sandbox.py)."""

    @workflow.run
    async def run(self, call: str) -> str:
        return str(CALLS[call]())


@workflow.defn
class FailsItsTask:
    """Raises a plain exception, which fails the workflow task (not the workflow) with `text` as
    its message; the Temporal core logs that failure itself, then retries the task."""

    @workflow.run
    async def run(self, text: str) -> None:
        raise RuntimeError(text)
