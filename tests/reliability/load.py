"""A booking load through the real REST entry point, with every caller's outcome recorded.

`plan_calls` builds the callers (distinct phones, distinct slots plus some contested ones);
`run_load` sends them at a fixed concurrency through `POST /bookings` and classifies each
answer; `retry_retryable` repeats, with the same idempotency key, every call that got a
retryable error, as a voice agent would once the backend is back.
"""

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any, Literal
from uuid import UUID

import httpx
import phonenumbers

from tests.booking_helpers import NEW_YORK
from tests.factories import TestOrg

Kind = Literal["booked", "unavailable", "invalid", "retryable", "unexpected"]
ANSWERS: frozenset[Kind] = frozenset({"booked", "unavailable", "invalid"})
# Opening hours of the test org (08:00-20:00 every day) in 30-minute slots.
_SLOTS_PER_DAY = 24


@dataclass(frozen=True)
class BookingCall:
    """One caller: an idempotency key (the tool-call id), their number and the wanted start."""

    key: str
    phone: str
    start: datetime
    name: str = "Sam Wilson"

    def body(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "start": self.start.isoformat()}


@dataclass
class Attempt:
    kind: Kind
    status: int | None
    detail: str
    took: float = 0.0


@dataclass
class CallOutcome:
    """Every attempt of one call, oldest first; `kind` is the latest one's."""

    call: BookingCall
    attempts: list[Attempt] = field(default_factory=list)
    booking_id: UUID | None = None

    @property
    def kind(self) -> Kind:
        return self.attempts[-1].kind

    def describe(self) -> str:
        tried = "; ".join(
            f"{a.kind} {a.status} after {a.took:.1f}s: {a.detail[:200]}" for a in self.attempts
        )
        return f"call {self.call.key} ({self.call.start:%m-%d %H:%M}): {tried}"


class Progress:
    """How many first attempts have been answered; scenarios wait on it to strike mid-load."""

    def __init__(self) -> None:
        self.answered = 0
        self._changed = asyncio.Condition()

    async def record(self) -> None:
        async with self._changed:
            self.answered += 1
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 120) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.answered >= count)


def distinct_phones(count: int, rng: random.Random) -> list[str]:
    """`count` different valid US numbers outside the 212-555 range other tests use."""
    phones: set[str] = set()
    while len(phones) < count:
        candidate = f"+1646{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
            phones.add(candidate)
    return sorted(phones)


def plan_calls(
    count: int, *, contested: int, copies: int, first_day: date, seed: int, prefix: str
) -> list[BookingCall]:
    """`count` requests in a shuffled order: callers wanting distinct 30-minute slots from
    `first_day` on, `contested` more callers each wanting a slot another caller also wants,
    and `copies` repeats of a caller's request (same key: the voice platform retrying)."""
    rng = random.Random(seed)
    distinct = count - contested - copies
    starts = [
        datetime.combine(first_day + timedelta(days=i // _SLOTS_PER_DAY), clock(8), NEW_YORK)
        + timedelta(minutes=30 * (i % _SLOTS_PER_DAY))
        for i in range(distinct)
    ]
    starts += rng.sample(starts, contested)
    phones = distinct_phones(len(starts), rng)
    calls = [
        BookingCall(key=f"{prefix}-{i:03d}", phone=phone, start=start)
        for i, (start, phone) in enumerate(zip(starts, phones, strict=True))
    ]
    calls += rng.sample(calls, copies)
    rng.shuffle(calls)
    return calls


def _classify(response: httpx.Response) -> tuple[Kind, dict[str, Any] | None]:
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if status == 201 and isinstance(body, dict) and body.get("outcome") == "booked":
        return "booked", body
    error = body.get("error") if isinstance(body, dict) else None
    if status == 409 and isinstance(error, dict) and error.get("code") == "slot_unavailable":
        return "unavailable", body
    if status == 422:
        return "invalid", body
    if status == 503 and "try again" in response.text.lower():
        return "retryable", body
    return "unexpected", body


async def call_once(
    http: httpx.AsyncClient,
    org: TestOrg,
    outcome: CallOutcome,
    *,
    timeout: float,
) -> Kind:
    """One attempt of `outcome.call`, recorded in `outcome`; nothing escapes but cancellation."""
    headers = {
        "Authorization": f"Bearer {org.credentials.api_key}",
        "Idempotency-Key": outcome.call.key,
    }
    began = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            response = await http.post("/bookings", json=outcome.call.body(), headers=headers)
    except TimeoutError:
        attempt = Attempt("unexpected", None, f"no answer within {timeout:g}s")
    except Exception as error:  # recorded and asserted on: the load must see every failure
        # (in-process, an exception the app did not handle reaches us; a server answers 500)
        attempt = Attempt("unexpected", None, f"raised {error!r}")
    else:
        kind, body = _classify(response)
        if kind == "booked" and body is not None:
            booking_id = UUID(body["booking_id"])
            if outcome.booking_id not in (None, booking_id):
                kind = "unexpected"  # a retry with the same key must land on the same booking
            outcome.booking_id = booking_id
        attempt = Attempt(kind, response.status_code, response.text)
    attempt.took = time.monotonic() - began
    outcome.attempts.append(attempt)
    return attempt.kind


async def run_load(
    http: httpx.AsyncClient,
    org: TestOrg,
    calls: list[BookingCall],
    *,
    concurrency: int,
    progress: Progress,
    timeout: float,
) -> list[CallOutcome]:
    """Send every call once, `concurrency` at a time; each answer or error is recorded."""
    outcomes = [CallOutcome(call) for call in calls]
    limit = asyncio.Semaphore(concurrency)

    async def one(outcome: CallOutcome) -> None:
        async with limit:
            await call_once(http, org, outcome, timeout=timeout)
        await progress.record()

    await asyncio.gather(*(one(o) for o in outcomes))
    return outcomes


async def retry_retryable(
    http: httpx.AsyncClient,
    org: TestOrg,
    outcomes: list[CallOutcome],
    *,
    timeout: float,
    within: float = 30,
) -> None:
    """Repeat each call without a real answer (a "try again", or anything unexpected) with its
    own key until it gets one, for at most `within` seconds; a few callers at a time."""
    limit = asyncio.Semaphore(10)
    deadline = asyncio.get_running_loop().time() + within

    async def until_answered(outcome: CallOutcome) -> None:
        while outcome.kind not in ANSWERS and asyncio.get_running_loop().time() < deadline:
            async with limit:
                kind = await call_once(http, org, outcome, timeout=timeout)
            if kind not in ANSWERS:
                await asyncio.sleep(0.5)

    await asyncio.gather(*(until_answered(o) for o in outcomes if o.kind not in ANSWERS))


def assert_first_answers(outcomes: list[CallOutcome]) -> Counter[str]:
    """Every first attempt was an answer or a retryable error; returns their tally."""
    first: Counter[str] = Counter(o.attempts[0].kind for o in outcomes)
    escaped = [o for o in outcomes if o.attempts[0].kind == "unexpected"]
    kinds = Counter(o.attempts[0].detail.split("(")[0] for o in escaped)
    assert not escaped, (
        f"{len(escaped)} callers got neither an answer nor a retryable error "
        f"({dict(kinds)}):\n" + "\n".join(o.describe() for o in escaped[:10])
    )
    return first


def assert_all_answered(outcomes: list[CallOutcome]) -> None:
    """After the retries every caller has a real answer."""
    unanswered = [o.describe() for o in outcomes if o.kind not in ANSWERS]
    assert not unanswered, f"{len(unanswered)} callers never got a real answer:\n" + (
        "\n".join(unanswered[:10])
    )
