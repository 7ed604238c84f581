"""Push channels of the Google Calendar sandbox: `events.watch`, `channels.stop`, notifications.

As Google does, a new channel is announced with one `sync` message, and every later change to
the watched calendar's events POSTs an `exists` message with no body, carrying the channel's id
and token in `X-Goog-Channel-*` headers. Messages go out from background tasks, so the request
that changed the event is answered first. Tests can drop messages (Google warns some are lost)
and read what was sent or dropped.
"""

import logging
import secrets
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.outbound import Outbound

log = logging.getLogger(__name__)

# Google's default lifetime of an events channel when the request names none.
DEFAULT_TTL = timedelta(days=7)


@dataclass
class Channel:
    id: str
    calendar_id: str
    address: str
    token: str | None
    resource_id: str
    expires_at: datetime
    messages: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/{self.calendar_id}"
            "/events?alt=json",
            "token": self.token,
            "expiration": str(int(self.expires_at.timestamp() * 1000)),
        }


@dataclass
class Notification:
    """One message the sandbox sent (or dropped): to whom, in what state, and how it went."""

    channel_id: str
    address: str
    state: str
    number: int
    dropped: bool = False
    status_code: int | None = None
    error: str | None = None


@dataclass
class PushChannels:
    """Open channels per calendar, and the messages sent to them."""

    channels: dict[str, Channel] = field(default_factory=dict)
    sent: deque[Notification] = field(default_factory=lambda: deque(maxlen=10_000))
    drop: bool = False
    _outbound: Outbound = field(default_factory=Outbound)

    def open(
        self, *, calendar_id: str, channel_id: str, address: str, token: str | None, ttl: float
    ) -> Channel:
        channel = Channel(
            id=channel_id,
            calendar_id=calendar_id,
            address=address,
            token=token,
            resource_id=secrets.token_urlsafe(20),
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        )
        self.channels[channel_id] = channel
        self._post(channel, "sync")
        return channel

    def stop(self, channel_id: str, resource_id: str) -> bool:
        channel = self.channels.get(channel_id)
        if channel is None or channel.resource_id != resource_id:
            return False
        del self.channels[channel_id]
        return True

    def changed(self, calendar_id: str) -> None:
        """The calendar's events changed: notify every live channel watching it."""
        now = datetime.now(UTC)
        for channel in list(self.channels.values()):
            if channel.expires_at <= now:
                del self.channels[channel.id]  # expired channels go quiet, as Google's do
            elif channel.calendar_id == calendar_id:
                self._post(channel, "exists")

    def public(self) -> dict[str, Any]:
        return {
            "channels": [
                c.public() | {"calendar_id": c.calendar_id} for c in self.channels.values()
            ],
            "notifications": [asdict(n) for n in self.sent],
            "drop": self.drop,
        }

    def _post(self, channel: Channel, state: str) -> None:
        number = channel.messages = channel.messages + 1
        notification = Notification(channel.id, channel.address, state, number, dropped=self.drop)
        self.sent.append(notification)
        if self.drop:
            return
        self._outbound.spawn(self._deliver(channel, notification))

    async def _deliver(self, channel: Channel, notification: Notification) -> None:
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Message-Number": str(notification.number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": notification.state,
            "X-Goog-Resource-URI": channel.public()["resourceUri"],
            "X-Goog-Channel-Expiration": channel.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        outcome = await self._outbound.post(channel.address, headers=headers)
        notification.status_code, notification.error = outcome.status_code, outcome.error
        if outcome.error is not None:
            log.info("calendar sandbox: notification failed: %s", outcome.error)

    def reset(self) -> None:
        self._outbound.cancel()
        self.channels.clear()
        self.sent.clear()
        self.drop = False

    async def aclose(self) -> None:
        """Cancel messages still on their way and close the HTTP client."""
        await self._outbound.aclose()
