"""A configuration change made by another process is honoured by the next request.

Each process caches an org's configuration (`CatalogCache`). A provider or service added a
moment ago (by SQL, or by another API process) is unknown to a cache filled before it; the
request naming it must not be refused as "there is no provider called …" until something else
happens to reload the cache.
"""

from datetime import UTC, datetime, time
from uuid import uuid4

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.reservations import ReservationActivities
from core.services.scheduling import CatalogCache, day_availability
from core.temporal.models import BookInput
from tests.booking_helpers import local_day, local_start, unique_phone
from tests.factories import TestOrg


def _request(org: TestOrg, *, provider: str, days_ahead: int) -> BookInput:
    return BookInput(
        org_id=org.id,
        org_slug=org.slug,
        booking_id=uuid4(),
        idempotency_key=f"call-{uuid4()}",
        name="Sam Wilson",
        phone=unique_phone(),
        provider=provider,
        start=local_start(days_ahead=days_ahead, at=time(10)).isoformat(),
    )


async def test_a_provider_added_after_the_cache_was_filled_is_bookable_at_once(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    catalogs = CatalogCache(pool)
    reservations = ReservationActivities(pool, catalogs)
    environment = ActivityEnvironment()

    unknown = await environment.run(
        reservations.reserve_booking, _request(org, provider="Dr. Newcomer", days_ahead=2)
    )
    assert unknown.answer.outcome == "invalid", unknown.answer
    assert "no provider called Dr. Newcomer" in unknown.answer.message

    await pool.execute(
        "INSERT INTO providers (org_id, name, calendar_id) VALUES ($1, 'Dr. Newcomer', 'new')",
        org.id,
    )
    booked = await environment.run(
        reservations.reserve_booking, _request(org, provider="Dr. Newcomer", days_ahead=2)
    )
    assert booked.answer.outcome == "booked", booked.answer
    assert booked.booking is not None and booked.booking.provider_name == "Dr. Newcomer"


async def test_a_service_added_after_the_cache_was_filled_has_availability_at_once(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    catalogs = CatalogCache(pool)
    day, now = local_day(3), datetime.now(UTC)
    await day_availability(
        pool,
        catalogs,
        org_id=org.id,
        provider_name=None,
        service_name=None,
        day=day,
        now=now,
    )
    await pool.execute(
        """INSERT INTO services (org_id, name, duration_minutes, buffer_minutes)
           VALUES ($1, 'Long check-up', 60, 0)""",
        org.id,
    )
    _, service, _, availability = await day_availability(
        pool,
        catalogs,
        org_id=org.id,
        provider_name=None,
        service_name="Long check-up",
        day=day,
        now=now,
    )
    assert service.name == "Long check-up"
    assert availability.starts or availability.next_starts
