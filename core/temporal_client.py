"""The one way every process (API, worker, CLI, tests) connects to Temporal."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from core.config import Settings
from core.errors import ConfigurationError


async def connect_temporal(
    settings: Settings, address: str | None = None, *, runtime: Runtime | None = None
) -> Client:
    """Connect with the project's data converter (pydantic payloads) and credentials.

    `runtime` carries the worker's telemetry (its Prometheus exporter); other processes use
    the SDK's default runtime.
    """
    target = address or settings.temporal_address
    if target is None:
        raise ConfigurationError("TEMPORAL_ADDRESS is not set and no embedded Temporal was started")
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        api_key=api_key,
        tls=settings.temporal_tls or api_key is not None,
        runtime=runtime,
    )
