"""The worker's Prometheus exporter: the Temporal SDK's own metrics, served by the SDK core.

With WORKER_METRICS_ADDRESS=0.0.0.0:9464 the worker process serves http://0.0.0.0:9464/metrics:
temporal_workflow_task_execution_latency, temporal_activity_execution_latency,
temporal_activity_execution_failed, temporal_worker_task_slots_available, ... (the SDK's
defaults: latencies in milliseconds, counters without a `_total` suffix).
"""

import ipaddress
import logging

from temporalio.runtime import PrometheusConfig, Runtime

from core.errors import ConfigurationError
from core.infra.config import Settings
from core.temporal.client import temporal_runtime

log = logging.getLogger(__name__)

_EXAMPLE = "e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::]:9464"


def metrics_bind_address(address: str) -> str:
    """`address` checked as `ip:port` (IPv6 in brackets), the only form the SDK binds to.

    Raises ConfigurationError naming WORKER_METRICS_ADDRESS and what was wrong with it.
    """
    host, separator, port_text = address.strip().rpartition(":")
    if not separator or not host:
        raise _invalid(address, "it needs a host and a port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise _invalid(address, "an IPv6 host goes in brackets")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        reason = f"{host!r} is not an IP address (host names are not resolved)"
        raise _invalid(address, reason) from None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise _invalid(address, f"{port_text!r} is not a port between 1 and 65535")
    return address.strip()


def worker_runtime(settings: Settings) -> Runtime | None:
    """With WORKER_METRICS_ADDRESS set, a Temporal runtime serving the SDK's metrics at
    `http://<address>/metrics`; None (connect_temporal's runtime, no exporter) otherwise.

    The exporter starts here, so a bad or taken address fails at startup with a
    ConfigurationError. One per process, passed to `connect_temporal(..., runtime=...)`: the
    client and every worker built on it report into it.
    """
    if not settings.worker_metrics_address:
        return None
    bind_address = metrics_bind_address(settings.worker_metrics_address)
    try:
        runtime = temporal_runtime(metrics=PrometheusConfig(bind_address))
    except ValueError as error:  # e.g. "Address already in use"
        raise ConfigurationError(
            f"WORKER_METRICS_ADDRESS {bind_address}: cannot serve metrics there ({error})"
        ) from None
    log.info("worker metrics for Prometheus at http://%s/metrics", bind_address)
    return runtime


def _invalid(address: str, reason: str) -> ConfigurationError:
    return ConfigurationError(
        f"WORKER_METRICS_ADDRESS={address!r} is not ip:port: {reason} ({_EXAMPLE})"
    )
