"""Helpers for tests that book: times in the test org's zone, unique callers, waiting on state."""

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import phonenumbers
from temporalio.client import Client

from core.config import Settings
from core.models import BookResult
from tests.factories import TestOrg
from workflows.client import book_input, request_booking, timings_from

NEW_YORK = ZoneInfo("America/New_York")
T = TypeVar("T")


def local_start(days_ahead: int = 1, at: time = time(10)) -> datetime:
    """A wall time `days_ahead` days from today in the test org's zone (open 08:00-20:00 daily)."""
    day = datetime.now(NEW_YORK).date() + timedelta(days=days_ahead)
    return datetime.combine(day, at, tzinfo=NEW_YORK)


def unique_phone() -> str:
    """A valid New York number no other test is likely to use, so SMS counts in the shared
    sandbox are per test (one 555 exchange gave 10,000 numbers, and a full run, fuzzing and
    reliability loads included, sends enough texts to collide)."""
    while True:
        candidate = f"+1212{random.randint(200, 999)}{random.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            return candidate


async def book(
    client: Client,
    settings: Settings,
    org: TestOrg,
    *,
    start: datetime | str,
    key: str | None = None,
    **fields: object,
) -> BookResult:
    fields.setdefault("name", "sam wilson")
    request = book_input(
        org_id=org.id,
        org_slug=org.slug,
        idempotency_key=key or f"call-{uuid4()}",
        start=start if isinstance(start, str) else start.isoformat(),
        **fields,
    )
    return await request_booking(
        client, request, task_queue=settings.temporal_task_queue, timings=timings_from(settings)
    )


async def wait_for_status(
    pool: asyncpg.Pool, booking_id: UUID, statuses: set[str], timeout: float = 30
) -> asyncpg.Record:
    """Poll the booking row until its status is one of `statuses`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = await pool.fetchrow(
            "SELECT status::text, calendar_event_id, status_reason FROM bookings WHERE id = $1",
            booking_id,
        )
        if row is not None and row["status"] in statuses:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"booking {booking_id} is {row and row['status']}, not {statuses}")
        await asyncio.sleep(0.1)


async def sms_rows(pool: asyncpg.Pool, booking_id: UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT kind, send_key, status, error_code, twilio_sid FROM sms_messages "
        "WHERE booking_id = $1 ORDER BY created_at",
        booking_id,
    )


async def wait_until(
    predicate: Callable[[], Awaitable[T | None]], *, timeout: float = 30, what: str
) -> T:
    """Poll `predicate` until it returns something truthy and return that; AssertionError
    naming `what` at the deadline. A wait on a condition, never on a guessed duration."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout} s: {what}")
        await asyncio.sleep(0.05)
