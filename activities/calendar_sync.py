"""Copy a provider's Google calendar busy times into Postgres, and keep a push channel open.

`sync_calendar` lists the calendar's events, in full the first time and after Google expired
the sync token (410), and otherwise only what changed since the last sync token; it stores the
events that make the provider busy as busy blocks, leaving out this system's own booking events
(the bookings themselves hold that time). `watch_calendar` opens a push channel so Google tells
the API when something changes; `stop_calendar_channel` closes it.
"""

import logging
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
from temporalio import activity

from activities.errors import typed_errors
from core.domain.availability import Interval
from core.domain.busy_events import busy_interval
from core.domain.credentials import hash_token
from core.errors import ExternalServiceError, PermanentServiceError
from core.repositories import calendar_syncs as sync_repo
from core.temporal.models import CalendarChannel, CalendarRef, CalendarSyncResult, StopChannelInput
from core.vendors.calendar import CalendarClient, booking_id_for_event

log = logging.getLogger(__name__)

# Busy blocks that ended this long ago are of no use to anyone booking now.
_KEEP_AFTER = timedelta(days=1)
_GONE = 410


class CalendarSyncActivities:
    def __init__(
        self,
        pool: asyncpg.Pool,
        calendar: CalendarClient,
        *,
        notification_url: str,
        channel_ttl: timedelta,
    ) -> None:
        self._pool = pool
        self._calendar = calendar
        self._notification_url = notification_url
        self._channel_ttl = channel_ttl

    @activity.defn
    @typed_errors
    async def sync_calendar(self, ref: CalendarRef) -> CalendarSyncResult:
        """Bring the provider's busy blocks up to date with its calendar.

        `removed` when the provider no longer exists. Failures are recorded on the sync's row
        (for the audit and metrics) and raised, so Temporal retries.
        """
        sync = await sync_repo.open_sync(self._pool, org_id=ref.org_id, provider_id=ref.provider_id)
        if sync is None:
            return CalendarSyncResult(removed=True)
        try:
            full = sync.sync_token is None
            try:
                items, zone, token = await self._list(sync.calendar_id, sync.sync_token)
            except PermanentServiceError as error:
                if error.status != _GONE or full:
                    raise
                log.info("calendar sync token expired (410); listing in full")
                await sync_repo.forget_sync_token(self._pool, provider_id=ref.provider_id)
                full = True
                items, zone, token = await self._list(sync.calendar_id, None)
            busy, free = await self._busy_and_free(ref.org_id, items, zone)
            await sync_repo.apply_sync(
                self._pool,
                org_id=ref.org_id,
                provider_id=ref.provider_id,
                full=full,
                busy=busy,
                free=free,
                sync_token=token,
                keep_after=datetime.now(UTC) - _KEEP_AFTER,
            )
        except ExternalServiceError as error:
            await sync_repo.record_error(
                self._pool, provider_id=ref.provider_id, error=error.message
            )
            raise
        return CalendarSyncResult(
            full=full, busy_blocks=len(busy), freed=len(free), channel=sync.channel
        )

    @activity.defn
    @typed_errors
    async def watch_calendar(self, ref: CalendarRef) -> CalendarChannel | None:
        """Open a new push channel for the calendar and stop the one it replaces; None when the
        provider no longer exists."""
        sync = await sync_repo.open_sync(self._pool, org_id=ref.org_id, provider_id=ref.provider_id)
        if sync is None:
            return None
        token = secrets.token_urlsafe(32)
        channel = await self._calendar.watch_events(
            calendar_id=sync.calendar_id,
            channel_id=str(uuid4()),
            token=token,
            address=self._notification_url,
            ttl_seconds=int(self._channel_ttl.total_seconds()),
        )
        opened = sync_repo.NewChannel(
            id=channel.id,
            token_hash=hash_token(token),
            resource_id=channel.resource_id,
            expires_at=channel.expires_at,
        )
        replaced = await sync_repo.replace_channel(
            self._pool, provider_id=ref.provider_id, channel=opened
        )
        if replaced is not None:
            await self._stop(replaced.id, replaced.resource_id)
        return CalendarChannel(
            id=channel.id, resource_id=channel.resource_id, expires_at=channel.expires_at
        )

    @activity.defn
    @typed_errors
    async def stop_calendar_channel(self, stop: StopChannelInput) -> bool:
        """Stop the calendar's push channel (the sync is ending); False when it had none."""
        recorded = await sync_repo.replace_channel(
            self._pool, provider_id=stop.calendar.provider_id, channel=None
        )
        channel = recorded or stop.channel
        if channel is None:
            return False
        await self._stop(channel.id, channel.resource_id)
        return True

    async def _stop(self, channel_id: str, resource_id: str) -> None:
        try:
            await self._calendar.stop_channel(channel_id=channel_id, resource_id=resource_id)
        except PermanentServiceError as error:
            # Google forgets expired channels itself; nothing more can be done about this one.
            log.warning("could not stop calendar channel %s: %s", channel_id, error.message)

    async def _list(
        self, calendar_id: str, sync_token: str | None
    ) -> tuple[list[dict[str, object]], ZoneInfo, str | None]:
        """Every page of events (changed since `sync_token`, or all), the calendar's zone and
        the next sync token."""
        items: list[dict[str, object]] = []
        zone, page_token = "UTC", None
        while True:
            page = await self._calendar.list_events(
                calendar_id=calendar_id, sync_token=sync_token, page_token=page_token
            )
            items.extend(page.items)
            zone = page.time_zone or zone
            activity.heartbeat(len(items))
            if page.next_page_token is None:
                return items, _zone(zone), page.next_sync_token
            page_token = page.next_page_token

    async def _busy_and_free(
        self, org_id: UUID, items: list[dict[str, object]], zone: ZoneInfo
    ) -> tuple[dict[str, Interval], list[str]]:
        """Split events into busy blocks and ids that block nothing (ours included)."""
        candidates = {
            booking_id
            for item in items
            if (booking_id := booking_id_for_event(str(item.get("id", "")))) is not None
        }
        ours = await sync_repo.our_event_booking_ids(
            self._pool, org_id=org_id, ids=list(candidates)
        )
        busy: dict[str, Interval] = {}
        free: list[str] = []
        for item in items:
            event_id = str(item.get("id", ""))
            if not event_id:
                continue
            interval = busy_interval(item, zone)
            if interval is None or booking_id_for_event(event_id) in ours:
                free.append(event_id)
            else:
                busy[event_id] = interval
        return busy, free


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")
