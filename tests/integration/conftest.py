"""Marks everything under tests/integration as needing the real stack; sandboxes of a module's
own for the tests of the sandboxes themselves."""

from collections.abc import AsyncIterator

import pytest

from sandbox.runner import Sandboxes, running_sandboxes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
async def sb() -> AsyncIterator[Sandboxes]:
    """Sandboxes of the module's own, for the tests of the sandboxes, which look at all of
    their state (the session's `sandboxes` are shared by every test); Twilio's status
    callbacks come after 10 ms."""
    async with running_sandboxes(callback_delay=0.01) as sandboxes:
        yield sandboxes
