"""Invariant 4: concurrent resolution of one caller yields one contact and never fails."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from activities.contacts import ContactActivities
from core.models import BookingRequest
from tests.booking_helpers import unique_phone
from tests.factories import TestOrg, create_test_org


def _request(org: TestOrg, *, phone: str | None, email: str | None) -> BookingRequest:
    start = datetime.now(UTC) + timedelta(days=1)
    booking_id = uuid4()
    return BookingRequest(
        org_id=org.id,
        booking_id=booking_id,
        workflow_id=f"booking-{booking_id}",
        name="Sam Wilson",
        phone=phone,
        email=email,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        occupied_until=start + timedelta(minutes=30),
        time_zone="America/New_York",
        moved_to_this_year=False,
        provider_id=org.provider_id,
        provider_name="Dr. Test",
        calendar_id=org.calendar_id,
        service_id=org.service_id,
        service_name="Consultation",
        notes=None,
    )


@pytest.mark.parametrize("by", ["phone", "email"])
async def test_twenty_concurrent_resolutions_make_one_contact(pool: asyncpg.Pool, by: str) -> None:
    org = await create_test_org(pool)
    activities = ContactActivities(pool)
    phone = unique_phone() if by == "phone" else None
    email = "sam.wilson@example.com"
    results = await asyncio.gather(
        *(activities.resolve_contact(_request(org, phone=phone, email=email)) for _ in range(20))
    )
    assert len({r.contact_id for r in results}) == 1
    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE org_id = $1", org.id) == 1
