"""The scenarios: answer latency per concurrency, request-to-confirmed, and contention.

Each runs against a `Target`: the real API (`ours`), the Temporal floor or the baseline app,
each with an org of its own in the same database; ours and the baseline write real rows under
the same exclusion constraint, the floor writes none (its answers are only timed).
"""

import asyncio
import math
import statistics
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from bench.load import Phones, Run, Slot, Slots, booking_id, calls_for, run_calls
from core.domain.org_spec import WEEKDAYS, OpeningSpec, OrgSpec, ProviderSpec, ServiceSpec
from core.repositories import OCCUPYING_SQL
from core.services.orgs import create_org

PROVIDERS = [f"Provider {n}" for n in range(1, 5)]
STEP = timedelta(minutes=15)
CONTENTION_REQUESTS = 100
# How long after the last answer phase 2 may still be finishing and count as keeping up.
KEEPS_UP_WITHIN_S = 5.0
_CONFIRM_TIMEOUT_S = 180.0


@dataclass
class Target:
    name: str  # "ours", "floor" or "baseline"
    url: str
    secret: str
    org_id: UUID
    slots: Slots
    writes_bookings: bool = True  # False for the floor: no rows to check


def org_spec(slug: str) -> OrgSpec:
    """Open around the clock every day for a year, four providers, 15-minute steps: some
    35,000 distinct free 15-minute slots per provider. UTC, so no wall time falls in a DST gap."""
    return OrgSpec(
        slug=slug,
        name=f"Bench {slug}",
        time_zone="UTC",
        sms_sender="+12125550100",
        slot_step_minutes=15,
        min_notice_minutes=60,
        horizon_days=365,
        providers=[
            ProviderSpec(name=p, calendar_id=f"{p.replace(' ', '-')}@bench") for p in PROVIDERS
        ],
        services=[
            ServiceSpec(name="Short", duration_minutes=15),
            ServiceSpec(name="Hour", duration_minutes=60),
        ],
        hours=[OpeningSpec(weekday=day, opens=time(0), closes=time(23, 59)) for day in WEEKDAYS],
    )


async def create_target(
    pool: asyncpg.Pool, name: str, url: str, *, writes_bookings: bool = True
) -> Target:
    credentials = await create_org(pool, org_spec(f"bench-{name}"))
    # Two days ahead: past the minimum notice, and past the 24 h reminder lead, so no reminder
    # SMS joins phase 2 during the run.
    first_day = datetime.now(UTC).date() + timedelta(days=2)
    return Target(
        name=name,
        url=f"{url}/voice/vapi",
        secret=credentials.voice_secret,
        org_id=UUID(credentials.org_id),
        slots=Slots(providers=PROVIDERS, service="Short", first_day=first_day, step=STEP),
        writes_bookings=writes_bookings,
    )


async def latency_level(
    client: httpx.AsyncClient, target: Target, phones: Phones, *, requests: int, concurrency: int
) -> Run:
    calls = calls_for(target.slots.take(requests), phones)
    return await run_calls(client, target.url, target.secret, calls, concurrency)


async def end_to_end(pool: asyncpg.Pool, target: Target, run: Run) -> dict[str, Any]:
    """Wait until every booked answer of `run` is confirmed (or failed), then time each one
    from its request to its `confirmed` row in booking_events (clock_timestamp, same host clock)."""
    booked = run.booked
    ids = [booking_id(target.org_id, a.call) for a in booked]
    await _until_none_held(
        pool, "SELECT count(*) FROM bookings WHERE id = ANY($1) AND status = 'held'", ids
    )
    rows = await pool.fetch(
        """SELECT booking_id, min(at) AS at FROM booking_events
           WHERE booking_id = ANY($1) AND to_status = 'confirmed' GROUP BY booking_id""",
        ids,
    )
    confirmed_at = {row["booking_id"]: row["at"].timestamp() for row in rows}
    seconds = [
        confirmed_at[i] - a.sent_at for i, a in zip(ids, booked, strict=True) if i in confirmed_at
    ]
    if not seconds:
        return {"booked": len(booked), "confirmed": 0}
    first_sent = min(a.sent_at for a in run.answers)
    last_answer = max(a.sent_at + a.seconds for a in run.answers)
    last_confirmed = max(confirmed_at.values())
    lag = last_confirmed - last_answer
    return {
        "booked": len(booked),
        "confirmed": len(seconds),
        "p50_ms": _ms(statistics.median(seconds)),
        "p95_ms": _ms(percentile(seconds, 95)),
        "max_ms": _ms(max(seconds)),
        "confirmed_per_s": round(len(seconds) / (last_confirmed - first_sent), 1),
        "last_confirmed_after_last_answer_s": round(lag, 2),
        "keeps_up": len(seconds) == len(booked) and lag <= KEEPS_UP_WITHIN_S,
    }


async def single_slot(
    client: httpx.AsyncClient, pool: asyncpg.Pool, target: Target, phones: Phones, day: datetime
) -> dict[str, Any]:
    """100 callers at once for one slot: exactly one booked, 99 taken with alternatives."""
    slot = Slot(PROVIDERS[0], "Short", day.replace(hour=10))
    calls = calls_for([slot] * CONTENTION_REQUESTS, phones)
    run = await run_calls(client, target.url, target.secret, calls, CONTENTION_REQUESTS)
    summary = summarize(run)
    if not target.writes_bookings:
        return summary
    held = await _held_or_confirmed(pool, target, day)
    unavailable = [a for a in run.answers if a.outcome == "unavailable"]
    summary |= {
        "rows_held_or_confirmed": held,
        "unavailable_with_alternatives": sum(a.offered_alternatives for a in unavailable),
        "exactly_one": summary["outcomes"].get("booked", 0) == 1
        and held == 1
        and len(unavailable) == CONTENTION_REQUESTS - 1,
    }
    return summary


async def overlapping(
    client: httpx.AsyncClient, pool: asyncpg.Pool, target: Target, phones: Phones, day: datetime
) -> dict[str, Any]:
    """100 callers at once for 60-minute appointments starting every 15 minutes from 10:00 to
    11:00 with one provider: at most two fit (10:00 and 11:00), and no two may overlap."""
    starts = [day.replace(hour=10) + n * STEP for n in range(5)]
    slots = [
        Slot(PROVIDERS[0], "Hour", starts[n % len(starts)]) for n in range(CONTENTION_REQUESTS)
    ]
    run = await run_calls(client, target.url, target.secret, calls_for(slots, phones), len(slots))
    summary = summarize(run)
    if not target.writes_bookings:
        return summary
    summary |= {
        "rows_held_or_confirmed": await _held_or_confirmed(pool, target, day),
        "overlapping_pairs": await overlapping_pairs(pool, target.org_id),
    }
    return summary


async def wait_until_settled(pool: asyncpg.Pool, org_id: UUID) -> None:
    """Until no booking of the org is still `held` (phase 2 done), or the timeout."""
    await _until_none_held(
        pool, "SELECT count(*) FROM bookings WHERE org_id = $1 AND status = 'held'", org_id
    )


async def _until_none_held(pool: asyncpg.Pool, count_held: str, *args: object) -> None:
    """Poll `count_held` (a count of bookings still `held`) until it is 0, or the timeout."""
    waited_from = clock.perf_counter()
    while clock.perf_counter() - waited_from < _CONFIRM_TIMEOUT_S:
        if await pool.fetchval(count_held, *args) == 0:
            return
        await asyncio.sleep(0.25)


async def overlapping_pairs(pool: asyncpg.Pool, org_id: UUID) -> int:
    """Pairs of held/confirmed bookings of one provider whose times overlap: must be 0."""
    count: int = await pool.fetchval(
        f"""SELECT count(*) FROM bookings a JOIN bookings b
             ON a.provider_id = b.provider_id AND a.id < b.id AND a.during && b.during
           WHERE a.org_id = $1 AND b.org_id = $1
             AND a.status IN {OCCUPYING_SQL} AND b.status IN {OCCUPYING_SQL}""",
        org_id,
    )
    return count


async def _held_or_confirmed(pool: asyncpg.Pool, target: Target, day: datetime) -> int:
    start = day.replace(tzinfo=UTC)
    count: int = await pool.fetchval(
        f"""SELECT count(*) FROM bookings WHERE org_id = $1 AND status IN {OCCUPYING_SQL}
             AND starts_at >= $2 AND starts_at < $3""",
        target.org_id,
        start,
        start + timedelta(days=1),
    )
    return count


def summarize(run: Run) -> dict[str, Any]:
    seconds = sorted(a.seconds for a in run.answers)
    outcomes: dict[str, int] = {}
    for answer in run.answers:
        outcomes[answer.outcome] = outcomes.get(answer.outcome, 0) + 1
    return {
        "requests": len(run.answers),
        "p50_ms": _ms(statistics.median(seconds)),
        "p95_ms": _ms(percentile(seconds, 95)),
        "p99_ms": _ms(percentile(seconds, 99)),
        "max_ms": _ms(seconds[-1]),
        "answers_per_s": round(run.answers_per_second, 1),
        "outcomes": outcomes,
        "error_samples": sorted({a.text[:160] for a in run.answers if a.outcome == "error"})[:3],
    }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: it is a latency some request really had)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def contention_day(offset: int) -> datetime:
    """A day far from the latency levels' slots, as a naive local midnight."""
    first = datetime.now(UTC).date() + timedelta(days=offset)
    return datetime.combine(first, datetime.min.time())
