"""What every fuzz test checks, and the Hypothesis settings they share.

`Ledger` keeps one org's state between Hypothesis examples (they share the test's org): the
bookings the API said it made, a snapshot of the org's rows before each request, and `settle`,
which waits until the booking workflows have finished writing (confirmation SMS, calendar), so
that "nothing changed" can be checked exactly after a request that should write nothing.
"""

import asyncio
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg
import httpx
from hypothesis import HealthCheck, settings
from temporalio.client import Client

from tests.factories import TestOrg
from tests.fuzz.strategies import KNOWN_TOKEN
from tests.voice_helpers import org_row_counts

# FUZZ_SCALE=10 runs ten times the examples (a deeper local run); FUZZ_RANDOM=1 draws new
# examples each run instead of the fixed, reproducible sequence CI runs.
_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
_RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
_UNKNOWN_NAMESPACE = UUID("0b6a4c1e-2f0d-4b8e-9d7c-5a1e3f2b6c4d")


def fuzz_settings(max_examples: int) -> settings:
    """Reproducible by default: derandomize draws the same examples on every run and machine
    (seeded from the test's name), and with no example database nothing a past run saved can
    change what runs. Deadlines are off: a booking's latency is the stack's, not the input's."""
    return settings(
        max_examples=max(1, int(max_examples * _SCALE)),
        deadline=None,
        derandomize=not _RANDOM,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # the org and app are per test, on purpose
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


NO_ROWS_CHANGED = "a request refused or answered without booking changed the org's rows"


@dataclass(frozen=True)
class Snapshot:
    counts: dict[str, int]
    bookings: frozenset[tuple[UUID, str, datetime]]

    @property
    def booking_ids(self) -> set[UUID]:
        return {row[0] for row in self.bookings}


@dataclass
class Ledger:
    pool: asyncpg.Pool
    temporal: Client
    org: TestOrg
    known: list[UUID] = field(default_factory=list)
    # Vapi call ids already answered "Booked": asking again joins that booking.
    booked_calls: set[str] = field(default_factory=set)

    def resolve(self, raw: bytes) -> bytes:
        """`raw` with each known-booking token replaced by that booking's id (or, before any
        booking exists, an id no booking has)."""

        def booking_id(match: re.Match[bytes]) -> bytes:
            index = int(match.group(1))
            if not self.known:
                return str(uuid5(_UNKNOWN_NAMESPACE, str(index))).encode()
            return str(self.known[index % len(self.known)]).encode()

        return KNOWN_TOKEN.sub(booking_id, raw)

    def resolve_text(self, text: str) -> str:
        return self.resolve(text.encode("utf-8", "surrogatepass")).decode("utf-8", "surrogatepass")

    async def snapshot(self) -> Snapshot:
        rows = await self.pool.fetch(
            "SELECT id, status::text, starts_at FROM bookings WHERE org_id = $1", self.org.id
        )
        return Snapshot(
            counts=await org_row_counts(self.pool, self.org),
            bookings=frozenset((r["id"], r["status"], r["starts_at"]) for r in rows),
        )

    def learn(self, booking_ids: set[UUID]) -> None:
        for booking_id in sorted(booking_ids - set(self.known)):
            self.known.append(booking_id)

    async def check_writes(
        self,
        before: Snapshot,
        *,
        booked: set[UUID] | None = None,
        new_bookings: int | None = None,
        may_write: bool,
        what: str,
    ) -> None:
        """After a request: every booking the API said it made exists (`booked`, when the
        answers name them; else `new_bookings`, how many new ones the answers announced), no
        other booking appeared, and when nothing could have been written (no answer booked,
        moved or cancelled) the org's rows are exactly as before. Then wait for the workflows."""
        after = await self.snapshot()
        appeared = after.booking_ids - before.booking_ids
        if booked is None:
            assert new_bookings is not None
            assert len(appeared) == new_bookings, f"{what}: {len(appeared)} new: {appeared}"
            booked = appeared
        missing = booked - after.booking_ids
        assert not missing, f"{what}: answered as booked but not in the database: {missing}"
        assert appeared <= booked, f"{what}: bookings nobody was told about: {appeared - booked}"
        assert after.counts["contacts"] - before.counts["contacts"] <= len(appeared), what
        if not may_write:
            assert after == before, f"{NO_ROWS_CHANGED}: {what}\n{before}\n{after}"
            return
        self.learn(booked)
        await self.settle()

    async def settle(self, timeout: float = 30) -> None:
        """Wait until no booking of the org is held and no workflow has an activity or
        workflow task pending, twice in a row: what phase 2 and a change's follow-ups (SMS,
        calendar) write has then been written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 2:
            quiet = quiet + 1 if await self._quiet() else 0
            if loop.time() > deadline:
                raise AssertionError(f"org {self.org.slug}: workflows still busy after {timeout}s")
            await asyncio.sleep(0.05)

    async def _quiet(self) -> bool:
        rows = await self.pool.fetch(
            "SELECT status::text, workflow_id FROM bookings WHERE org_id = $1", self.org.id
        )
        for row in rows:
            if row["status"] == "held":
                return False
            raw = await self.temporal.get_workflow_handle(row["workflow_id"]).describe()
            description = raw.raw_description
            if description.pending_activities or description.HasField("pending_workflow_task"):
                return False
        return True


# What the tool layer says when something broke on our side: a bug, whatever the input.
OUR_FAULT = ("went wrong", "technical problem", "system is busy")


def assert_speakable(text: object, what: str) -> None:
    """One line an agent can read out (core.domain.speech.one_line): text, no control characters or
    line breaks, at most 300 characters, and not an apology for a failure on our side."""
    assert isinstance(text, str) and text, what
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text), what
    assert len(text) <= 300, what
    assert not any(words in text for words in OUR_FAULT), what


def assert_error_body(response: httpx.Response) -> dict[str, Any]:
    """The REST error shape: {"error": {"code", "message", ...}}, and no trace of a crash."""
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), response.text
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), body
    assert error["code"] != "internal_error", body
    assert "Traceback" not in response.text
    return error


def assert_not_5xx(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
