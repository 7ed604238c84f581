"""Builders for test data, going through the same code paths as real callers."""

import uuid
from dataclasses import dataclass
from datetime import time
from uuid import UUID

import asyncpg

from core.orgs import OpeningSpec, OrgCredentials, OrgSpec, ProviderSpec, ServiceSpec, create_org


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


async def create_test_org(pool: asyncpg.Pool, **overrides: object) -> TestOrg:
    spec = org_spec(**overrides)
    credentials = await create_org(pool, spec)
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
