"""`POST /calendar/notifications`: Google Calendar push notifications for the busy-time sync.

Google POSTs here, with no body, whenever a watched calendar's events change (after one `sync`
message when the channel opens). The channel id names the provider calendar and the channel
token, set by us when the channel was opened and stored only as a hash, proves the sender knows
it. A valid notification is passed on to that calendar's sync (coalesced with others for the same
calendar, see `api.calendar_relay`); nothing is read from Google while this request is
answered. Google counts 200 as delivered; an unknown channel or a wrong token is 404, which it
does not retry.
"""

from fastapi import APIRouter, Request, Response, status

from api.deps import CalendarRelayDep, PoolDep
from core.domain.credentials import token_matches
from core.repositories import calendar_syncs as sync_repo
from core.temporal.models import CalendarRef

router = APIRouter(prefix="/calendar", tags=["calendar"])


@router.post("/notifications", include_in_schema=False)
async def calendar_notification(
    request: Request, pool: PoolDep, relay: CalendarRelayDep
) -> Response:
    """A watched calendar changed: its sync reads the change now."""
    channel_id = request.headers.get("x-goog-channel-id", "")
    token = request.headers.get("x-goog-channel-token", "")
    owner = await sync_repo.channel_owner(pool, channel_id=channel_id) if channel_id else None
    if (
        owner is None
        or owner.token_hash is None
        or not token
        or not token_matches(token, owner.token_hash)
    ):
        return Response(status_code=status.HTTP_404_NOT_FOUND)
    if request.headers.get("x-goog-resource-state") != "sync":  # `sync`: the channel opened
        relay.changed(CalendarRef(org_id=owner.org_id, provider_id=owner.provider_id))
    return Response(status_code=status.HTTP_200_OK)
