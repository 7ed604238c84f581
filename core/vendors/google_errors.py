"""Google's failures as `core.errors` service errors: transient ones an activity retries,
permanent ones it must not (Google's error reason, or the HTTP status, as the code)."""

import json
import logging

from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from core.errors import ExternalServiceError, PermanentServiceError, TransientServiceError

log = logging.getLogger(__name__)

_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# Not found, and deleted: for a delete or a channel stop, "already gone".
GONE = (404, 410)


def _reason(exc: HttpError) -> str | None:
    try:
        errors = json.loads(exc.content.decode("utf-8"))["error"].get("errors") or []
        return str(errors[0]["reason"]) if errors else None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def service_error_from_http(operation: str, exc: HttpError) -> ExternalServiceError:
    """Server errors, timeouts and rate limits are transient (the activity retries); the rest
    (bad request, not found, duplicate, forbidden) are permanent, with Google's reason as code."""
    status = int(exc.status_code)
    reason = _reason(exc)
    transient = (
        status >= 500 or status in (408, 429) or (status == 403 and reason in _RATE_LIMIT_REASONS)
    )
    level = logging.INFO if status in GONE or status == 409 else logging.WARNING
    log.log(level, "calendar %s: HTTP %s (%s)", operation, status, reason)
    error_type = TransientServiceError if transient else PermanentServiceError
    return error_type(
        f"Google Calendar {operation} failed: HTTP {status} {reason or exc.reason}",
        status=status,
        code=reason or str(status),
    )


def service_error_from_refresh(
    operation: str, exc: auth_exceptions.RefreshError
) -> ExternalServiceError:
    """Token refresh failed: retryable ones (5xx, 429) are transient, bad credentials are not."""
    data = exc.args[1] if len(exc.args) > 1 else None
    code = data.get("error") if isinstance(data, dict) else None
    log.warning("calendar %s: token refresh failed (%s)", operation, code)
    error_type = TransientServiceError if exc.retryable else PermanentServiceError
    return error_type(
        f"Google credentials refresh failed during {operation}: {code or exc}",
        code=str(code) if code else "refresh_failed",
    )
