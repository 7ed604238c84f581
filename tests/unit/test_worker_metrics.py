"""WORKER_METRICS_ADDRESS: checked before the SDK sees it, with a message naming the setting."""

import socket

import pytest

from core.errors import ConfigurationError
from core.infra.config import Settings
from worker.telemetry import metrics_bind_address, worker_runtime


@pytest.mark.parametrize("address", ["0.0.0.0:9464", "127.0.0.1:1", "[::]:9464", "[::1]:65535"])
def test_ip_and_port_are_accepted(address: str) -> None:
    assert metrics_bind_address(address) == address


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("9464", "needs a host and a port"),
        (":9464", "needs a host and a port"),
        ("localhost:9464", "'localhost' is not an IP address"),
        ("metrics.internal:9464", "is not an IP address"),
        ("::1:9464", "IPv6 host goes in brackets"),
        ("0.0.0.0:", "'' is not a port"),
        ("0.0.0.0:http", "'http' is not a port"),
        ("0.0.0.0:0", "'0' is not a port between 1 and 65535"),
        ("0.0.0.0:70000", "'70000' is not a port"),
        ("300.1.1.1:9464", "is not an IP address"),
    ],
)
def test_a_bad_address_names_the_setting_and_the_problem(address: str, reason: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        metrics_bind_address(address)
    assert raised.value.message.startswith(f"WORKER_METRICS_ADDRESS={address!r} is not ip:port")
    assert reason in raised.value.message
    assert "0.0.0.0:9464" in raised.value.message  # an example of what works


def test_no_address_means_no_exporter() -> None:
    assert worker_runtime(Settings(_env_file=None)) is None  # type: ignore[call-arg]


def test_a_taken_port_is_a_configuration_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = Settings(_env_file=None, worker_metrics_address=address)  # type: ignore[call-arg]
        with pytest.raises(ConfigurationError, match="cannot serve metrics there"):
            worker_runtime(settings)
