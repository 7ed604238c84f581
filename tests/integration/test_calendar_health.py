"""Staleness is visible: the audit and /metrics say when each provider calendar last synced, and
the audit names a booking that a calendar block, arriving after it, now overlaps."""

from datetime import timedelta

import asyncpg
from asyncpg import Range
from temporalio.client import Client

from core.infra.config import Settings
from core.ops.audit import AuditOptions, Check, run_audit
from tests.apiclient import api_client
from tests.booking_helpers import BookingEnv, local_start, unique_phone
from tests.conftest import MakeOrg
from tests.factories import TestOrg


def _options(org: TestOrg, sync_after: timedelta) -> AuditOptions:
    return AuditOptions(
        org_slug=org.slug,
        grace=timedelta(minutes=2),
        sms_after=timedelta(minutes=15),
        sync_after=sync_after,
    )


async def _synced(pool: asyncpg.Pool, org: TestOrg, ago: timedelta, error: str | None) -> None:
    await pool.execute(
        """INSERT INTO calendar_syncs (provider_id, org_id, calendar_id, last_synced_at,
                                       last_error)
           VALUES ($1, $2, $3, now() - $4::interval, $5)""",
        org.provider_id,
        org.id,
        org.calendar_id,
        ago,
        error,
    )


async def test_a_calendar_not_synced_lately_is_a_finding_and_a_metric(
    pool: asyncpg.Pool, temporal_client: Client, settings: Settings, make_org: MakeOrg
) -> None:
    never, late, fresh = [await make_org() for _ in range(3)]
    await _synced(pool, late, timedelta(hours=2), "Google Calendar list failed: HTTP 403")
    await _synced(pool, fresh, timedelta(minutes=1), None)

    found = await run_audit(pool, temporal_client, _options(never, timedelta(0)))
    assert [(f.check, f.provider_id, f.booking_id) for f in found] == [
        (Check.CALENDAR_SYNC_STALE, never.provider_id, None)
    ]
    assert found[0].detail == "Dr. Test's calendar never synced"
    # A provider made moments ago is not stale yet: the threshold counts from its creation.
    assert await run_audit(pool, temporal_client, _options(never, timedelta(minutes=30))) == []
    [stale] = await run_audit(pool, temporal_client, _options(late, timedelta(minutes=30)))
    assert stale.check == Check.CALENDAR_SYNC_STALE
    assert "last synced" in stale.detail and "HTTP 403" in stale.detail
    assert await run_audit(pool, temporal_client, _options(fresh, timedelta(minutes=30))) == []

    async with api_client(settings) as api:
        text = (await api.get("/metrics")).text
    gauge = "booking_calendar_last_synced_timestamp_seconds"
    assert f'{gauge}{{provider_id="{never.provider_id}"}} 0.0' in text
    fresh_line = next(line for line in text.splitlines() if str(fresh.provider_id) in line)
    assert float(fresh_line.split()[-1]) > 0


async def test_a_booking_overlapped_by_a_block_that_arrived_later_is_a_finding(
    booking_env: BookingEnv, pool: asyncpg.Pool, temporal_client: Client, org: TestOrg
) -> None:
    await _synced(pool, org, timedelta(0), None)
    start = local_start(days_ahead=3)
    answer = await booking_env.book(start=start, phone=unique_phone())
    assert answer.booking_id is not None
    # One block the clinic had before the booking (first seen earlier: the booking was made
    # around it, a matter for whoever moved it), and one added in Google afterwards.
    for event_id, seen in (("before", "now() - interval '1 day'"), ("after", "now()")):
        await pool.execute(
            f"""INSERT INTO calendar_busy_blocks (provider_id, org_id, event_id, during,
                                                   first_seen_at)
                VALUES ($1, $2, $3, $4, {seen})""",  # noqa: S608 - two literals above
            org.provider_id,
            org.id,
            event_id,
            Range(start, start + timedelta(minutes=15)),
        )
    await pool.execute(
        """UPDATE calendar_busy_blocks SET first_seen_at = b.created_at - interval '1 second'
           FROM bookings b WHERE b.id = $1 AND event_id = 'before'""",
        answer.booking_id,
    )
    found = await run_audit(pool, temporal_client, _options(org, timedelta(minutes=30)))
    overlaps = [f for f in found if f.check == Check.OVERLAPS_CALENDAR_BLOCK]
    assert [(f.booking_id, "calendar event after" in f.detail) for f in overlaps] == [
        (answer.booking_id, True)
    ]
