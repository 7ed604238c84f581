"""Logging setup: one handler on the root logger writing JSON lines (or readable text in dev).

Every record that reaches the handler, whoever logged it (our code, uvicorn, temporalio, the
Twilio SDK, httpx), has its message, arguments, extra values and exception text masked
(`core.infra.masking`) and carries the context known where it was logged:

- `org`, `org_id`, `booking_id`, `workflow_id` bound with `bind_log_context` / `log_context`
  (contextvars, so per request task in the API);
- in the worker, `workflow_id`, `run_id`, `workflow_type`, `activity_type` and `attempt` of the
  running activity or workflow: from the `temporal_activity` / `temporal_workflow` extras of
  temporalio's loggers, or from the activity context for any other logger called inside an
  activity (core.vendors.sms, core.vendors.google_calendar, the SDKs);
- `booking_id` derived from a `booking-<uuid>` workflow id.
"""

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any

from temporalio import activity, workflow

from core.domain.ids import booking_id_of_workflow
from core.errors import ConfigurationError
from core.infra.config import Settings
from core.infra.masking import mask_text

# Context keys in the order they are written, after ts, level, logger and message.
CONTEXT_KEYS = (
    "org",
    "org_id",
    "booking_id",
    "workflow_id",
    "run_id",
    "workflow_type",
    "activity_type",
    "attempt",
    "update_name",
)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# Libraries that log every request at INFO (httpx: each call; Twilio: each request's URL and
# headers; Google: a notice per client built). Heard again at DEBUG.
LIBRARY_LEVELS = {
    "httpx": logging.WARNING,
    "twilio.http_client": logging.WARNING,
    "twilio.async_http_client": logging.WARNING,
    "googleapiclient.discovery_cache": logging.ERROR,
}

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("log_context")
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_MARK = "_booking_log_handler"
# uvicorn repeats each message with terminal colours in this extra.
_SKIPPED_EXTRAS = frozenset({"color_message"})


def bind_log_context(**values: object) -> None:
    """Add `values` (None ones skipped) to every later record of this task (or request)."""
    _context.set(_merged(values))


@contextlib.contextmanager
def log_context(**values: object) -> Iterator[None]:
    """`values` on every record logged inside the block; the previous context after it."""
    token = _context.set(_merged(values))
    try:
        yield
    finally:
        _context.reset(token)


def clear_log_context() -> None:
    _context.set(_EMPTY)


def _merged(values: Mapping[str, object]) -> Mapping[str, str]:
    bound = {key: str(value) for key, value in values.items() if value is not None}
    return {**_context.get(_EMPTY), **bound}


class ContextFilter(logging.Filter):
    """Puts the bound and Temporal context on the record as attributes; an `extra=` value
    given by the caller wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        found: dict[str, object] = dict(_context.get(_EMPTY))
        found.update(_temporal_details(record))
        workflow_id = found.get("workflow_id")
        booking_id = booking_id_of_workflow(workflow_id) if isinstance(workflow_id, str) else None
        if booking_id is not None:
            found.setdefault("booking_id", booking_id)
        for key, value in found.items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


def _temporal_details(record: logging.LogRecord) -> dict[str, object]:
    details = getattr(record, "temporal_activity", None) or getattr(
        record, "temporal_workflow", None
    )
    if not isinstance(details, Mapping):
        details = _running_activity()
    in_activity = "activity_type" in details
    found = {
        "workflow_id": details.get("workflow_id"),
        "run_id": details.get("run_id") or details.get("workflow_run_id"),
        "workflow_type": details.get("workflow_type"),
        "activity_type": details.get("activity_type"),
        # A workflow's attempt is nearly always 1; an activity's says how often it retried.
        "attempt": details.get("attempt") if in_activity else None,
        "update_name": details.get("update_name"),
    }
    return {key: value for key, value in found.items() if value is not None}


def _running_activity() -> Mapping[str, object]:
    """The running activity's details, for records of loggers other than activity.logger."""
    if not activity.in_activity():
        return _EMPTY
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "workflow_run_id": info.workflow_run_id,
        "workflow_type": info.workflow_type,
        "activity_type": info.activity_type,
        "attempt": info.attempt,
    }


class _MaskingFormatter(logging.Formatter):
    def parts(self, record: logging.LogRecord) -> tuple[str, dict[str, object], str | None]:
        """Masked message, context and extra values (simple ones), and exception text."""
        message = mask_text(record.getMessage())
        extras = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_FIELDS and key not in _SKIPPED_EXTRAS and not key.startswith("_")
        }
        fields: dict[str, object] = {}
        for key in (*CONTEXT_KEYS, *sorted(extras.keys() - set(CONTEXT_KEYS))):
            value = extras.get(key)
            if isinstance(value, str):
                fields[key] = mask_text(value)
            elif isinstance(value, int | float):
                # A number can be a phone number too.
                masked = mask_text(str(value))
                fields[key] = value if masked == str(value) else masked
        trace = []
        if record.exc_info:
            trace.append(self.formatException(record.exc_info))
        elif record.exc_text:
            trace.append(record.exc_text)
        if record.stack_info:
            trace.append(self.formatStack(record.stack_info))
        return message, fields, mask_text("\n".join(trace)) if trace else None

    @staticmethod
    def timestamp(record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, tz=UTC)
        return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(_MaskingFormatter):
    """One JSON object per line: ts, level, logger, message, context keys, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        message, fields, trace = self.parts(record)
        line: dict[str, object] = {
            "ts": self.timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for key, value in fields.items():
            line.setdefault(key, value)
        if trace:
            line["exc"] = trace
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(_MaskingFormatter):
    """`ts LEVEL logger: message  key=value ...`, then the traceback on its own lines."""

    def format(self, record: logging.LogRecord) -> str:
        message, fields, trace = self.parts(record)
        line = f"{self.timestamp(record)} {record.levelname:<7} {record.name}: {message}"
        if fields:
            line += "  " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        return f"{line}\n{trace}" if trace else line


def _text_value(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or " " in text else text


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install the one handler (LOG_FORMAT, LOG_LEVEL) on the root logger, replacing one a
    previous call installed, and route uvicorn's loggers to it. Returns the handler."""
    level = _level(settings.log_level)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    setattr(handler, _MARK, True)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    for name, library_level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(library_level if level > logging.DEBUG else logging.NOTSET)
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # LOG_LEVEL decides (uvicorn.run sets it too)
    # The formatters write the Temporal context as keys; appended to messages it is noise.
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
    return handler


def _level(name: str) -> int:
    levels = logging.getLevelNamesMapping()
    level = levels.get(name.strip().upper())
    if level is None:
        known = ", ".join(n for n in levels if n not in ("NOTSET", "WARN", "FATAL"))
        raise ConfigurationError(f"LOG_LEVEL {name!r} is not a level: use one of {known}")
    return level


_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FreshLogContext:
    """ASGI middleware: each HTTP request starts with an empty log context.

    uvicorn runs each request in its own task (so bindings never outlive it), but an in-process
    client (httpx.ASGITransport) runs the app in the caller's task. The context is not reset
    when the request ends: Starlette's handler of unexpected errors runs outside every
    middleware, and its log line should still name the org and booking.
    """

    def __init__(self, app: Callable[[_Scope, _Receive, _Send], Awaitable[None]]) -> None:
        self._app = app

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "http":
            clear_log_context()
        await self._app(scope, receive, send)
