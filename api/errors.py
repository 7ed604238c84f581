"""One JSON error shape for every failure, and no stack trace ever reaches a caller.

    {"error": {"code": "invalid_input", "message": "...", "field": "start"}}

Voice webhooks never get here for bad tool input: they answer HTTP 200 with a spoken `error`
result instead (the platforms ignore any other status). These handlers cover the REST API,
the admin API and transport-level problems (bad JSON, wrong content type, oversized body).
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.limits import VOICE_PREFIX
from api.voice.calls import transport_error_body
from core.domain import messages
from core.errors import (
    BackendUnavailable,
    BookingError,
    ConfigurationError,
    InvalidInput,
    NotFound,
    SlotUnavailable,
)
from core.infra.db import DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    503: "unavailable",
}


def error_response(
    status_code: int, message: str, *, code: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code or _CODES.get(status_code, "error"), "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse({"error": body}, status_code=status_code)


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    """A one-line explanation of pydantic errors and the first field at fault.

    Built from `loc` and `msg` only: echoing `input` back could leak what the caller sent.
    """
    parts: list[str] = []
    first_field: str | None = None
    for error in errors[:5]:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(location) or None
        first_field = first_field or field
        message = str(error.get("msg", "is invalid"))
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts) or "the request is invalid", first_field


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "the body is not valid JSON", code="malformed_json")
    message, field = describe_validation_errors(errors)
    return error_response(422, message, field=field)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _booking_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BookingError)
    if isinstance(exc, SlotUnavailable):
        return error_response(
            409,
            exc.message,
            code="slot_unavailable",
            alternatives=[a.isoformat() for a in exc.alternatives],
        )
    if isinstance(exc, InvalidInput):
        return error_response(422, exc.message, field=exc.field)
    if isinstance(exc, NotFound):
        return error_response(404, exc.message)
    if isinstance(exc, BackendUnavailable):
        busy = error_response(503, exc.message)
        busy.headers["Retry-After"] = "5"
        return busy
    if isinstance(exc, ConfigurationError):
        log.error("configuration error while serving %s: %s", request.url.path, exc.message)
        return error_response(503, "the service is misconfigured; see the server log")
    log.error("unhandled %s on %s: %s", type(exc).__name__, request.url.path, exc.message)
    return error_response(503, "the service could not complete the request; try again")


async def _dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    if request.url.path.startswith(VOICE_PREFIX):
        # Voice platforms read only a 200's body: the agent says "try again".
        return JSONResponse(transport_error_body(messages.DATABASE_UNREACHABLE))
    busy = error_response(503, messages.DATABASE_UNREACHABLE)
    busy.headers["Retry-After"] = "5"
    return busy


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: log the trace for us, tell the caller only that it failed.
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error; it has been logged", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(BookingError, _booking_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _dependency_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
