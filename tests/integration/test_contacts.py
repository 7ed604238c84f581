"""Invariant 4: concurrent bookings by one caller resolve one contact and never fail.

Twenty phase-1 reservations of the same caller (by phone, or by email without one) for twenty
different times run at once through the real local activity, in the SDK's activity
environment: each books, and all share one contact row.
"""

import asyncio
from datetime import time, timedelta
from uuid import uuid4

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.reservations import ReservationActivities
from core.services.scheduling import CatalogCache
from core.temporal.models import BookInput
from tests.booking_helpers import local_start, unique_phone
from tests.factories import TestOrg


@pytest.mark.parametrize("by", ["phone", "email"])
async def test_twenty_concurrent_bookings_of_one_caller_make_one_contact(
    pool: asyncpg.Pool, by: str, org: TestOrg
) -> None:
    activities = ReservationActivities(pool, CatalogCache(pool))
    phone = unique_phone() if by == "phone" else None
    first = local_start(days_ahead=2, at=time(8))
    requests = [
        BookInput(
            org_id=org.id,
            org_slug=org.slug,
            booking_id=uuid4(),
            idempotency_key=f"call-{n}",
            name="Sam Wilson",
            phone=phone,
            email="Sam.Wilson@example.com",
            start=(first + timedelta(days=n // 20, minutes=30 * (n % 20))).isoformat(),
        )
        for n in range(20)
    ]
    environment = ActivityEnvironment()
    results = await asyncio.gather(
        *(environment.run(activities.reserve_booking, request) for request in requests)
    )
    assert [r.answer.outcome for r in results] == ["booked"] * 20
    contacts = await pool.fetch("SELECT id, phone, email FROM contacts WHERE org_id = $1", org.id)
    assert [(c["phone"], c["email"]) for c in contacts] == [(phone, "sam.wilson@example.com")]
    owners = await pool.fetch("SELECT DISTINCT contact_id FROM bookings WHERE org_id = $1", org.id)
    assert [o["contact_id"] for o in owners] == [contacts[0]["id"]]
