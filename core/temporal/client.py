"""The one way every process (API, worker, CLI, tests) connects to Temporal."""

import dataclasses
import functools
import logging

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from core.errors import ConfigurationError
from core.infra.config import Settings
from core.temporal.codec import payload_codec

# The Temporal core (the SDK's Rust part) logs by itself, by default straight to stderr: not as
# JSON and past core.infra.logs' masking, although a line such as "Failing workflow task" quotes the
# failure's message. Forwarded to this logger, its lines go through the one handler like every
# other; the levels stay the SDK's defaults (WARN for the core, ERROR for its libraries).
CORE_LOGGER = "temporalio.core"


def temporal_runtime(metrics: PrometheusConfig | None = None) -> Runtime:
    """A Temporal runtime whose core logs into Python logging (and exports `metrics`)."""
    logging_config = LoggingConfig(
        filter=LoggingConfig.default.filter,
        forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=metrics))


@functools.cache
def _process_runtime() -> Runtime:
    """One runtime per process for clients given none, instead of the SDK's default."""
    return temporal_runtime()


async def connect_temporal(
    settings: Settings, address: str | None = None, *, runtime: Runtime | None = None
) -> Client:
    """Connect with the project's data converter (pydantic payloads) and credentials.

    `runtime` carries the worker's telemetry (its Prometheus exporter); without one, the
    process's runtime, which forwards the core's log lines to Python logging.
    """
    target = address or settings.temporal_address
    if target is None:
        raise ConfigurationError("TEMPORAL_ADDRESS is not set and no embedded Temporal was started")
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        api_key=api_key,
        tls=_tls(settings, api_key),
        runtime=runtime or _process_runtime(),
    )


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, AES-GCM encrypted when PAYLOAD_ENCRYPTION_KEY is set.

    With encryption on, failure messages and stack traces are encoded too: an error text can
    quote a caller's name or number just as an input can.
    """
    codec = payload_codec(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def _tls(settings: Settings, api_key: str | None) -> bool | TLSConfig:
    cert, key = settings.temporal_tls_client_cert_path, settings.temporal_tls_client_key_path
    if (cert is None) != (key is None):
        raise ConfigurationError(
            "set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or neither"
        )
    if cert is not None and key is not None:
        try:
            return TLSConfig(client_cert=cert.read_bytes(), client_private_key=key.read_bytes())
        except OSError as error:
            raise ConfigurationError(
                f"cannot read the Temporal client certificate: {error}"
            ) from None
    return settings.temporal_tls or api_key is not None
