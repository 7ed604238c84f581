"""Fixtures of the reliability scenarios: each gets sandboxes of its own, so faults it injects
and the messages and events it counts are its alone."""

from collections.abc import AsyncIterator

import pytest

from sandbox.runner import Sandboxes, running_sandboxes


@pytest.fixture
async def own_sandboxes() -> AsyncIterator[Sandboxes]:
    async with running_sandboxes() as running:
        yield running
