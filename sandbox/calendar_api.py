"""A Google-Calendar-v3-compatible loopback server, as `google-api-python-client` calls it.

Vendor routes (all but `/token` need `Authorization: Bearer <token from /token>`):

    POST   /token                                              service-account JWT grant
    POST   /calendar/v3/calendars/{calendarId}/events          events.insert (client id allowed)
    GET    /calendar/v3/calendars/{calendarId}/events          events.list (paging, sync tokens)
    POST   /calendar/v3/calendars/{calendarId}/events/watch    events.watch (push channel)
    GET    /calendar/v3/calendars/{calendarId}/events/{id}     events.get (cancelled ones too)
    PATCH  /calendar/v3/calendars/{calendarId}/events/{id}     events.patch
    DELETE /calendar/v3/calendars/{calendarId}/events/{id}     events.delete (soft: cancelled)
    POST   /calendar/v3/channels/stop                          channels.stop

Control routes are in `sandbox.calendar_control_routes`, besides the shared ones of
`sandbox.fault_http`.
"""

import base64
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.responses import Response
from starlette.types import ASGIApp

from sandbox.calendar_control_routes import calendar_control_router
from sandbox.calendar_errors import fault_response, google_error
from sandbox.calendar_push import DEFAULT_TTL
from sandbox.calendar_state import (
    EVENT_ID,
    CalendarApiError,
    CalendarState,
    check_times,
    event_time,
    now_rfc3339,
    parse_rfc3339,
)
from sandbox.fault_http import SandboxMiddleware, control_router
from sandbox.faults import SandboxState
from sandbox.google_oauth import Grant, OAuthState, token_router

API_PREFIX = "/calendar/v3"

# Fields only the server sets; patch and insert bodies cannot override them.
_SERVER_FIELDS = ("kind", "etag", "created", "updated", "htmlLink", "iCalUID", "creator")


def _encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode(token: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise CalendarApiError(400, "invalid", f"Invalid {what}.") from None
    if not isinstance(value, dict):
        raise CalendarApiError(400, "invalid", f"Invalid {what}.")
    return value


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
        syncToken: str | None = None,  # noqa: N803
        pageToken: str | None = None,  # noqa: N803
        maxResults: int = Query(default=250, ge=1, le=2500),  # noqa: N803
        singleEvents: bool = False,  # noqa: N803 - no recurring events here: always single
    ) -> dict[str, Any]:
        """events.list: a full listing (optionally within [timeMin, timeMax)) or, with a sync
        token, what changed since it (deleted events included). Pages of `maxResults`; the last
        page carries `nextSyncToken`. An expired sync token is 410 fullSyncRequired."""
        if pageToken is not None:
            listing = _still_valid(pageToken, "pageToken", calendar_id)
        else:
            if syncToken is not None and (timeMin or timeMax):
                raise CalendarApiError(
                    400, "invalid", "syncToken cannot be combined with timeMin or timeMax."
                )
            since = (
                int(_still_valid(syncToken, "syncToken", calendar_id)["seq"])
                if syncToken is not None
                else None
            )
            listing = {
                "cal": calendar_id,
                "gen": state.token_generation,
                "since": since,
                "upto": state.sequence,
                "offset": 0,
                "min": timeMin,
                "max": timeMax,
                "deleted": showDeleted or since is not None,
            }
        items = _listing(listing)
        offset = int(listing["offset"])
        page = items[offset : offset + maxResults]
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": calendar_id,
            "timeZone": "UTC",
            "items": page,
        }
        if offset + maxResults < len(items):
            answer["nextPageToken"] = _encode({**listing, "offset": offset + maxResults})
        else:
            answer["nextSyncToken"] = _encode(
                {"cal": calendar_id, "gen": state.token_generation, "seq": listing["upto"]}
            )
        return answer

    def _still_valid(token: str, what: str, calendar_id: str) -> dict[str, Any]:
        """A page or sync token issued for this calendar since tokens were last invalidated;
        otherwise 410 fullSyncRequired, as Google answers an expired one."""
        value = _decode(token, what)
        if value.get("cal") != calendar_id or value.get("gen") != state.token_generation:
            raise CalendarApiError(410, "fullSyncRequired", "Sync token is no longer valid.")
        return value

    def _listing(listing: dict[str, Any]) -> list[dict[str, Any]]:
        calendar_id, since = listing["cal"], listing["since"]
        if since is not None:
            return state.changed_since(calendar_id, since, listing["upto"])
        low = parse_rfc3339(listing["min"], "timeMin") if listing["min"] else None
        high = parse_rfc3339(listing["max"], "timeMax") if listing["max"] else None
        items = [
            e
            for e in state.changed_since(calendar_id, 0, listing["upto"])
            if (listing["deleted"] or e["status"] != "cancelled")
            and (low is None or event_time(e, "end") > low)
            and (high is None or event_time(e, "start") < high)
        ]
        items.sort(key=lambda e: event_time(e, "start"))
        return items

    @router.post("/calendars/{calendar_id}/events/watch")
    async def watch(calendar_id: str, request: Request, _grant: Authorized) -> dict[str, Any]:
        """events.watch: a web_hook channel that is told of every change to the events."""
        body = await _json_body(request)
        channel_id, address = body.get("id"), body.get("address")
        if body.get("type") not in ("web_hook", "webhook"):
            raise CalendarApiError(400, "invalid", "Invalid channel type.")
        if not channel_id or not address:
            raise CalendarApiError(400, "required", "Channel id and address are required.")
        if channel_id in state.push.channels:
            raise CalendarApiError(400, "channelIdNotUnique", "Channel id not unique.")
        ttl = float((body.get("params") or {}).get("ttl", DEFAULT_TTL.total_seconds()))
        channel = state.push.open(
            calendar_id=calendar_id,
            channel_id=str(channel_id),
            address=str(address),
            token=body.get("token"),
            ttl=ttl,
        )
        return channel.public()

    @router.post("/channels/stop", status_code=204)
    async def stop_channel(request: Request, _grant: Authorized) -> Response:
        """channels.stop: 404 for a channel that is not open (or another resource's)."""
        body = await _json_body(request)
        if not state.push.stop(str(body.get("id")), str(body.get("resourceId"))):
            raise CalendarApiError(404, "notFound", "Channel not found for project.")
        return Response(status_code=204)

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
        state.touch(calendar_id, event_id)
        return updated

    @router.delete("/calendars/{calendar_id}/events/{event_id}", status_code=204)
    async def delete(calendar_id: str, event_id: str, _grant: Authorized) -> Response:
        """events.delete: marks the event cancelled; 410 when it already was."""
        event = state.get(calendar_id, event_id)
        if event["status"] == "cancelled":
            raise CalendarApiError(410, "deleted", "Resource has been deleted")
        event.update(status="cancelled", updated=now_rfc3339(), etag=f'"{secrets.randbits(52)}"')
        state.touch(calendar_id, event_id)
        return Response(status_code=204)

    return router


def create_calendar_app(state: CalendarState, oauth: OAuthState, sandbox: SandboxState) -> ASGIApp:
    """The Google Calendar sandbox as an ASGI app, wrapped in fault injection and recording."""
    app = FastAPI(title="Google Calendar sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(CalendarApiError)
    async def _google_error(_: Request, exc: CalendarApiError) -> Response:
        return google_error(exc.status, exc.reason, exc.message)

    app.include_router(token_router(oauth))
    app.include_router(_events_router(state, oauth))
    app.include_router(calendar_control_router(state, oauth))
    app.include_router(control_router(sandbox))
    # Tokens survive a reset: the SDK caches them, and a reset should not look like an expiry.
    sandbox.on_reset.append(state.reset)
    return SandboxMiddleware(app, state=sandbox, responder=fault_response)
