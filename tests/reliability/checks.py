"""The invariants every reliability scenario ends with, each failing with a message that says
which booking broke what.

`check_invariants` waits (bounded) until no booking of the org is `held`, then checks answers
against rows, each booking's end state, the SMS and calendar side effects against the
sandboxes, overlaps in SQL, and `booking audit` (grace 0).
"""

import asyncio
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
from temporalio.client import Client

from core.ops.audit import AuditOptions, Finding, run_audit
from sandbox.runner import Sandboxes
from tests.booking_helpers import wait_until
from tests.factories import TestOrg
from tests.reliability.load import CallOutcome

SETTLED = frozenset({"confirmed", "failed", "cancelled"})
_SMS_SENT = frozenset({"queued", "sending", "sent", "delivered"})


@dataclass(frozen=True)
class Settled:
    """The org's bookings once none is held: counts by status, for the scenario's report."""

    statuses: Counter[str]
    rows: list[asyncpg.Record]


async def wait_until_settled(pool: asyncpg.Pool, org: TestOrg, timeout: float) -> Settled:
    """Poll until every booking of the org is confirmed, failed or cancelled, and the text that
    ends its phase 2 (the confirmation, which follows `confirmed`, or the apology) is handled:
    sent, refused or skipped."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await pool.fetch(
            """
            SELECT b.id, b.status::text AS status, b.status_reason, b.calendar_event_id,
                   b.starts_at, c.phone,
                   coalesce((
                       SELECT m.twilio_sid IS NOT NULL OR m.status IN ('failed', 'skipped')
                       FROM sms_messages m
                       WHERE m.booking_id = b.id AND m.kind = CASE b.status
                           WHEN 'confirmed' THEN 'confirmation' WHEN 'failed' THEN 'apology' END
                   ), b.status NOT IN ('confirmed', 'failed')) AS text_handled
            FROM bookings b JOIN contacts c ON c.id = b.contact_id
            WHERE b.org_id = $1
            """,
            org.id,
        )
        waiting = [r for r in rows if r["status"] not in SETTLED or not r["text_handled"]]
        if not waiting:
            return Settled(Counter(r["status"] for r in rows), rows)
        if asyncio.get_running_loop().time() > deadline:
            listed = ", ".join(f"{r['id']} {r['status']}" for r in waiting[:10])
            raise AssertionError(
                f"{len(waiting)} of {len(rows)} bookings still not settled after {timeout:g}s "
                f"(stuck held?): {listed}"
            )
        await asyncio.sleep(0.5)


def check_answers(outcomes: list[CallOutcome], rows: list[asyncpg.Record]) -> None:
    """Copies of one call got one answer; every booked answer has its row and every row was
    told to its caller."""
    status = {r["id"]: r["status"] for r in rows}
    by_key: dict[str, set[tuple[str, UUID | None]]] = defaultdict(set)
    for outcome in outcomes:
        by_key[outcome.call.key].add((outcome.kind, outcome.booking_id))

    def failed_in_between(answers: set[tuple[str, UUID | None]]) -> bool:
        # A copy arriving once its booking has failed and been compensated starts a new run,
        # which tells it so ("could not be completed earlier": invalid) instead of "booked".
        booked = [b for kind, b in answers if kind == "booked"]
        return (
            len(booked) == 1
            and status.get(booked[0]) == "failed"
            and answers == {("booked", booked[0]), ("invalid", None)}
        )

    split = {
        key: answers
        for key, answers in by_key.items()
        if len(answers) > 1 and not failed_in_between(answers)
    }
    assert not split, f"copies of one call got different answers: {split}"
    told = {o.booking_id for o in outcomes if o.kind == "booked"}
    stored = {r["id"] for r in rows}
    assert told - stored == set(), f"booked answers without a booking row: {told - stored}"
    assert stored - told == set(), f"bookings no caller was told about: {stored - told}"


# How our events name their booking (activities/calendar.py writes it into the description);
# it is how a creation is traced to its booking whatever event id the insert chose.
_BOOKING_LINE = re.compile(r"^Booking id: ([0-9a-f-]{36})$", re.MULTILINE)


def creations_by_booking(created: list[dict[str, Any]]) -> dict[UUID | None, list[str]]:
    """Ids of the events inserts created, per booking named in the description (None: none)."""
    by_booking: dict[UUID | None, list[str]] = defaultdict(list)
    for event in created:
        named = _BOOKING_LINE.search(event.get("description") or "")
        by_booking[UUID(named.group(1)) if named else None].append(event["id"])
    return by_booking


async def check_side_effects(
    pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg, rows: list[asyncpg.Record]
) -> None:
    """Confirmed bookings have their event and one confirmation SMS; failed ones are
    compensated (reason, no live event) and got one apology SMS; nothing was created or sent
    twice, counted by what the sandboxes created (a retry that inserted a second event under a
    new id, or sent a second text, shows)."""
    created = creations_by_booking(await sandboxes.calendar.created_events(org.calendar_id))
    ours = {r["id"] for r in rows}
    strays = {b: ids for b, ids in created.items() if b not in ours}
    assert not strays, f"events created for no booking of the org: {strays}"
    twice = {b: ids for b, ids in created.items() if len(ids) > 1}
    assert not twice, f"calendar events created more than once for {len(twice)} bookings: {twice}"
    events = await sandboxes.calendar.events(org.calendar_id)
    live = {e["id"] for e in events if e["status"] != "cancelled"}

    ledger = await pool.fetch(
        "SELECT booking_id, kind, send_key, to_phone, body, status, twilio_sid "
        "FROM sms_messages WHERE org_id = $1",
        org.id,
    )
    keys = Counter((m["booking_id"], m["send_key"]) for m in ledger)
    assert max(keys.values(), default=1) == 1, "one SMS recorded twice in the ledger"
    messages = await sandboxes.twilio.messages()
    sent = Counter((m["to"], m["body"]) for m in messages)
    doubles = {k: n for k, n in sent.items() if n > 1}
    assert not doubles, f"{len(doubles)} SMS texts sent more than once, e.g. {next(iter(doubles))}"
    recorded = {m["twilio_sid"] for m in ledger if m["twilio_sid"]}
    unrecorded = [m["sid"] for m in messages if m["sid"] not in recorded]
    assert not unrecorded, f"{len(unrecorded)} messages Twilio accepted are not in the ledger"

    by_kind = {(m["booking_id"], m["kind"]): m for m in ledger}
    problems: list[str] = []

    def sent_once(row: asyncpg.Record, kind: str) -> None:
        sms = by_kind.get((row["id"], kind))
        if sms is None or sms["status"] not in _SMS_SENT or sms["twilio_sid"] is None:
            problems.append(f"{row['id']} {row['status']}, {kind} SMS {sms and sms['status']}")
        elif sent[(row["phone"], sms["body"])] != 1:
            problems.append(f"{row['id']} {kind} SMS not in the Twilio sandbox")

    for row in rows:
        events_created = created.get(row["id"], [])
        if row["status"] == "confirmed":
            if events_created != [row["calendar_event_id"]] or events_created[0] not in live:
                problems.append(f"{row['id']} confirmed without its live calendar event")
            sent_once(row, "confirmation")
        elif row["status"] == "failed":
            if not row["status_reason"] or live.intersection(events_created):
                problems.append(f"{row['id']} failed but not compensated: {row['status_reason']}")
            sent_once(row, "apology")
    assert not problems, f"{len(problems)} bookings are wrong:\n" + "\n".join(problems[:10])


async def wait_until_vendors_answered(sandboxes: Sandboxes, timeout: float = 30) -> None:
    """Until the sandboxes have answered every request they received: a send stalled in one
    may land after its booking settled, and a duplicate on its way must be counted."""

    async def all_answered() -> bool:
        return not (await sandboxes.calendar.unanswered() or await sandboxes.twilio.unanswered())

    await wait_until(all_answered, timeout=timeout, what="the sandboxes answer every request")


async def check_no_overlap(pool: asyncpg.Pool, org: TestOrg) -> None:
    pairs = await pool.fetch(
        """
        SELECT a.id, b.id AS other
        FROM bookings a JOIN bookings b
          ON a.org_id = b.org_id AND a.provider_id = b.provider_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
        WHERE a.org_id = $1 AND a.status IN ('held', 'confirmed')
          AND b.status IN ('held', 'confirmed')
        """,
        org.id,
    )
    assert not pairs, f"overlapping bookings of one provider: {[tuple(p) for p in pairs]}"


async def check_audit_clean(
    pool: asyncpg.Pool, client: Client, org: TestOrg, timeout: float = 20
) -> None:
    """`booking audit` with grace 0 finds nothing; visibility trails the workflows by a moment,
    so findings are allowed to clear within `timeout`."""
    options = AuditOptions(org_slug=org.slug, grace=timedelta(0), sms_after=timedelta(minutes=15))
    deadline = asyncio.get_running_loop().time() + timeout
    findings: list[Finding] = await run_audit(pool, client, options)
    while findings and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(1)
        findings = await run_audit(pool, client, options)
    assert not findings, f"booking audit found {len(findings)} problems:\n" + "\n".join(
        f"{f.check} {f.booking_id}: {f.detail}" for f in findings[:10]
    )


async def check_invariants(
    *,
    pool: asyncpg.Pool,
    client: Client,
    sandboxes: Sandboxes,
    org: TestOrg,
    outcomes: list[CallOutcome],
    settle_timeout: float = 90,
) -> Settled:
    """Every check above, in order; returns the settled bookings."""
    settled = await wait_until_settled(pool, org, settle_timeout)
    check_answers(outcomes, settled.rows)
    await wait_until_vendors_answered(sandboxes)
    await check_side_effects(pool, sandboxes, org, settled.rows)
    await check_no_overlap(pool, org)
    await check_audit_clean(pool, client, org)
    return settled
