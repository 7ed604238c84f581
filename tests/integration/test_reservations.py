"""Phase 1's one statement (`reserve_booking`), outcome by outcome, on the real schema."""

import asyncio
from datetime import time, timedelta

import asyncpg
from asyncpg import Range

from core.repositories import catalog as catalog_repo
from tests.booking_helpers import local_start, unique_phone
from tests.factories import TestOrg, reserve


async def _counts(pool: asyncpg.Pool, org: TestOrg) -> tuple[int, int]:
    row = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM bookings WHERE org_id = $1) AS bookings,
                  (SELECT count(*) FROM contacts WHERE org_id = $1) AS contacts""",
        org.id,
    )
    assert row is not None
    return row["bookings"], row["contacts"]


async def test_booked_then_retried_then_already_booked_then_taken(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    start, caller = local_start(days_ahead=2, at=time(10)), unique_phone()
    first = await reserve(pool, org, start, phone=caller)
    assert first.outcome == "booked" and first.booking is not None
    booking_id = first.booking.booking_id

    retried = await reserve(pool, org, start, phone=caller, booking_id=booking_id)
    assert retried.outcome == "retried" and retried.booking == first.booking

    # The same caller, a new request id: their booking, not a second one.
    again = await reserve(pool, org, start, phone=caller)
    assert again.outcome == "already_booked" and again.booking == first.booking

    # Someone else at an overlapping time: taken, with the busy time to offer alternatives from,
    # and nothing written, not even their contact.
    taken = await reserve(pool, org, start + timedelta(minutes=15), phone=unique_phone())
    assert taken.outcome == "taken" and taken.booking is None
    assert taken.busy == [(start, start + timedelta(minutes=30))]
    assert await _counts(pool, org) == (1, 1)


async def test_a_calendar_block_refuses_the_time_and_is_part_of_the_busy_time(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    start = local_start(days_ahead=2, at=time(14))
    block = (start - timedelta(minutes=10), start + timedelta(minutes=20))
    await pool.execute(
        """INSERT INTO calendar_busy_blocks (provider_id, org_id, event_id, during)
           VALUES ($1, $2, 'staff-lunch', $3)""",
        org.provider_id,
        org.id,
        Range(*block),
    )
    blocked = await reserve(pool, org, start, phone=unique_phone())
    assert blocked.outcome == "blocked" and blocked.busy == [block]
    assert await _counts(pool, org) == (0, 0)
    # Back to back with the block is fine: ranges are half-open.
    after = await reserve(pool, org, block[1], phone=unique_phone())
    assert after.outcome == "booked"


async def test_a_stale_configuration_version_writes_nothing(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    before = await catalog_repo.version(pool, org_id=org.id)
    assert before is not None
    await pool.execute(
        "UPDATE business_hours SET closes = '19:00' WHERE org_id = $1 AND weekday = 0", org.id
    )
    after = await catalog_repo.version(pool, org_id=org.id)
    assert after is not None and after > before
    stale = await reserve(pool, org, local_start(3), phone=unique_phone(), version=before)
    assert stale.outcome == "stale" and await _counts(pool, org) == (0, 0)


async def test_every_change_to_what_scheduling_reads_bumps_the_version(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    changes = [
        "UPDATE organizations SET min_notice = interval '2 hours' WHERE id = $1",
        "UPDATE services SET buffer_minutes = 5 WHERE org_id = $1",
        "UPDATE providers SET calendar_id = 'moved@clinic.example' WHERE org_id = $1",
        "INSERT INTO business_hours (org_id, weekday, opens, closes)"
        " VALUES ($1, 0, '21:00', '22:00')",
        "DELETE FROM business_hours WHERE org_id = $1 AND opens = '21:00'",
    ]
    versions = [await catalog_repo.version(pool, org_id=org.id)]
    for change in changes:
        await pool.execute(change, org.id)
        versions.append(await catalog_repo.version(pool, org_id=org.id))
    steps = zip(versions, versions[1:], strict=False)
    assert all(b is not None and a is not None and b > a for a, b in steps), versions
    # Credentials are not scheduling: rotating them leaves the cached configuration current.
    await pool.execute("UPDATE organizations SET api_key_hash = 'x' || id WHERE id = $1", org.id)
    assert await catalog_repo.version(pool, org_id=org.id) == versions[-1]


async def test_concurrent_copies_by_one_caller_never_hear_taken(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    """Ten requests of one caller for one start at once (an agent re-issuing while the first
    is in flight): one booking; every other copy is answered with it, whether it saw the
    booking before inserting or lost the race at the exclusion constraint."""
    start, caller = local_start(days_ahead=2, at=time(16)), unique_phone()
    results = await asyncio.gather(*(reserve(pool, org, start, phone=caller) for _ in range(10)))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["already_booked"] * 9 + ["booked"], outcomes
    [booked] = [r.booking for r in results if r.outcome == "booked"]
    assert all(r.booking == booked for r in results)
    assert await _counts(pool, org) == (1, 1)
