"""Errors as Google Calendar answers them: its JSON API error body, for the sandbox's own
refusals and for injected faults (OAuth's format on the token endpoint)."""

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.faults import Fault
from sandbox.google_oauth import TOKEN_PATH, oauth_error

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_DEFAULT_REASONS = {
    400: "badRequest",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "conflict",
    410: "deleted",
    429: "rateLimitExceeded",
}
_USAGE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


def google_error(status: int, reason: str, message: str) -> JSONResponse:
    """An error body in Google's JSON API format, as `HttpError` parses it."""
    domain = "usageLimits" if reason in _USAGE_LIMIT_REASONS else "global"
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"domain": domain, "reason": reason, "message": message}],
    }
    if status in _STATUS_NAMES:
        error["status"] = _STATUS_NAMES[status]
    return JSONResponse({"error": error}, status_code=status)


def fault_response(fault: Fault, path: str) -> Response:
    """A fired fault, answered as Google would (as its OAuth server would on the token path)."""
    status = fault.spec.status or 500
    message = fault.spec.message or HTTPStatus(status).phrase
    if path == TOKEN_PATH:
        default = "temporarily_unavailable" if status >= 500 else "invalid_grant"
        return oauth_error(status, str(fault.spec.code or default), message)
    reason = str(fault.spec.code or _DEFAULT_REASONS.get(status, "backendError"))
    return google_error(status, reason, message)
