"""The cached org configuration: name lookups as callers use them, and the rules it implies."""

import uuid
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.availability import OpeningHours
from core.domain.catalog import OrgCatalog, ProviderInfo, ServiceInfo
from core.errors import InvalidInput

RIVERA = ProviderInfo(uuid.uuid4(), "Dr. Rivera", "rivera@clinic.example")
OKAFOR = ProviderInfo(uuid.uuid4(), "Dr. Okafor", "okafor@clinic.example")
CHECKUP = ServiceInfo(uuid.uuid4(), "Checkup", timedelta(minutes=30), timedelta(minutes=10))
CATALOG = OrgCatalog(
    org_id=uuid.uuid4(),
    slug="clinic",
    name="Clinic",
    time_zone=ZoneInfo("America/Chicago"),
    default_region="US",
    locale="en-US",
    slot_step=timedelta(minutes=15),
    min_notice=timedelta(hours=2),
    horizon=timedelta(days=60),
    version=7,
    providers=(RIVERA, OKAFOR),
    services=(CHECKUP,),
    hours=(OpeningHours(0, time(9), time(17)),),
)


def test_providers_by_name_any_case_or_by_id_and_the_first_by_default() -> None:
    assert CATALOG.provider(None) is RIVERA
    assert CATALOG.provider("dr. okafor") is OKAFOR
    assert CATALOG.provider("DR. RIVERA") is RIVERA
    assert CATALOG.provider(str(OKAFOR.id)) is OKAFOR


def test_an_unknown_name_is_invalid_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as provider:
        CATALOG.provider("Dr. Who")
    assert provider.value.field == "provider"
    assert provider.value.message == "Sorry, there is no provider called Dr. Who."
    with pytest.raises(InvalidInput) as service:
        CATALOG.service("Massage")
    assert service.value.field == "service"
    with pytest.raises(InvalidInput):
        CATALOG.service_by_id(uuid.uuid4())


def test_the_rules_of_a_service_come_from_the_org_and_the_service() -> None:
    rules = CATALOG.rules(CATALOG.service(None))
    assert rules.tz == ZoneInfo("America/Chicago")
    assert (rules.duration, rules.buffer) == (timedelta(minutes=30), timedelta(minutes=10))
    assert (rules.step, rules.min_notice, rules.horizon) == (
        timedelta(minutes=15),
        timedelta(hours=2),
        timedelta(days=60),
    )
    assert rules.opening_hours == CATALOG.hours


def test_an_offering_by_names_or_by_a_bookings_ids_carries_the_services_rules() -> None:
    asked = CATALOG.offering("dr. okafor", None)
    assert (asked.provider, asked.service) == (OKAFOR, CHECKUP)
    assert asked.rules == CATALOG.rules(CHECKUP)
    assert CATALOG.booked_offering(OKAFOR.id, CHECKUP.id) == asked
    assert CATALOG.provider_by_id(RIVERA.id) is RIVERA


def test_a_booking_whose_provider_or_service_is_gone_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as provider:
        CATALOG.booked_offering(uuid.uuid4(), CHECKUP.id)
    assert provider.value.field == "provider"
    assert provider.value.message == "Sorry, that provider no longer exists."
    with pytest.raises(InvalidInput) as service:
        CATALOG.booked_offering(RIVERA.id, uuid.uuid4())
    assert service.value.field == "service"
