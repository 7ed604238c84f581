"""Helpers for tests that book: times in the test org's zone, unique callers, waiting on state."""

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import phonenumbers
from temporalio.client import Client

from core.infra.config import Settings
from core.temporal.models import BookResult
from sandbox.runner import Sandboxes
from tests.factories import TestOrg
from worker.main import BookingWorkers
from workflows.client import book_input, request_booking, timings_from

NEW_YORK = ZoneInfo("America/New_York")
T = TypeVar("T")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def local_start(days_ahead: int = 1, at: time = time(10)) -> datetime:
    """A wall time `days_ahead` days from today in the test org's zone (open 08:00-20:00 daily)."""
    day = datetime.now(NEW_YORK).date() + timedelta(days=days_ahead)
    return datetime.combine(day, at, tzinfo=NEW_YORK)


def local_day(days_ahead: int = 1) -> date:
    """The date `days_ahead` days from today in the test org's zone."""
    return local_start(days_ahead).date()


def weekday_name(day: date) -> str:
    """The `OpeningSpec.weekday` spelling of `day`'s weekday ("mon" ... "sun")."""
    return _WEEKDAYS[day.weekday()]


def dst_days(tz: ZoneInfo = NEW_YORK) -> tuple[date, date]:
    """The next day after today on which `tz` springs forward, and the next one it falls back.

    From the zone's rules, not a calendar: tests about those days keep working every year.
    """
    today = datetime.now(tz).date()
    spring: date | None = None
    fall: date | None = None
    for ahead in range(1, 2 * 366):
        day = today + timedelta(days=ahead)
        before = datetime.combine(day, time(0), tz).utcoffset()
        after = datetime.combine(day + timedelta(days=1), time(0), tz).utcoffset()
        assert before is not None and after is not None
        if spring is None and after > before:
            spring = day
        if fall is None and after < before:
            fall = day
        if spring is not None and fall is not None:
            return spring, fall
    raise AssertionError(f"{tz.key} changes its clocks neither way in the next two years")


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


@dataclass(frozen=True)
class BookingEnv:
    """What a test that books usually works with (the `booking_env` fixture): settings pointed
    at the sandboxes, the Temporal client, the pool, the sandboxes, the workers polling the
    settings' task queue, and a fresh org."""

    settings: Settings
    temporal: Client
    pool: asyncpg.Pool
    sandboxes: Sandboxes
    workers: BookingWorkers
    org: TestOrg

    async def book(
        self,
        *,
        start: datetime | str,
        key: str | None = None,
        org: TestOrg | None = None,
        settings: Settings | None = None,
        **fields: object,
    ) -> BookResult:
        """`book` for this env's org on its settings, unless another `org` or `settings` is
        given (a second org, a changed lead time)."""
        return await book(
            self.temporal,
            settings or self.settings,
            org or self.org,
            start=start,
            key=key,
            **fields,
        )

    async def book_confirmed(
        self,
        start: datetime,
        *,
        phone: str | None = None,
        org: TestOrg | None = None,
        settings: Settings | None = None,
    ) -> UUID:
        """A booking made the normal way, once it is confirmed (calendar event written):
        its id."""
        answer = await self.book(
            start=start, phone=phone or unique_phone(), org=org, settings=settings
        )
        assert answer.outcome == "booked", answer.message
        assert answer.booking_id is not None
        await wait_for_status(self.pool, answer.booking_id, {"confirmed"})
        return answer.booking_id


async def wait_until(
    predicate: Callable[[], Awaitable[T] | T], *, timeout: float = 30, what: str
) -> T:
    """Poll `predicate` (sync or async) until it returns something truthy, and return that.

    Tests wait on the state they need instead of sleeping for a guessed time; past `timeout`
    seconds the test fails naming `what` it waited for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


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


async def wait_for_phase2(
    pool: asyncpg.Pool, booking_id: UUID, timeout: float = 30
) -> asyncpg.Record:
    """Until phase 2 is over: the booking confirmed and then its confirmation text handled
    (sent, refused or skipped), which comes after the confirmation."""
    row = await wait_for_status(pool, booking_id, {"confirmed"}, timeout=timeout)

    async def text_handled() -> bool:
        settled = await pool.fetchval(
            """SELECT twilio_sid IS NOT NULL OR status IN ('failed', 'skipped')
               FROM sms_messages WHERE booking_id = $1 AND kind = 'confirmation'""",
            booking_id,
        )
        return bool(settled)

    await wait_until(text_handled, timeout=timeout, what="the confirmation text handled")
    return row


async def sms_rows(pool: asyncpg.Pool, booking_id: UUID) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT kind, send_key, status, error_code, twilio_sid FROM sms_messages "
        "WHERE booking_id = $1 ORDER BY created_at",
        booking_id,
    )


async def unanswered_requests(
    sandboxes: Sandboxes, org: TestOrg, phone: str
) -> list[dict[str, Any]]:
    """Requests to the org's calendar and texts to `phone` the sandboxes have not answered yet."""
    calendar = await sandboxes.calendar.unanswered(path_contains=org.calendar_id)
    twilio = [
        r for r in await sandboxes.twilio.unanswered() if (r["body"] or {}).get("To") == phone
    ]
    return calendar + twilio


async def wait_until_answered(sandboxes: Sandboxes, org: TestOrg, phone: str) -> None:
    """Until no request of the booking is left in the sandboxes: a duplicate on its way would
    be created by then, and counted."""

    async def none_left() -> bool:
        return await unanswered_requests(sandboxes, org, phone) == []

    await wait_until(none_left, timeout=30, what="every calendar and Twilio request answered")
