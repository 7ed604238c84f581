"""The load generator: Vapi-shaped `book_appointment` calls sent at a fixed concurrency.

One httpx.AsyncClient for a whole run (connection limits above the concurrency, so no request
waits for a connection), `concurrency` senders taking calls from one list, and each answer
timed from just before the request is written to just after its body is read.
"""

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import httpx
import phonenumbers

from api.voice import vapi
from core.domain.ids import booking_id_for

Outcome = Literal["booked", "unavailable", "error"]
# The start of our "taken" answer; the baseline answers with it too, so both read alike.
TAKEN = "That time is already taken."
_ALTERNATIVES = "The next free times are"


@dataclass(frozen=True, slots=True)
class Slot:
    provider: str
    service: str
    start: datetime  # local wall time in the org's zone, naive


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call: its id (the idempotency key) and what it asks for."""

    id: str
    slot: Slot
    phone: str


@dataclass(slots=True)
class Answer:
    call: Call
    sent_at: float  # epoch seconds, comparable with Postgres clock_timestamp()
    seconds: float
    outcome: Outcome
    text: str
    offered_alternatives: bool


@dataclass(slots=True)
class Run:
    answers: list[Answer] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def answers_per_second(self) -> float:
        return len(self.answers) / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def booked(self) -> list[Answer]:
        """The answers that booked, in completion order."""
        return [a for a in self.answers if a.outcome == "booked"]


class Slots:
    """Distinct free slots, handed out once each: day by day, time by time, provider by
    provider (so concurrent requests spread over providers as real calls would)."""

    def __init__(
        self, *, providers: list[str], service: str, first_day: date, step: timedelta
    ) -> None:
        self._iterator = self._generate(providers, service, first_day, step)

    @staticmethod
    def _generate(
        providers: list[str], service: str, first_day: date, step: timedelta
    ) -> Iterator[Slot]:
        for day_offset in itertools.count():
            day = datetime.combine(first_day + timedelta(days=day_offset), datetime.min.time())
            # Starts that fit inside 00:00-23:59 with a one-step service.
            for index in range(int(timedelta(days=1) / step) - 1):
                for provider in providers:
                    yield Slot(provider, service, day + index * step)

    def take(self, count: int) -> list[Slot]:
        return list(itertools.islice(self._iterator, count))


class Phones:
    """Distinct valid US numbers, so every request is a new caller (a new contact row)."""

    def __init__(self) -> None:
        self._counter = itertools.count(2_000_000)

    def next(self) -> str:
        while True:
            candidate = f"+1212{next(self._counter):07d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate


def booking_id(org_id: UUID, call: Call) -> UUID:
    """The id of the booking `call` made: the API derives it from the Vapi tool-call id."""
    return booking_id_for(org_id, vapi.idempotency_key(call.id))


def calls_for(slots: list[Slot], phones: Phones) -> list[Call]:
    return [Call(id=f"call_{uuid.uuid4().hex}", slot=s, phone=phones.next()) for s in slots]


def vapi_body(call: Call) -> bytes:
    """The body Vapi sends for one tool call (the SDK shape: arguments as a JSON string)."""
    arguments = {
        "name": "Bench Caller",
        "start": call.slot.start.isoformat(timespec="minutes"),
        "provider": call.slot.provider,
        "service": call.slot.service,
    }
    message: dict[str, Any] = {
        "type": "tool-calls",
        "call": {"id": f"vapi-call-{call.id}", "customer": {"number": call.phone}},
        "toolCallList": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": "book_appointment", "arguments": json.dumps(arguments)},
            }
        ],
    }
    return json.dumps({"message": message}).encode()


def new_client(concurrency: int) -> httpx.AsyncClient:
    # Voice platforms give up after 20 s; a little more here so a slow answer is still measured.
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(25.0))


async def run_calls(
    client: httpx.AsyncClient, url: str, secret: str, calls: list[Call], concurrency: int
) -> Run:
    """Send every call, at most `concurrency` in flight; answers in completion order."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    bodies = [(call, vapi_body(call)) for call in calls]  # built before the clock starts
    pending = iter(bodies)
    run = Run()

    async def sender() -> None:
        for call, body in pending:
            run.answers.append(await _send(client, url, headers, call, body))

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    run.wall_seconds = time.perf_counter() - started
    return run


async def _send(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], call: Call, body: bytes
) -> Answer:
    sent_at = time.time()
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers)
        seconds = time.perf_counter() - started
        result = response.json()["results"][0] if response.status_code == 200 else {}
        text = result.get("result") or result.get("error") or f"HTTP {response.status_code}"
    except (httpx.HTTPError, ValueError, LookupError) as error:
        seconds = time.perf_counter() - started
        text = f"{type(error).__name__}: {error}"
    outcome: Outcome = "error"
    if text.startswith("Booked:"):
        outcome = "booked"
    elif text.startswith(TAKEN):
        outcome = "unavailable"
    return Answer(call, sent_at, seconds, outcome, text, _ALTERNATIVES in text)
