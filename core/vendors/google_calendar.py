"""`GoogleCalendarClient`: the `CalendarClient` protocol on Google Calendar v3.

It uses the real `google-api-python-client` with a service account. That client is blocking and
httplib2 is not thread-safe, so every `.execute()` runs in `asyncio.to_thread` on a service
object (and Http) owned by that worker thread alone. Google's HTTP and credential failures
become `core.errors` service errors (`core.vendors.google_errors`), transient or permanent.
"""

import asyncio
import http.client
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from core.errors import PermanentServiceError, TransientServiceError
from core.vendors.calendar import CalendarEvent, EventPage, WatchChannel
from core.vendors.google_errors import GONE, service_error_from_http, service_error_from_refresh

log = logging.getLogger(__name__)

_STALE_CONNECTION = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
# events.list page size: Google's maximum is 2500; 250 is its default and keeps pages small.
_PAGE_SIZE = 250


class GoogleCalendarClient:
    """`CalendarClient` on Google Calendar v3; `base_url` (ending `/calendar/v3/`) redirects it."""

    def __init__(
        self,
        *,
        service_account_info: Mapping[str, Any],
        delegated_user: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        send_updates: str = "none",
    ) -> None:
        credentials = service_account.Credentials.from_service_account_info(
            dict(service_account_info), scopes=[CALENDAR_SCOPE]
        )
        if delegated_user:
            credentials = credentials.with_subject(delegated_user)
        # Shared by all threads: a concurrent refresh at worst fetches one token too many.
        self._credentials = credentials
        self._base_url = base_url.rstrip("/") + "/" if base_url else None
        self._timeout = timeout
        self._send_updates = send_updates
        self._local = threading.local()

    def _service(self) -> "_Resources":
        """This thread's service and its resource collections, built on first use (httplib2
        must not be shared). The collections are kept: `service.events()` builds a new resource
        with every method from the discovery document each time it is called, which costs more
        CPU than the request itself."""
        resources: _Resources | None = getattr(self._local, "service", None)
        if resources is None:
            http = google_auth_httplib2.AuthorizedHttp(
                self._credentials, http=httplib2.Http(timeout=self._timeout)
            )
            options = {"api_endpoint": self._base_url} if self._base_url else None
            service = build(
                "calendar",
                "v3",
                http=http,
                cache_discovery=False,
                static_discovery=True,
                client_options=options,
            )
            resources = _Resources(events=service.events(), channels=service.channels())
            self._local.service = resources
        return resources

    async def _execute(self, operation: str, make_request: Callable[["_Resources"], Any]) -> Any:
        """Run `make_request(resources).execute()` in a worker thread, mapping failures."""

        def run() -> Any:
            try:
                return make_request(self._service()).execute()
            except _STALE_CONNECTION:
                # httplib2 reuses a kept-alive connection the server has since closed; the
                # request never reached it. Once more on a fresh connection, without the
                # backoff a retried activity would wait (every call here is idempotent:
                # events have ids derived from the booking, the rest are reads or updates).
                self._local.service = None
                return make_request(self._service()).execute()

        try:
            return await asyncio.to_thread(run)
        except HttpError as exc:
            raise service_error_from_http(operation, exc) from exc
        except auth_exceptions.RefreshError as exc:
            raise service_error_from_refresh(operation, exc) from exc
        except (auth_exceptions.TransportError, httplib2.HttpLib2Error, OSError) as exc:
            # OSError covers timeouts (TimeoutError) and refused or reset connections.
            log.warning("calendar %s: no answer: %r", operation, exc)
            raise TransientServiceError(
                f"Google Calendar unreachable during {operation}: {type(exc).__name__}"
            ) from exc

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
    ) -> CalendarEvent:
        """Create the event under `event_id`, or return it if it already exists.

        Idempotent: Google's 409 "duplicate" means an earlier attempt created it, so the
        existing event is fetched and returned with `already_existed=True`. If that event was
        deleted meanwhile it comes back with `cancelled` set; the id cannot be reused, so the
        caller decides what that means.
        """
        body = {
            "id": event_id,
            "summary": summary,
            "description": description,
            "start": {"dateTime": start.isoformat(), "timeZone": time_zone},
            "end": {"dateTime": end.isoformat(), "timeZone": time_zone},
        }
        try:
            raw = await self._execute(
                "insert",
                lambda s: s.events.insert(
                    calendarId=calendar_id, body=body, sendUpdates=self._send_updates
                ),
            )
        except PermanentServiceError as exc:
            if exc.status != 409:
                raise
            existing = await self.get_event(calendar_id=calendar_id, event_id=event_id)
            log.info("calendar insert: %s already existed (%s)", event_id, existing.status)
            return _with(existing, already_existed=True)
        return _event(calendar_id, raw)

    async def get_event(self, *, calendar_id: str, event_id: str) -> CalendarEvent:
        """The event, cancelled ones included; PermanentServiceError(code="notFound") if none."""
        raw = await self._execute(
            "get", lambda s: s.events.get(calendarId=calendar_id, eventId=event_id)
        )
        return _event(calendar_id, raw)

    async def move_event(
        self, *, calendar_id: str, event_id: str, start: datetime, end: datetime, time_zone: str
    ) -> CalendarEvent:
        """Patch the event's start and end; safe to repeat. A cancelled event stays cancelled."""
        body = {
            "start": {"dateTime": start.isoformat(), "timeZone": time_zone},
            "end": {"dateTime": end.isoformat(), "timeZone": time_zone},
        }
        raw = await self._execute(
            "patch",
            lambda s: s.events.patch(
                calendarId=calendar_id, eventId=event_id, body=body, sendUpdates=self._send_updates
            ),
        )
        return _event(calendar_id, raw)

    async def delete_event(self, *, calendar_id: str, event_id: str) -> bool:
        """Delete the event. True if this call deleted it, False if it was already gone."""
        try:
            await self._execute(
                "delete",
                lambda s: s.events.delete(
                    calendarId=calendar_id, eventId=event_id, sendUpdates=self._send_updates
                ),
            )
        except PermanentServiceError as exc:
            if exc.status in GONE:
                return False
            raise
        return True

    async def list_events(
        self, *, calendar_id: str, sync_token: str | None, page_token: str | None
    ) -> EventPage:
        """One page of the calendar's events, recurring ones expanded into instances.

        Without `sync_token` a full listing; with it, only what changed since (cancelled events
        included). An expired token is PermanentServiceError with status 410: list in full.
        """
        params: dict[str, Any] = {
            "calendarId": calendar_id,
            "singleEvents": True,
            "maxResults": _PAGE_SIZE,
        }
        if sync_token:
            params["syncToken"] = sync_token
        if page_token:
            params["pageToken"] = page_token
        raw = await self._execute("list", lambda s: s.events.list(**params))
        return EventPage(
            items=list(raw.get("items", [])),
            next_page_token=raw.get("nextPageToken"),
            next_sync_token=raw.get("nextSyncToken"),
            time_zone=raw.get("timeZone"),
        )

    async def watch_events(
        self, *, calendar_id: str, channel_id: str, token: str, address: str, ttl_seconds: int
    ) -> WatchChannel:
        """Ask Google to POST to `address` whenever the calendar's events change."""
        body = {
            "id": channel_id,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(ttl_seconds)},
        }
        raw = await self._execute(
            "watch", lambda s: s.events.watch(calendarId=calendar_id, body=body)
        )
        expiration = raw.get("expiration")
        return WatchChannel(
            id=str(raw.get("id", channel_id)),
            resource_id=str(raw["resourceId"]),
            expires_at=datetime.fromtimestamp(int(expiration) / 1000, UTC) if expiration else None,
        )

    async def stop_channel(self, *, channel_id: str, resource_id: str) -> bool:
        """Stop a push channel. True if this call stopped it, False if Google had none."""
        body = {"id": channel_id, "resourceId": resource_id}
        try:
            await self._execute("channels.stop", lambda s: s.channels.stop(body=body))
        except PermanentServiceError as exc:
            if exc.status in GONE:
                return False
            raise
        return True


@dataclass(frozen=True)
class _Resources:
    """One thread's calendar resource collections (googleapiclient builds them on demand)."""

    events: Any
    channels: Any


def _event(calendar_id: str, raw: Mapping[str, Any]) -> CalendarEvent:
    def when(key: str) -> datetime | None:
        value = raw.get(key) or {}
        text = value.get("dateTime") or value.get("date")
        return datetime.fromisoformat(text) if text else None

    return CalendarEvent(
        id=str(raw["id"]),
        calendar_id=calendar_id,
        status=str(raw.get("status", "confirmed")),
        start=when("start"),
        end=when("end"),
        summary=raw.get("summary"),
        html_link=raw.get("htmlLink"),
    )


def _with(event: CalendarEvent, *, already_existed: bool) -> CalendarEvent:
    return CalendarEvent(**{**event.__dict__, "already_existed": already_existed})
