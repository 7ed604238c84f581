"""A workflow that does one non-deterministic thing, for tests/integration/test_workflow_sandbox.py.

Alone in its module with only the standard library and temporalio, so the sandbox can load it
under any restrictions (a stricter runner re-imports it per run) and refuses or allows exactly
the call asked for.
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
    @workflow.run
    async def run(self, call: str) -> str:
        return str(CALLS[call]())
