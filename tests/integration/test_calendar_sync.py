"""Busy times synced, not fetched: a provider calendar's sync keeps its busy blocks in Postgres.

The sandbox plays Google: events.list with paging and sync tokens, events.watch channels that
really POST notifications to the API on its own port, channels.stop. The sync is the real
workflow on the real worker; time blocked in the calendar must reach Postgres through a push
notification, or through the reconcile when notifications are lost, and is then neither offered
nor bookable.

One module because nearly every case runs on a `synced_org` (through `pushed` or `reconciled`) and
waits with the same polling probes (`_block`, `_last_sync`, `_channel_open`) defined below the
tests.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import time, timedelta
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from core.domain.ids import calendar_sync_workflow_id
from core.domain.org_spec import ProviderSpec
from core.infra.config import Settings
from core.temporal.models import CalendarRef
from core.vendors.calendar import event_id_for_booking
from core.vendors.integrations import build_calendar_client
from sandbox.runner import Sandboxes
from tests.apiclient import served_api
from tests.booking_helpers import local_start, unique_phone, wait_for_status, wait_until
from tests.conftest import running_worker
from tests.factories import TestOrg, org_spec
from tests.voice_helpers import vapi_call, vapi_headers, vapi_message
from workflows.calendar_sync import CalendarSyncWorkflow
from workflows.client import calendar_sync_timings, ensure_calendar_sync

# Long enough that, within a test, only a push notification can bring a change in.
_NEVER = timedelta(hours=1)


@dataclass
class Synced:
    org: TestOrg
    settings: Settings
    api: httpx.AsyncClient
    sync: WorkflowHandle[CalendarSyncWorkflow, None]


@contextlib.asynccontextmanager
async def synced_org(
    temporal_client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
    *,
    reconcile: timedelta,
) -> AsyncIterator[Synced]:
    """`org` with its provider calendar synced by the real worker, with the API on a port the
    sandbox can notify; the sync is stopped on the way out if it still runs."""
    await sandboxes.calendar.drop_notifications(False)
    calendar = CalendarRef(org_id=org.id, provider_id=org.provider_id)
    handle = temporal_client.get_workflow_handle(calendar_sync_workflow_id(org.provider_id))
    try:
        async with (
            served_api(
                settings.model_copy(update={"calendar_reconcile_interval": reconcile})
            ) as settings,
            running_worker(temporal_client, settings, pool),
            httpx.AsyncClient(base_url=settings.public_base_url, timeout=30) as api,
        ):
            await ensure_calendar_sync(
                temporal_client,
                calendar,
                task_queue=settings.temporal_task_queue,
                timings=calendar_sync_timings(settings),
            )
            await wait_until(lambda: _synced_once(pool, org), what="the first sync")
            await wait_until(lambda: _channel_open(sandboxes, org), what="a push channel")
            yield Synced(org, settings, api, handle)
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.signal(CalendarSyncWorkflow.stop)
                await _ended(handle)
    finally:
        await sandboxes.calendar.drop_notifications(False)


@pytest.fixture
async def pushed(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> AsyncIterator[Synced]:
    """Synced with a reconcile too rare to matter: only push notifications bring changes."""
    async with synced_org(
        temporal_client, booking_settings, pool, sandboxes, org, reconcile=_NEVER
    ) as synced:
        yield synced


@pytest.fixture
async def reconciled(
    temporal_client: Client,
    booking_settings: Settings,
    pool: asyncpg.Pool,
    sandboxes: Sandboxes,
    org: TestOrg,
) -> AsyncIterator[Synced]:
    """Synced with a reconcile every second."""
    async with synced_org(
        temporal_client, booking_settings, pool, sandboxes, org, reconcile=timedelta(seconds=1)
    ) as synced:
        yield synced


async def test_a_block_added_in_google_arrives_by_push_and_is_neither_offered_nor_bookable(
    pushed: Synced, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = pushed.org
    blocked = local_start(days_ahead=5, at=time(12))
    event_id = await sandboxes.calendar.add_busy(
        org.calendar_id, blocked, blocked + timedelta(hours=1)
    )
    await wait_until(lambda: _block(pool, org, event_id), what="the block in Postgres")
    sent = (await sandboxes.calendar.push())["notifications"]
    assert any(n["state"] == "exists" and n["status_code"] == 200 for n in sent), sent

    check = vapi_call("check_availability", {"date": blocked.date().isoformat()})
    text = await _say(pushed, check)
    assert "from 8:00 AM to 11:30 AM" in text and "from 1:00 PM to 7:30 PM" in text
    book = vapi_call("book_appointment", {"name": "Sam Wilson", "start": blocked.isoformat()})
    answer = await _say(pushed, book)
    assert "already taken" in answer and "1:00 PM" in answer
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 0

    # Deleted in Google: the time is free again.
    google = build_calendar_client(pushed.settings)
    assert await google.delete_event(calendar_id=org.calendar_id, event_id=event_id)
    await wait_until(lambda: _no_block(pool, org, event_id), what="the block gone")
    again = vapi_call("book_appointment", {"name": "Sam Wilson", "start": blocked.isoformat()})
    assert (await _say(pushed, again)).startswith("Booked:")


async def test_with_notifications_lost_the_reconcile_brings_the_block(
    reconciled: Synced, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = reconciled.org
    await sandboxes.calendar.drop_notifications(True)
    blocked = local_start(days_ahead=6, at=time(9))
    event_id = await sandboxes.calendar.add_busy(
        org.calendar_id, blocked, blocked + timedelta(minutes=30)
    )
    await wait_until(lambda: _block(pool, org, event_id), what="the block in Postgres")
    notifications = (await sandboxes.calendar.push())["notifications"]
    ours = [n for n in notifications if n["state"] == "exists" and n["number"] > 1]
    assert ours and all(n["dropped"] for n in ours[-1:]), notifications
    book = vapi_call("book_appointment", {"name": "Ann Lee", "start": blocked.isoformat()})
    assert "already taken" in await _say(reconciled, book)


async def test_an_expired_sync_token_leads_to_a_full_resync(
    pushed: Synced, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = pushed.org
    before = await _last_full_sync(pool, org)
    await sandboxes.calendar.clear_requests()
    await sandboxes.calendar.expire_sync_tokens()
    blocked = local_start(days_ahead=7, at=time(15))
    event_id = await sandboxes.calendar.add_busy(
        org.calendar_id, blocked, blocked + timedelta(minutes=45)
    )
    await wait_until(lambda: _block(pool, org, event_id), what="the block in Postgres")
    listings = await sandboxes.calendar.requests(path_contains=f"{org.calendar_id}/events")
    gets = [r for r in listings if r["method"] == "GET"]
    assert [r["status"] for r in gets][:2] == [410, 200], gets
    assert "syncToken" in gets[0]["query"] and "syncToken" not in gets[1]["query"]
    after = await _last_full_sync(pool, org)
    assert before is not None and after is not None and after > before


async def test_our_own_booking_events_are_not_busy_blocks(
    pushed: Synced, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = pushed.org
    start = local_start(days_ahead=4, at=time(10))
    book = vapi_call("book_appointment", {"name": "Sam Wilson", "start": start.isoformat()})
    caller = unique_phone()
    response = await pushed.api.post(
        "/voice/vapi", json=vapi_message(book, caller=caller), headers=vapi_headers(org)
    )
    assert response.json()["results"][0]["result"].startswith("Booked:")
    booking_id: UUID = await pool.fetchval("SELECT id FROM bookings WHERE org_id = $1", org.id)
    await wait_for_status(pool, booking_id, {"confirmed"})
    # The event exists in Google now; whatever the notifications did, one more sync reads it.
    syncs = (await pushed.sync.query(CalendarSyncWorkflow.status)).syncs
    await pushed.sync.signal(CalendarSyncWorkflow.changed)
    await wait_until(lambda: _more_syncs(pushed.sync, syncs), what="a sync after the booking")
    events = await sandboxes.calendar.events(org.calendar_id)
    assert [e["id"] for e in events] == [event_id_for_booking(booking_id)]
    assert await _no_block(pool, org, event_id_for_booking(booking_id))


async def test_a_notification_needs_its_channel_token(pushed: Synced, sandboxes: Sandboxes) -> None:
    channel = next(
        c
        for c in (await sandboxes.calendar.push())["channels"]
        if c["calendar_id"] == pushed.org.calendar_id
    )
    headers = {"X-Goog-Channel-ID": channel["id"], "X-Goog-Resource-State": "exists"}
    handle = pushed.sync
    syncs = (await handle.query(CalendarSyncWorkflow.status)).syncs
    for token in (None, "not-the-token", channel["token"] + "x"):
        sent = headers | ({"X-Goog-Channel-Token": token} if token else {})
        assert (await pushed.api.post("/calendar/notifications", headers=sent)).status_code == 404
    unknown = headers | {"X-Goog-Channel-ID": "nope", "X-Goog-Channel-Token": channel["token"]}
    assert (await pushed.api.post("/calendar/notifications", headers=unknown)).status_code == 404
    assert (await handle.query(CalendarSyncWorkflow.status)).syncs == syncs
    good = headers | {"X-Goog-Channel-Token": channel["token"]}
    assert (await pushed.api.post("/calendar/notifications", headers=good)).status_code == 200
    await wait_until(lambda: _more_syncs(handle, syncs), what="a sync after the valid notification")


async def test_a_removed_provider_ends_its_sync_and_stops_the_channel(
    reconciled: Synced, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    org = reconciled.org
    await pool.execute("DELETE FROM organizations WHERE id = $1", org.id)
    # The next reconcile finds the provider gone: the channel is stopped and the sync ends.
    await _ended(reconciled.sync)
    assert not await _channel_open(sandboxes, org)


async def _say(synced: Synced, call: dict[str, object]) -> str:
    response = await synced.api.post(
        "/voice/vapi", json=vapi_message(call), headers=vapi_headers(synced.org)
    )
    result: str = response.json()["results"][0]["result"]
    return result


async def _block(pool: asyncpg.Pool, org: TestOrg, event_id: str) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT count(*) FROM calendar_busy_blocks WHERE provider_id = $1 AND event_id = $2",
            org.provider_id,
            event_id,
        )
    )


async def _no_block(pool: asyncpg.Pool, org: TestOrg, event_id: str) -> bool:
    return not await _block(pool, org, event_id)


async def _synced_once(pool: asyncpg.Pool, org: TestOrg) -> bool:
    return await _last_sync(pool, org) is not None


async def _last_sync(pool: asyncpg.Pool, org: TestOrg) -> object:
    return await pool.fetchval(
        "SELECT last_synced_at FROM calendar_syncs WHERE provider_id = $1", org.provider_id
    )


async def _last_full_sync(pool: asyncpg.Pool, org: TestOrg) -> object:
    return await pool.fetchval(
        "SELECT last_full_sync_at FROM calendar_syncs WHERE provider_id = $1", org.provider_id
    )


async def _channel_open(sandboxes: Sandboxes, org: TestOrg) -> bool:
    channels = (await sandboxes.calendar.push())["channels"]
    return any(c["calendar_id"] == org.calendar_id for c in channels)


async def _more_syncs(handle: WorkflowHandle[CalendarSyncWorkflow, None], than: int) -> bool:
    return (await handle.query(CalendarSyncWorkflow.status)).syncs > than


async def _ended(handle: WorkflowHandle[CalendarSyncWorkflow, None]) -> None:
    async def completed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await wait_until(completed, what="the calendar sync to end")


async def test_an_org_created_through_the_admin_api_starts_its_calendar_syncs(
    temporal_client: Client, booking_settings: Settings, pool: asyncpg.Pool, sandboxes: Sandboxes
) -> None:
    spec = org_spec(
        providers=[
            ProviderSpec(name="Dr. One", calendar_id=f"one-{uuid4().hex[:8]}@clinic.example"),
            ProviderSpec(name="Dr. Two", calendar_id=f"two-{uuid4().hex[:8]}@clinic.example"),
        ]
    )
    admin = {"Authorization": "Bearer test-admin-token"}
    async with (
        served_api(booking_settings) as settings,
        running_worker(temporal_client, settings, pool),
        httpx.AsyncClient(base_url=settings.public_base_url, timeout=30) as api,
    ):
        created = await api.post(
            "/admin/orgs",
            json=spec.model_dump(mode="json", exclude={"retell_api_key"}),
            headers=admin,
        )
        assert created.status_code == 201, created.text
        providers = await pool.fetch(
            "SELECT id FROM providers WHERE org_id = $1", UUID(created.json()["org_id"])
        )
        handles = [
            temporal_client.get_workflow_handle(calendar_sync_workflow_id(p["id"]))
            for p in providers
        ]
        for handle in handles:
            await wait_until(lambda h=handle: _more_syncs(h, 0), what="each calendar synced")
        # The workflow opens its push channel after the first sync: wait for both channels.
        wanted = {provider.calendar_id for provider in spec.providers}

        async def watched() -> bool:
            channels = (await sandboxes.calendar.push())["channels"]
            return wanted <= {c["calendar_id"] for c in channels}

        await wait_until(watched, what="a push channel on each provider's calendar")
        for handle in handles:
            await handle.signal(CalendarSyncWorkflow.stop)
            await _ended(handle)
