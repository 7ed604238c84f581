"""Google's failures sorted into transient (retry) and permanent (don't), with Google's reason."""

import json

import httplib2
import pytest
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from core.errors import PermanentServiceError, TransientServiceError
from core.vendors.google_errors import service_error_from_http, service_error_from_refresh


def _http_error(status: int, reason: str | None = None) -> HttpError:
    errors = [{"domain": "global", "reason": reason, "message": "m"}] if reason else []
    content = json.dumps({"error": {"code": status, "message": "m", "errors": errors}})
    return HttpError(httplib2.Response({"status": status}), content.encode())


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, None), (503, "backendError"), (408, None), (429, None), (403, "rateLimitExceeded")],
)
def test_server_errors_timeouts_and_rate_limits_are_transient(
    status: int, reason: str | None
) -> None:
    error = service_error_from_http("insert", _http_error(status, reason))
    assert isinstance(error, TransientServiceError)
    assert error.status == status
    assert error.code == (reason or str(status))


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, "invalid"), (403, "forbidden"), (404, "notFound"), (409, "duplicate"), (410, None)],
)
def test_refusals_are_permanent_with_googles_reason(status: int, reason: str | None) -> None:
    error = service_error_from_http("insert", _http_error(status, reason))
    assert isinstance(error, PermanentServiceError)
    assert error.status == status
    assert error.code == (reason or str(status))


def test_an_unreadable_error_body_falls_back_to_the_status() -> None:
    error = service_error_from_http("get", HttpError(httplib2.Response({"status": 404}), b"<"))
    assert isinstance(error, PermanentServiceError)
    assert error.code == "404"


def test_a_refused_credential_is_permanent_and_a_retryable_refresh_transient() -> None:
    refused = auth_exceptions.RefreshError("bad", {"error": "invalid_grant"}, retryable=False)
    busy = auth_exceptions.RefreshError("busy", {"error": "internal_failure"}, retryable=True)
    permanent = service_error_from_refresh("insert", refused)
    transient = service_error_from_refresh("insert", busy)
    assert isinstance(permanent, PermanentServiceError)
    assert permanent.code == "invalid_grant"
    assert isinstance(transient, TransientServiceError)
    assert transient.code == "internal_failure"
