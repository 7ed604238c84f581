"""The Google Calendar sandbox's own control routes, for tests and `booking dev`.

Besides the shared ones of `sandbox.fault_http`:

    POST /_sandbox/calendar/busy               {"calendar_id", "start", "end"}: a busy event
    GET  /_sandbox/calendar/events             every event incl. cancelled (?calendar_id=)
    GET  /_sandbox/calendar/created            every insert that created an event, as created,
                                               in order (?calendar_id=); a 409 adds nothing
    POST /_sandbox/calendar/revoke-tokens      forget issued tokens: next call gets a 401
    POST /_sandbox/calendar/expire-sync-tokens every sync token answers 410 from now on
    GET  /_sandbox/calendar/push               open channels, notifications sent or dropped
    PUT  /_sandbox/calendar/push               {"drop": true}: lose notifications from now on
    POST /_sandbox/calendar/service-accounts   {"client_email", "public_key_pem"}: trust a key
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sandbox.calendar_state import CalendarApiError, CalendarState, parse_rfc3339
from sandbox.google_oauth import OAuthState


class BusyBlock(BaseModel):
    calendar_id: str
    start: datetime
    end: datetime


class PushSettings(BaseModel):
    drop: bool


class TrustedKey(BaseModel):
    client_email: str
    public_key_pem: str


def calendar_control_router(state: CalendarState, oauth: OAuthState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/calendar", tags=["sandbox"])

    @router.post("/busy", status_code=201)
    async def add_busy(block: BusyBlock) -> dict[str, str]:
        """A busy event between start and end (both with offsets), as a person would add one;
        its channels are notified and it shows in listings. Answers the event's id."""
        start, end = (parse_rfc3339(v.isoformat(), "time") for v in (block.start, block.end))
        if end <= start:
            raise CalendarApiError(400, "timeRangeEmpty", "end must be after start")
        return {"id": state.add_busy(block.calendar_id, start, end)}

    @router.post("/expire-sync-tokens", status_code=204)
    async def expire_sync_tokens() -> None:
        """Every sync token and page token issued so far answers 410 from now on."""
        state.token_generation += 1

    @router.get("/push")
    async def push() -> dict[str, Any]:
        """Open channels, and every notification sent or dropped (oldest first)."""
        return state.push.public()

    @router.put("/push", status_code=204)
    async def set_push(settings: PushSettings) -> None:
        """`drop`: lose notifications from now on, as Google occasionally does."""
        state.push.drop = settings.drop

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
