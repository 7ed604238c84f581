"""The Temporal server stopped (SIGTERM) in the middle of a 200-booking load and started again on
the same port with the same store: the API's client and the worker process reconnect by
themselves, and every booking still ends right."""

import asyncio
import socket
from pathlib import Path

import asyncpg
import pytest

from core.errors import StackError
from core.temporal.client import connect_temporal
from devstack.temporal import ensure_port_free
from sandbox.runner import Sandboxes
from tests.apiclient import api_client
from tests.conftest import Stack
from tests.factories import TestOrg
from tests.reliability.helpers import background_load, fast_settings, finish, load_plan
from tests.reliability.processes import start_worker, worker_processes
from tests.reliability.servers import RestartableTemporal

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

OUTAGE_S = 3


async def test_temporal_restart_mid_load_is_survived_without_restarting_anything_else(
    stack: Stack,
    pool: asyncpg.Pool,
    own_sandboxes: Sandboxes,
    own_temporal: RestartableTemporal,
    tmp_path: Path,
    org: TestOrg,
) -> None:
    settings = fast_settings(stack, own_sandboxes, temporal_address=own_temporal.address)
    client = await connect_temporal(settings)
    await own_sandboxes.calendar.add_fault(latency_ms=100)
    with worker_processes() as workers:
        worker = await start_worker(workers, settings, tmp_path)
        async with api_client(settings) as http:
            async with background_load(http, org, load_plan("temporal", seed=2)) as load:
                await load.progress.wait_for(80)
                await own_temporal.stop()
                await asyncio.sleep(OUTAGE_S)
                await own_temporal.start()
                outcomes = await load.outcomes()
            assert worker.alive, f"the worker died with the server:\n{worker.tail()}"
            await finish(
                http=http,
                pool=pool,
                client=client,
                sandboxes=own_sandboxes,
                org=org,
                outcomes=outcomes,
            )
        assert worker.alive, f"the worker did not outlive the restart:\n{worker.tail()}"


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free_to_start_on() -> None:
    """Found by the restart above: connections a stopped server closed itself linger in
    TIME_WAIT on its port for a minute, and the port probe called the port taken."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    with pytest.raises(StackError, match="already in use"):
        ensure_port_free(port, "Temporal gRPC", "EMBEDDED_TEMPORAL_PORT")
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT
    listener.close()
    client.close()
    ensure_port_free(port, "Temporal gRPC", "EMBEDDED_TEMPORAL_PORT")
