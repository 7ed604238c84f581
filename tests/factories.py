"""Builders for test data, going through the same code paths as real callers."""

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from core.domain.ids import booking_workflow_id
from core.domain.org_spec import OpeningSpec, OrgSpec, ProviderSpec, ServiceSpec
from core.domain.statuses import BookingStatus
from core.infra.secret_box import SecretBox
from core.repositories import bookings as booking_repo
from core.repositories import catalog as catalog_repo
from core.repositories import reservations
from core.services.orgs import OrgCredentials, create_org
from core.vendors.calendar import event_id_for_booking


@dataclass(frozen=True)
class TestOrg:
    __test__ = False  # not a pytest test class

    id: UUID
    slug: str
    provider_id: UUID
    service_id: UUID
    credentials: OrgCredentials
    calendar_id: str


def org_spec(**overrides: object) -> OrgSpec:
    """A clinic open every day 08:00-20:00 New York time, so tests do not depend on the weekday."""
    slug = f"org-{uuid.uuid4().hex[:10]}"
    values: dict[str, object] = {
        "slug": slug,
        "name": "Test Clinic",
        "time_zone": "America/New_York",
        "default_region": "US",
        "sms_sender": "+12125550100",
        "min_notice_minutes": 0,
        "providers": [ProviderSpec(name="Dr. Test", calendar_id=f"dr-test-{slug}@clinic.example")],
        "services": [ServiceSpec(name="Consultation", duration_minutes=30)],
        "hours": [
            OpeningSpec(weekday=day, opens=time(8), closes=time(20))
            for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    }
    values.update(overrides)
    return OrgSpec.model_validate(values)


async def create_test_org(
    pool: asyncpg.Pool, *, secrets: SecretBox | None = None, **overrides: object
) -> TestOrg:
    spec = org_spec(**overrides)
    credentials = await create_org(pool, spec, secrets=secrets)
    org_id = UUID(credentials.org_id)
    provider_id = await pool.fetchval(
        "SELECT id FROM providers WHERE org_id = $1 ORDER BY created_at LIMIT 1", org_id
    )
    service_id = await pool.fetchval(
        "SELECT id FROM services WHERE org_id = $1 ORDER BY created_at LIMIT 1", org_id
    )
    return TestOrg(
        org_id, spec.slug, provider_id, service_id, credentials, spec.providers[0].calendar_id
    )


async def insert_contact(pool: asyncpg.Pool, org: TestOrg, phone: str = "+12125550123") -> UUID:
    contact_id: UUID = await pool.fetchval(
        "INSERT INTO contacts (org_id, phone, name) VALUES ($1, $2, 'Sam Wilson') RETURNING id",
        org.id,
        phone,
    )
    return contact_id


async def reserve(
    pool: asyncpg.Pool,
    org: TestOrg,
    start: datetime,
    *,
    phone: str,
    name: str = "Sam Wilson",
    minutes: int = 30,
    booking_id: UUID | None = None,
    version: int | None = None,
) -> reservations.Reservation:
    """Phase 1's own statement for the org's first provider and service, without a workflow
    behind it; at the org's current configuration version unless `version` is given."""
    current = await catalog_repo.version(pool, org_id=org.id)
    assert current is not None
    booking_id = booking_id or uuid.uuid4()
    end = start + timedelta(minutes=minutes)
    return await reservations.reserve(
        pool,
        org_id=org.id,
        config_version=version if version is not None else current,
        booking_id=booking_id,
        workflow_id=booking_workflow_id(booking_id),
        provider_id=org.provider_id,
        service_id=org.service_id,
        phone=phone,
        email=None,
        name=name,
        starts_at=start,
        ends_at=end,
        occupied_until=end,
        notes=None,
        window=(start - timedelta(days=1), start + timedelta(days=31)),
    )


async def insert_booking(
    pool: asyncpg.Pool,
    org: TestOrg,
    start: datetime,
    *,
    phone: str,
    status: str = BookingStatus.HELD,
    **reserving: Any,
) -> UUID:
    """A booking without a workflow behind it: made by phase 1's own statement (`reserve`,
    which `reserving` is passed to), then taken to `status` by the repository functions the
    activities use (a failed one with the reason "test", a cancelled one "caller cancelled")."""
    made = await reserve(pool, org, start, phone=phone, **reserving)
    assert made.outcome == "booked" and made.booking is not None, made
    booking_id = made.booking.booking_id
    match status:
        case BookingStatus.CONFIRMED:
            event_id = event_id_for_booking(booking_id)
            await booking_repo.confirm(
                pool, org_id=org.id, booking_id=booking_id, event_id=event_id
            )
        case BookingStatus.FAILED:
            await booking_repo.mark_failed(
                pool, org_id=org.id, booking_id=booking_id, reason="test"
            )
        case BookingStatus.CANCELLED:
            reason = "caller cancelled"
            await booking_repo.cancel(pool, org_id=org.id, booking_id=booking_id, reason=reason)
    return booking_id
