"""The invariants every reliability scenario ends with, each failing with a message that says
which booking broke what.

`check_invariants` waits (bounded) until no booking of the org is `held`, then checks answers
against rows, each booking's end state, the SMS and calendar side effects against the
sandboxes, overlaps in SQL, and `booking audit` (grace 0).
"""

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg
from temporalio.client import Client

from core.audit import AuditOptions, Finding, run_audit
from core.calendar import event_id_for_booking
from sandbox.runner import Sandboxes
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
    """Poll until every booking of the org is confirmed, failed or cancelled."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await pool.fetch(
            """
            SELECT b.id, b.status::text AS status, b.status_reason, b.calendar_event_id,
                   b.starts_at, c.phone
            FROM bookings b JOIN contacts c ON c.id = b.contact_id
            WHERE b.org_id = $1
            """,
            org.id,
        )
        waiting = [r for r in rows if r["status"] not in SETTLED]
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
    by_key: dict[str, set[tuple[str, UUID | None]]] = defaultdict(set)
    for outcome in outcomes:
        by_key[outcome.call.key].add((outcome.kind, outcome.booking_id))
    split = {key: answers for key, answers in by_key.items() if len(answers) > 1}
    assert not split, f"copies of one call got different answers: {split}"
    told = {o.booking_id for o in outcomes if o.kind == "booked"}
    stored = {r["id"] for r in rows}
    assert told - stored == set(), f"booked answers without a booking row: {told - stored}"
    assert stored - told == set(), f"bookings no caller was told about: {stored - told}"


async def check_side_effects(
    pool: asyncpg.Pool, sandboxes: Sandboxes, org: TestOrg, rows: list[asyncpg.Record]
) -> None:
    """Confirmed bookings have their event and one confirmation SMS; nothing was done twice;
    failed ones are compensated (reason, no live event)."""
    events = await sandboxes.calendar.events(org.calendar_id)
    event_ids = Counter(e["id"] for e in events)
    twice = {k: n for k, n in event_ids.items() if n > 1}
    assert not twice, f"calendar events stored more than once: {twice}"
    live = {e["id"] for e in events if e["status"] != "cancelled"}
    ours = {event_id_for_booking(r["id"]): r for r in rows}
    assert set(event_ids) <= set(ours), f"events of no booking: {set(event_ids) - set(ours)}"

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

    confirmations = {m["booking_id"]: m for m in ledger if m["kind"] == "confirmation"}
    problems: list[str] = []
    for row in rows:
        event_id = event_id_for_booking(row["id"])
        if row["status"] == "confirmed":
            sms = confirmations.get(row["id"])
            if row["calendar_event_id"] != event_id or event_id not in live:
                problems.append(f"{row['id']} confirmed without its live calendar event")
            if sms is None or sms["status"] not in _SMS_SENT or sms["twilio_sid"] is None:
                problems.append(f"{row['id']} confirmed, confirmation SMS {sms and sms['status']}")
            elif sent[(row["phone"], sms["body"])] != 1:
                problems.append(f"{row['id']} confirmation SMS not in the Twilio sandbox")
        elif row["status"] == "failed":
            if not row["status_reason"] or event_id in live:
                problems.append(f"{row['id']} failed but not compensated: {row['status_reason']}")
    assert not problems, f"{len(problems)} bookings are wrong:\n" + "\n".join(problems[:10])


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
    # A send stalled in a sandbox may land just after its booking settled: let it arrive, so a
    # duplicate on its way is counted.
    await asyncio.sleep(1)
    await check_side_effects(pool, sandboxes, org, settled.rows)
    await check_no_overlap(pool, org)
    await check_audit_clean(pool, client, org)
    return settled
