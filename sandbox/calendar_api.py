"""A Google-Calendar-v3-compatible loopback server, as `google-api-python-client` calls it.

Vendor routes (all but `/token` need `Authorization: Bearer <token from /token>`):

    POST   /token                                              service-account JWT grant
    POST   /calendar/v3/calendars/{calendarId}/events          events.insert (client id allowed)
    GET    /calendar/v3/calendars/{calendarId}/events          events.list (minimal)
    GET    /calendar/v3/calendars/{calendarId}/events/{id}     events.get (cancelled ones too)
    PATCH  /calendar/v3/calendars/{calendarId}/events/{id}     events.patch
    DELETE /calendar/v3/calendars/{calendarId}/events/{id}     events.delete (soft: cancelled)
    POST   /calendar/v3/freeBusy                               freebusy.query

Control routes, besides the shared ones of `sandbox.faults`:

    POST /_sandbox/calendar/busy               {"calendar_id", "start", "end"}: extra busy block
    GET  /_sandbox/calendar/events             every event incl. cancelled (?calendar_id=)
    GET  /_sandbox/calendar/created            every insert that created an event, as created,
                                               in order (?calendar_id=); a 409 adds nothing
    POST /_sandbox/calendar/revoke-tokens      forget issued tokens: next call gets a 401
    POST /_sandbox/calendar/service-accounts   {"client_email", "public_key_pem"}: trust a key
"""

import secrets
from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from sandbox.calendar_state import (
    EVENT_ID,
    CalendarApiError,
    CalendarState,
    check_times,
    event_time,
    now_rfc3339,
    parse_rfc3339,
    rfc3339,
)
from sandbox.faults import Fault, SandboxMiddleware, SandboxState, control_router
from sandbox.google_oauth import TOKEN_PATH, Grant, OAuthState, oauth_error, token_router

API_PREFIX = "/calendar/v3"

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
# Fields only the server sets; patch and insert bodies cannot override them.
_SERVER_FIELDS = ("kind", "etag", "created", "updated", "htmlLink", "iCalUID", "creator")


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
    status = fault.spec.status or 500
    message = fault.spec.message or HTTPStatus(status).phrase
    if path == TOKEN_PATH:
        default = "temporarily_unavailable" if status >= 500 else "invalid_grant"
        return oauth_error(status, str(fault.spec.code or default), message)
    reason = str(fault.spec.code or _DEFAULT_REASONS.get(status, "backendError"))
    return google_error(status, reason, message)


class BusyBlock(BaseModel):
    calendar_id: str
    start: datetime
    end: datetime


class TrustedKey(BaseModel):
    client_email: str
    public_key_pem: str


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise CalendarApiError(400, "parseError", "Parse Error") from None
    if not isinstance(body, dict):
        raise CalendarApiError(400, "parseError", "Parse Error")
    return body


def _events_router(state: CalendarState, oauth: OAuthState) -> APIRouter:
    def require_grant(request: Request) -> Grant:
        grant = oauth.grant_for(request.headers.get("authorization"))
        if grant is None:
            raise CalendarApiError(401, "authError", "Invalid Credentials")
        return grant

    Authorized = Annotated[Grant, Depends(require_grant)]
    router = APIRouter(prefix=API_PREFIX)

    @router.post("/calendars/{calendar_id}/events")
    async def insert(calendar_id: str, request: Request, grant: Authorized) -> dict[str, Any]:
        """events.insert; a taken id (even of a cancelled event) answers 409 duplicate."""
        body = await _json_body(request)
        event_id = body.get("id") or secrets.token_hex(13)
        if not EVENT_ID.match(event_id):
            raise CalendarApiError(400, "invalid", "Invalid resource id value.")
        if (calendar_id, event_id) in state.events:
            raise CalendarApiError(409, "duplicate", "The requested identifier already exists.")
        check_times(body)
        now = now_rfc3339()
        event = {k: v for k, v in body.items() if k not in _SERVER_FIELDS}
        event.update(
            kind="calendar#event",
            etag=f'"{secrets.randbits(52)}"',
            id=event_id,
            status=body.get("status", "confirmed"),
            htmlLink=f"{request.base_url}calendar/event?eid={event_id}",
            created=now,
            updated=now,
            creator={"email": grant.subject or grant.client_email},
            organizer={"email": calendar_id, "self": True},
            iCalUID=f"{event_id}@google.com",
            sequence=0,
            eventType=body.get("eventType", "default"),
        )
        event.setdefault("reminders", {"useDefault": True})
        state.store_new(calendar_id, event)
        return event

    @router.get("/calendars/{calendar_id}/events")
    async def list_events(
        calendar_id: str,
        _grant: Authorized,
        timeMin: str | None = None,  # noqa: N803 - Google's parameter names
        timeMax: str | None = None,  # noqa: N803
        showDeleted: bool = False,  # noqa: N803
    ) -> dict[str, Any]:
        """events.list without paging: events overlapping [timeMin, timeMax)."""
        low = parse_rfc3339(timeMin, "timeMin") if timeMin else None
        high = parse_rfc3339(timeMax, "timeMax") if timeMax else None
        items = [
            e
            for (cal, _), e in state.events.items()
            if cal == calendar_id
            and (showDeleted or e["status"] != "cancelled")
            and (low is None or event_time(e, "end") > low)
            and (high is None or event_time(e, "start") < high)
        ]
        items.sort(key=lambda e: event_time(e, "start"))
        return {"kind": "calendar#events", "summary": calendar_id, "items": items}

    @router.get("/calendars/{calendar_id}/events/{event_id}")
    async def get(calendar_id: str, event_id: str, _grant: Authorized) -> dict[str, Any]:
        """events.get; like Google, a deleted event is returned with status cancelled."""
        return state.get(calendar_id, event_id)

    @router.patch("/calendars/{calendar_id}/events/{event_id}")
    async def patch(
        calendar_id: str, event_id: str, request: Request, _grant: Authorized
    ) -> dict[str, Any]:
        """events.patch: top-level fields replace; a time change bumps `sequence`."""
        event = state.get(calendar_id, event_id)
        changes = {k: v for k, v in (await _json_body(request)).items() if k not in _SERVER_FIELDS}
        changes.pop("id", None)
        updated = {**event, **changes}
        check_times(updated)
        if updated.get("start") != event.get("start") or updated.get("end") != event.get("end"):
            updated["sequence"] = event.get("sequence", 0) + 1
        updated.update(updated=now_rfc3339(), etag=f'"{secrets.randbits(52)}"')
        state.events[(calendar_id, event_id)] = updated
        return updated

    @router.delete("/calendars/{calendar_id}/events/{event_id}", status_code=204)
    async def delete(calendar_id: str, event_id: str, _grant: Authorized) -> Response:
        """events.delete: marks the event cancelled; 410 when it already was."""
        event = state.get(calendar_id, event_id)
        if event["status"] == "cancelled":
            raise CalendarApiError(410, "deleted", "Resource has been deleted")
        event.update(status="cancelled", updated=now_rfc3339(), etag=f'"{secrets.randbits(52)}"')
        return Response(status_code=204)

    @router.post("/freeBusy")
    async def free_busy(request: Request, _grant: Authorized) -> dict[str, Any]:
        """freebusy.query over the non-cancelled events and the extra busy blocks."""
        body = await _json_body(request)
        if not body.get("timeMin") or not body.get("timeMax"):
            raise CalendarApiError(400, "required", "Missing timeMin or timeMax.")
        low = parse_rfc3339(body["timeMin"], "timeMin")
        high = parse_rfc3339(body["timeMax"], "timeMax")
        if high < low:
            raise CalendarApiError(400, "timeRangeEmpty", "The specified time range is empty.")
        tz = body.get("timeZone")
        calendars = {
            item["id"]: {
                "busy": [
                    {"start": rfc3339(start, tz), "end": rfc3339(end, tz)}
                    for start, end in state.busy(item["id"], low, high)
                ]
            }
            for item in body.get("items", [])
        }
        return {
            "kind": "calendar#freeBusy",
            "timeMin": rfc3339(low),
            "timeMax": rfc3339(high),
            "calendars": calendars,
        }

    return router


def _control_router(state: CalendarState, oauth: OAuthState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/calendar", tags=["sandbox"])

    @router.post("/busy", status_code=204)
    async def add_busy(block: BusyBlock) -> None:
        """Mark a calendar busy between start and end (both with offsets)."""
        start, end = (parse_rfc3339(v.isoformat(), "time") for v in (block.start, block.end))
        if end <= start:
            raise CalendarApiError(400, "timeRangeEmpty", "end must be after start")
        state.add_busy(block.calendar_id, start, end)

    @router.get("/events")
    async def all_events(calendar_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored event, cancelled ones included."""
        return [e for (cal, _), e in state.events.items() if calendar_id in (None, cal)]

    @router.get("/created")
    async def created_events(calendar_id: str | None = None) -> list[dict[str, Any]]:
        """Every insert that created an event (as it was then), oldest first."""
        return [e for e in state.created if calendar_id in (None, e["calendar_id"])]

    @router.post("/revoke-tokens", status_code=204)
    async def revoke_tokens() -> None:
        """Invalidate every access token, as an expiry or a revoked grant would."""
        oauth.revoke_all()

    @router.post("/service-accounts", status_code=204)
    async def trust_key(key: TrustedKey) -> None:
        """Accept JWTs signed by this service account's key."""
        oauth.public_keys[key.client_email] = key.public_key_pem

    return router


def create_calendar_app(state: CalendarState, oauth: OAuthState, sandbox: SandboxState) -> ASGIApp:
    """The Google Calendar sandbox as an ASGI app, wrapped in fault injection and recording."""
    app = FastAPI(title="Google Calendar sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(CalendarApiError)
    async def _google_error(_: Request, exc: CalendarApiError) -> Response:
        return google_error(exc.status, exc.reason, exc.message)

    app.include_router(token_router(oauth))
    app.include_router(_events_router(state, oauth))
    app.include_router(_control_router(state, oauth))
    app.include_router(control_router(sandbox))
    # Tokens survive a reset: the SDK caches them, and a reset should not look like an expiry.
    sandbox.on_reset.append(state.reset)
    return SandboxMiddleware(app, state=sandbox, responder=fault_response)
