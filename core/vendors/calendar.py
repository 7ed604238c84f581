"""The calendar as the booking activities see it: the `CalendarClient` protocol, the events it
returns, and how a booking's event id is derived.

The implementation on Google Calendar is `core.vendors.google_calendar.GoogleCalendarClient`;
activities and the worker depend only on this module, so they need not import Google's SDK.

Idempotency comes from ids: `event_id_for_booking` derives the event id from the booking id, so
a retried insert hits the calendar's "duplicate" and returns the event that already exists.
"""

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


def event_id_for_booking(booking_id: uuid.UUID) -> str:
    """The Google event id of a booking: base32hex of its 16 bytes, lowercase, no padding.

    26 characters from `0-9a-v`, valid for `events.insert`, and a pure function of the booking
    id, so every retry of the insert names the same event.
    """
    return base64.b32hexencode(booking_id.bytes).decode("ascii").rstrip("=").lower()


def booking_id_for_event(event_id: str) -> uuid.UUID | None:
    """The booking id an event id was derived from (`event_id_for_booking`), if it can be one.

    Any 26-character base32hex id decodes, so a caller must still check that the booking
    exists before treating the event as one of ours.
    """
    if len(event_id) != 26:
        return None
    try:
        raw = base64.b32hexdecode(event_id.upper() + "======")
    except ValueError:  # binascii.Error, for characters outside base32hex, is one
        return None
    return uuid.UUID(bytes=raw) if len(raw) == 16 else None


@dataclass(frozen=True)
class CalendarEvent:
    """An event as Google stored it. `already_existed` is set when an insert found it there."""

    id: str
    calendar_id: str
    status: str
    start: datetime | None
    end: datetime | None
    summary: str | None = None
    html_link: str | None = None
    already_existed: bool = False

    @property
    def cancelled(self) -> bool:
        """Deleted in Google (soft-deleted events keep their id and come back as cancelled)."""
        return self.status == "cancelled"


@dataclass(frozen=True)
class EventPage:
    """One page of `events.list`: raw event resources, and where to go on.

    `next_sync_token` is set on the last page only; `time_zone` is the calendar's own zone
    (all-day events are dates in it).
    """

    items: list[dict[str, Any]]
    next_page_token: str | None
    next_sync_token: str | None
    time_zone: str | None


@dataclass(frozen=True)
class WatchChannel:
    """A push channel Google created for a calendar's events (`events.watch`)."""

    id: str
    resource_id: str
    expires_at: datetime | None


class CalendarClient(Protocol):
    """Calendar operations the booking activities need; errors are core.errors service errors."""

    async def insert_event(
        self,
        *,
        calendar_id: str,
        event_id: str,
        summary: str,
        description: str,
        start: datetime,
        end: datetime,
        time_zone: str,
    ) -> CalendarEvent: ...

    async def get_event(self, *, calendar_id: str, event_id: str) -> CalendarEvent: ...

    async def move_event(
        self, *, calendar_id: str, event_id: str, start: datetime, end: datetime, time_zone: str
    ) -> CalendarEvent: ...

    async def delete_event(self, *, calendar_id: str, event_id: str) -> bool: ...

    async def list_events(
        self, *, calendar_id: str, sync_token: str | None, page_token: str | None
    ) -> EventPage: ...

    async def watch_events(
        self, *, calendar_id: str, channel_id: str, token: str, address: str, ttl_seconds: int
    ) -> WatchChannel: ...

    async def stop_channel(self, *, channel_id: str, resource_id: str) -> bool: ...
