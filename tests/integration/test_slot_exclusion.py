"""No double booking, through the real booking path: the `bookings_no_overlap` exclusion
constraint against held, confirmed, failed and cancelled bookings, and with a service buffer.

The answer path reads Postgres alone, and no calendar sync runs here (the orgs have no busy
blocks, which each test checks when it is done): a refusal can only come from the bookings
themselves, under the constraint, which is what these tests pin.
"""

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from uuid import UUID

import asyncpg
import pytest
from temporalio.client import Client

from core.domain.ids import booking_workflow_id
from core.domain.org_spec import ServiceSpec
from core.temporal.models import BookResult, CancelChange, LifecycleResult, RescheduleChange
from sandbox.runner import Sandboxes
from tests.booking_helpers import BookingEnv, local_start, unique_phone, wait_for_status
from tests.conftest import MakeOrg
from tests.factories import TestOrg
from workflows.client import cancel_booking, reschedule_booking

pytestmark = pytest.mark.integration

TAKEN = "That time is already taken."


@pytest.fixture
async def org(make_org: MakeOrg, pool: asyncpg.Pool) -> AsyncIterator[TestOrg]:
    created = await make_org()
    yield created
    # The premise held: no calendar block could have refused a time.
    blocks = await pool.fetchval(
        "SELECT count(*) FROM calendar_busy_blocks WHERE org_id = $1", created.id
    )
    assert blocks == 0


async def booked(env: BookingEnv, org: TestOrg, start: datetime) -> UUID:
    answer = await env.book(start=start, phone=unique_phone(), org=org)
    assert (answer.outcome, answer.start) == ("booked", start), answer.message
    assert answer.booking_id is not None
    return answer.booking_id


async def refused(env: BookingEnv, org: TestOrg, start: datetime) -> BookResult:
    answer = await env.book(start=start, phone=unique_phone(), org=org)
    assert answer.outcome == "unavailable", answer.message
    assert answer.message.startswith(TAKEN), answer.message
    assert answer.booking_id is None
    return answer


async def org_bookings(pool: asyncpg.Pool, org: TestOrg) -> list[tuple[datetime, str]]:
    rows = await pool.fetch(
        "SELECT starts_at, status::text FROM bookings WHERE org_id = $1 ORDER BY starts_at, "
        "created_at",
        org.id,
    )
    return [(row["starts_at"], row["status"]) for row in rows]


async def change(
    client: Client, booking_id: UUID, request: RescheduleChange | CancelChange
) -> LifecycleResult:
    workflow_id = booking_workflow_id(booking_id)
    if isinstance(request, RescheduleChange):
        return await reschedule_booking(client, workflow_id, request)
    return await cancel_booking(client, workflow_id, request)


async def test_a_held_booking_and_then_a_confirmed_one_keep_the_slot(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    # The calendar fails until told otherwise, so the first booking stays held.
    calendar_down = await sandboxes.calendar.add_fault(
        status=503, method="POST", path_contains=f"{org.calendar_id}/events"
    )
    start = local_start(2, time(10))
    first = await booked(booking_env, org, start)
    assert (await wait_for_status(pool, first, {"held"}))["status"] == "held"

    # Held: the same start and any overlap are refused; the adjacent start is not.
    await refused(booking_env, org, start)
    await refused(booking_env, org, start + timedelta(minutes=15))
    await refused(booking_env, org, start - timedelta(minutes=15))
    adjacent = await booked(booking_env, org, start + timedelta(minutes=30))
    assert (await wait_for_status(pool, first, {"held"}))["status"] == "held"

    # Confirmed: still refused.
    await sandboxes.calendar.remove_fault(calendar_down)
    await wait_for_status(pool, first, {"confirmed"})
    await refused(booking_env, org, start)
    await refused(booking_env, org, start + timedelta(minutes=10))
    await wait_for_status(pool, adjacent, {"confirmed"})
    assert await org_bookings(pool, org) == [
        (start, "confirmed"),
        (start + timedelta(minutes=30), "confirmed"),
    ]


async def test_a_booking_compensated_to_failed_frees_its_slot(
    booking_env: BookingEnv, pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg
) -> None:
    refusal = await sandboxes.calendar.add_fault(
        status=403, code="forbidden", method="POST", path_contains=f"{org.calendar_id}/events"
    )
    start = local_start(3, time(11))
    first = await booked(booking_env, org, start)
    failed = await wait_for_status(pool, first, {"failed"})
    assert failed["status_reason"].startswith("calendar: "), failed
    await sandboxes.calendar.remove_fault(refusal)

    second = await booked(booking_env, org, start)
    await wait_for_status(pool, second, {"confirmed"})
    assert await org_bookings(pool, org) == [(start, "failed"), (start, "confirmed")]


async def test_a_cancelled_booking_frees_its_slot(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    start = local_start(4, time(12))
    first = await booked(booking_env, org, start)
    await wait_for_status(pool, first, {"confirmed"})
    await refused(booking_env, org, start)
    result = await change(temporal_client, first, CancelChange(reason="ill"))
    assert result.outcome == "cancelled", result.message

    second = await booked(booking_env, org, start)
    await wait_for_status(pool, second, {"confirmed"})
    assert await org_bookings(pool, org) == [(start, "cancelled"), (start, "confirmed")]


@pytest.fixture
async def buffered_org(make_org: MakeOrg) -> TestOrg:
    """30-minute appointments with 15 minutes kept free after each."""
    service = ServiceSpec(name="Consultation", duration_minutes=30, buffer_minutes=15)
    return await make_org(services=[service])


async def test_the_service_buffer_is_part_of_the_occupied_time(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, buffered_org: TestOrg
) -> None:
    org = buffered_org
    ten = local_start(5, time(10))
    minutes = timedelta(minutes=1)
    first = await booked(booking_env, org, ten)
    # 10:00-10:30 plus the buffer: the provider is busy until 10:45.
    inside_buffer = await refused(booking_env, org, ten + 30 * minutes)
    # The alternatives offered skip the buffer too: 10:30 and 10:45-11:15 are not free grid
    # starts, 11:00 is.
    assert inside_buffer.alternatives[0] == ten + 60 * minutes
    # A booking before it may not run into it: 09:30 + 30 + 15 ends at 10:15.
    await refused(booking_env, org, ten - 30 * minutes)
    await booked(booking_env, org, ten - 45 * minutes)
    after_buffer = await booked(booking_env, org, ten + 45 * minutes)

    occupied = await pool.fetchrow(
        "SELECT lower(during) AS start, upper(during) AS stop FROM bookings WHERE id = $1", first
    )
    assert (occupied["start"], occupied["stop"]) == (ten, ten + 45 * minutes)

    # Moves keep the buffer too, the other bookings' and the moved one's own.
    later = await booked(booking_env, org, ten + 180 * minutes)
    for booking_id in (first, after_buffer, later):
        await wait_for_status(pool, booking_id, {"confirmed"})

    async def move_later(to: datetime) -> LifecycleResult:
        request = RescheduleChange(start=to.isoformat())
        return await change(temporal_client, later, request)

    # 11:15 is inside the buffer of 10:45's booking (busy until 11:30).
    into_buffer = await move_later(ten + 75 * minutes)
    assert (into_buffer.outcome, into_buffer.message[: len(TAKEN)]) == ("unavailable", TAKEN)
    # 08:45-09:15 is free, but its own buffer would run into 09:15's booking.
    buffer_into_next = await move_later(ten - 75 * minutes)
    assert (buffer_into_next.outcome, buffer_into_next.message[: len(TAKEN)]) == (
        "unavailable",
        TAKEN,
    )
    moved = await move_later(ten - 90 * minutes)
    assert moved.outcome == "rescheduled", moved.message
    assert [at for at, _ in await org_bookings(pool, org)] == [
        ten - 90 * minutes,
        ten - 45 * minutes,
        ten,
        ten + 45 * minutes,
    ]
