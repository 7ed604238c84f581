"""The migrations build the schema, and the schema itself enforces the booking invariants."""

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from asyncpg import Range

from core.domain.statuses import OCCUPYING, BookingStatus
from core.infra.migrate import discover, migrate
from core.repositories import OCCUPYING_SQL
from tests.conftest import MakeOrg, Stack
from tests.factories import TestOrg, insert_contact

# A whole hour years ahead: no other booking of the test's org is near it.
START = (datetime.now(UTC) + timedelta(days=5 * 365)).replace(minute=0, second=0, microsecond=0)


async def _insert_booking(
    pool: asyncpg.Pool,
    org: TestOrg,
    contact_id: uuid.UUID,
    start: datetime,
    minutes: int = 30,
    status: str = "held",
    event_id: str | None = None,
    buffer: int = 0,
) -> uuid.UUID:
    """A booking row written directly; `during` is the appointment plus `buffer` minutes."""
    # Raw SQL on purpose: the schema's constraints, not reserve's own checks, must refuse rows.
    booking_id = uuid.uuid4()
    end = start + timedelta(minutes=minutes)
    reason = "test" if status == "failed" else None  # bookings_failed_has_reason
    await pool.execute(
        """
        INSERT INTO bookings (id, org_id, provider_id, service_id, contact_id, starts_at, ends_at,
                              during, status, calendar_event_id, workflow_id, status_reason)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        booking_id,
        org.id,
        org.provider_id,
        org.service_id,
        contact_id,
        start,
        end,
        Range(start, end + timedelta(minutes=buffer)),
        status,
        event_id,
        f"booking-{booking_id}",
        reason,
    )
    return booking_id


async def test_migrations_build_expected_schema(pool: asyncpg.Pool) -> None:
    tables = {
        r["table_name"]
        for r in await pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
    }
    assert {
        "organizations",
        "providers",
        "services",
        "business_hours",
        "contacts",
        "bookings",
        "sms_messages",
        "booking_events",
        "schema_migrations",
    } <= tables
    constraints = {
        r["conname"]: r["contype"]
        for r in await pool.fetch(
            "SELECT conname, contype::text FROM pg_constraint WHERE conrelid = 'bookings'::regclass"
        )
    }
    assert constraints["bookings_no_overlap"] == "x"  # exclusion
    assert constraints["bookings_confirmed_has_event"] == "c"  # check
    versions = [
        r["version"]
        for r in await pool.fetch("SELECT version FROM schema_migrations ORDER BY version")
    ]
    assert versions == [m.version for m in discover()]
    statuses = await pool.fetchval("SELECT enum_range(NULL::booking_status)::text[]")
    assert statuses == ["held", "confirmed", "cancelled", "failed"]


async def test_the_code_names_the_schemas_booking_statuses(pool: asyncpg.Pool) -> None:
    """BookingStatus is the SQL enum, OCCUPYING what the exclusion constraint counts, and
    OCCUPYING_SQL the list the migrations' functions use: a change on either side fails here."""
    enum = await pool.fetchval("SELECT enum_range(NULL::booking_status)::text[]")
    assert enum == list(BookingStatus)
    constraint = await pool.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'bookings_no_overlap'"
    )
    # e.g. WHERE ((status = ANY (ARRAY['held'::booking_status, 'confirmed'::booking_status])))
    predicate = constraint.partition(" WHERE ")[2]
    assert sorted(re.findall(r"'(\w+)'::booking_status", predicate)) == sorted(OCCUPYING)
    for function in ("provider_busy", "held_by_caller"):
        source = await pool.fetchval("SELECT prosrc FROM pg_proc WHERE proname = $1", function)
        assert f"status IN {OCCUPYING_SQL}" in source, function


async def test_migrate_is_idempotent_and_safe_concurrently(
    stack: Stack, pool: asyncpg.Pool
) -> None:
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    await pool.execute(f'CREATE DATABASE "{name}"')
    dsn = stack.database_url.replace("/postgres?", f"/{name}?")
    first, second = await asyncio.gather(migrate(dsn), migrate(dsn))
    assert sorted(len(r) for r in (first, second)) == [0, len(discover())]
    assert await migrate(dsn) == []
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(discover())
    finally:
        await conn.close()


async def test_overlapping_bookings_of_one_provider_are_rejected(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    contact = await insert_contact(pool, org)
    await _insert_booking(pool, org, contact, START)  # START to START + 30 min
    with pytest.raises(asyncpg.ExclusionViolationError) as caught:
        await _insert_booking(pool, org, contact, START + timedelta(minutes=15))
    assert caught.value.sqlstate == "23P01"
    # Touching ranges are not an overlap, and a cancelled booking frees its time.
    await _insert_booking(pool, org, contact, START + timedelta(minutes=30))
    cancelled = await _insert_booking(
        pool, org, contact, START - timedelta(hours=2), status="cancelled"
    )
    assert cancelled is not None
    await _insert_booking(pool, org, contact, START - timedelta(hours=2))


# Which statuses hold the provider's time: held and confirmed do, failed and cancelled do not.
_HOLDS_TIME = {"held": True, "confirmed": True, "failed": False, "cancelled": False}


def _event_for(status: str) -> str | None:
    return "event-1" if status == "confirmed" else None


@pytest.mark.parametrize("existing", _HOLDS_TIME)
@pytest.mark.parametrize("new", _HOLDS_TIME)
async def test_exclusion_by_status_of_both_bookings(
    pool: asyncpg.Pool, existing: str, new: str, org: TestOrg
) -> None:
    contact = await insert_contact(pool, org)
    await _insert_booking(pool, org, contact, START, status=existing, event_id=_event_for(existing))
    overlapping = START + timedelta(minutes=10)
    if _HOLDS_TIME[existing] and _HOLDS_TIME[new]:
        with pytest.raises(asyncpg.ExclusionViolationError):
            await _insert_booking(
                pool, org, contact, overlapping, status=new, event_id=_event_for(new)
            )
    else:
        await _insert_booking(pool, org, contact, overlapping, status=new, event_id=_event_for(new))


async def test_a_released_booking_cannot_take_its_time_back_once_rebooked(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    contact = await insert_contact(pool, org)
    released = await _insert_booking(pool, org, contact, START, status="failed")
    await _insert_booking(pool, org, contact, START, status="confirmed", event_id="event-2")
    with pytest.raises(asyncpg.ExclusionViolationError):
        await pool.execute("UPDATE bookings SET status = 'held' WHERE id = $1", released)


async def test_the_buffer_in_during_keeps_the_provider_busy(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    contact = await insert_contact(pool, org)
    await _insert_booking(pool, org, contact, START, buffer=15)  # busy 15:00-15:45
    with pytest.raises(asyncpg.ExclusionViolationError):
        await _insert_booking(pool, org, contact, START + timedelta(minutes=30))
    with pytest.raises(asyncpg.ExclusionViolationError):  # its own buffer runs into 15:00
        await _insert_booking(pool, org, contact, START - timedelta(minutes=40), buffer=15)
    await _insert_booking(pool, org, contact, START - timedelta(minutes=45), buffer=15)
    await _insert_booking(pool, org, contact, START + timedelta(minutes=45))


async def test_bookings_of_different_providers_do_not_exclude_each_other(
    pool: asyncpg.Pool, org: TestOrg
) -> None:
    contact = await insert_contact(pool, org)
    other_provider = await pool.fetchval(
        "INSERT INTO providers (org_id, name, calendar_id) VALUES ($1, 'Dr. Other', 'other') "
        "RETURNING id",
        org.id,
    )
    await _insert_booking(pool, org, contact, START)
    colleague = TestOrg(
        org.id, org.slug, other_provider, org.service_id, org.credentials, org.calendar_id
    )
    await _insert_booking(pool, colleague, contact, START)


async def test_confirmed_requires_calendar_event(pool: asyncpg.Pool, org: TestOrg) -> None:
    contact = await insert_contact(pool, org)
    with pytest.raises(asyncpg.CheckViolationError):
        await _insert_booking(pool, org, contact, START, status="confirmed")
    booking = await _insert_booking(pool, org, contact, START)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE bookings SET status = 'confirmed' WHERE id = $1", booking)
    await pool.execute(
        "UPDATE bookings SET status = 'confirmed', calendar_event_id = 'abc123' WHERE id = $1",
        booking,
    )


async def test_status_changes_leave_an_append_only_trail(pool: asyncpg.Pool, org: TestOrg) -> None:
    contact = await insert_contact(pool, org)
    booking = await _insert_booking(pool, org, contact, START + timedelta(days=1))
    await pool.execute(
        "UPDATE bookings SET status = 'failed', status_reason = 'calendar refused' WHERE id = $1",
        booking,
    )
    trail = await pool.fetch(
        "SELECT from_status, to_status, reason FROM booking_events WHERE booking_id = $1 "
        "ORDER BY id",
        booking,
    )
    assert [(r["from_status"], r["to_status"], r["reason"]) for r in trail] == [
        (None, "held", None),
        ("held", "failed", "calendar refused"),
    ]
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("DELETE FROM booking_events WHERE booking_id = $1", booking)


async def test_contacts_unique_by_phone_and_by_email_when_phoneless(
    pool: asyncpg.Pool, org: TestOrg, make_org: MakeOrg
) -> None:
    await insert_contact(pool, org, "+12125550199")
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert_contact(pool, org, "+12125550199")
    insert = "INSERT INTO contacts (org_id, phone, email) VALUES ($1, $2, $3)"
    await pool.execute(insert, org.id, None, "sam@example.com")
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(insert, org.id, None, "sam@example.com")
    # The same email with a phone is another contact path; another org is another wall.
    await pool.execute(insert, org.id, "+12125550188", "sam@example.com")
    other = await make_org()
    await pool.execute(insert, other.id, None, "sam@example.com")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(insert, org.id, None, None)


async def test_booking_cannot_point_at_another_orgs_provider(
    pool: asyncpg.Pool, make_org: MakeOrg
) -> None:
    org, other = await make_org(), await make_org()
    contact = await insert_contact(pool, org)
    foreign = TestOrg(
        org.id, org.slug, other.provider_id, org.service_id, org.credentials, org.calendar_id
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _insert_booking(pool, foreign, contact, START + timedelta(days=3))
