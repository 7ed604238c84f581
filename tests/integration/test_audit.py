"""`booking audit` on the real stack: real bookings through the workflow, broken rows by SQL.

Other tests share the database and the Temporal server, so every audit here is scoped to a fresh
org. Rows the schema forbids (confirmed without an event, overlaps) are built in a temporary
table that shadows `bookings` on one connection, never by loosening the shared schema.

One module because the in-process audit cases and the `booking audit` CLI cases check the same
findings on rows built by the same helpers (`_confirmed_booking`, `_held_row_without_workflow`).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
from asyncpg import Range
from temporalio.client import Client

from core.domain.ids import booking_workflow_id
from core.infra.masking import mask_phone
from core.ops.audit import AuditOptions, Check, Finding, run_audit
from core.repositories import audit as queries
from core.temporal.names import BOOKING_STATUS
from tests.booking_helpers import BookingEnv, local_start, unique_phone
from tests.conftest import MakeOrg, Stack
from tests.factories import TestOrg, insert_booking, insert_contact
from tests.integration.test_cli import DevProcess

REPO = Path(__file__).resolve().parents[2]


def _options(org: TestOrg, grace: timedelta = timedelta(minutes=2)) -> AuditOptions:
    return AuditOptions(org_slug=org.slug, grace=grace, sms_after=timedelta(minutes=15))


def _by_check(findings: list[Finding]) -> dict[Check, list[Finding]]:
    grouped: dict[Check, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.check, []).append(finding)
    return grouped


async def _confirmed_booking(env: BookingEnv, hour: int = 10, org: TestOrg | None = None) -> UUID:
    """A booking (of the env's org unless told) confirmed by the real workflow, with its search
    attribute visible to listings (the audit reads visibility, which trails the workflow by a
    moment)."""
    booking_id = await env.book_confirmed(local_start(at=time(hour)), org=org)
    query = (
        f"WorkflowId = '{booking_workflow_id(booking_id)}' AND {BOOKING_STATUS.name} = 'confirmed'"
    )
    deadline = asyncio.get_running_loop().time() + 20
    while not [execution async for execution in env.temporal.list_workflows(query)]:
        assert asyncio.get_running_loop().time() < deadline, "search attribute never visible"
        await asyncio.sleep(0.1)
    return booking_id


async def _held_row_without_workflow(pool: asyncpg.Pool, org: TestOrg, phone: str) -> UUID:
    """A held booking, unchanged for 10 minutes, whose workflow never existed, plus its
    confirmation SMS pending for an hour."""
    booking_id = await insert_booking(pool, org, local_start(days_ahead=2), phone=phone)
    # SQL only to age the rows: the repositories stamp now(), which the audit's grace skips.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            UPDATE bookings SET created_at = now() - interval '10 minutes',
                                updated_at = now() - interval '10 minutes'
            WHERE id = $1
            """,
            booking_id,
        )
        await conn.execute(
            """
            INSERT INTO sms_messages (org_id, booking_id, kind, send_key, to_phone, body,
                                      created_at, updated_at)
            VALUES ($1, $2, 'confirmation', 'confirmation', $3, 'Booked.',
                    now() - interval '1 hour', now() - interval '1 hour')
            """,
            org.id,
            booking_id,
            phone,
        )
    return booking_id


async def test_a_clean_org_with_a_confirmed_booking_has_no_findings(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    await _confirmed_booking(booking_env)
    # Grace 0: the fresh rows count as settled, so the running workflow really is compared.
    assert await run_audit(pool, temporal_client, _options(org, grace=timedelta(0))) == []


async def test_broken_rows_are_each_found(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    phone = unique_phone()
    held = await _held_row_without_workflow(pool, org, phone)
    flipped = await _confirmed_booking(booking_env, hour=10)
    await pool.execute(
        """
        UPDATE bookings SET status = 'failed', status_reason = 'x',
                            updated_at = now() - interval '10 minutes'
        WHERE id = $1
        """,
        flipped,
    )
    orphaned = await _confirmed_booking(booking_env, hour=11)
    await temporal_client.get_workflow_handle(booking_workflow_id(orphaned)).terminate("audit test")
    await pool.execute(
        "UPDATE bookings SET updated_at = now() - interval '10 minutes' WHERE id = $1", orphaned
    )

    found = _by_check(await run_audit(pool, temporal_client, _options(org)))

    assert set(found) == {Check.HELD_WITHOUT_WORKFLOW, Check.SMS_PENDING, Check.STATUS_MISMATCH}
    [lost] = found[Check.HELD_WITHOUT_WORKFLOW]
    assert (lost.org_slug, lost.booking_id) == (org.slug, held)
    assert f"workflow {booking_workflow_id(held)} is not found" in lost.detail
    [sms] = found[Check.SMS_PENDING]
    assert sms.booking_id == held
    assert "pending for 60 min" in sms.detail and mask_phone(phone) in sms.detail
    assert phone not in sms.detail
    mismatches = {f.booking_id: f.detail for f in found[Check.STATUS_MISMATCH]}
    assert set(mismatches) == {flipped, orphaned}
    assert "database says failed" in mismatches[flipped]
    assert "workflow says confirmed" in mismatches[flipped]
    assert "has terminated" in mismatches[orphaned] and "held by nobody" in mismatches[orphaned]


async def test_recent_changes_are_in_flight_not_findings(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    booking_id = await _confirmed_booking(booking_env)
    await pool.execute(
        "UPDATE bookings SET status = 'failed', status_reason = 'x' WHERE id = $1", booking_id
    )
    assert await run_audit(pool, temporal_client, _options(org)) == []
    found = await run_audit(pool, temporal_client, _options(org, grace=timedelta(0)))
    assert [(f.check, f.booking_id) for f in found] == [(Check.STATUS_MISMATCH, booking_id)]


async def test_a_running_workflow_holding_a_slot_without_a_row_is_found(
    booking_env: BookingEnv, temporal_client: Client, pool: asyncpg.Pool, org: TestOrg
) -> None:
    booking_id = await _confirmed_booking(booking_env)
    await pool.execute("DELETE FROM bookings WHERE id = $1", booking_id)
    found = await run_audit(pool, temporal_client, _options(org, grace=timedelta(0)))
    assert [(f.check, f.org_slug, f.booking_id) for f in found] == [
        (Check.STATUS_MISMATCH, org.slug, booking_id)
    ]
    assert "says confirmed, but there is no booking row" in found[0].detail


async def test_rows_the_schema_forbids_are_found_in_a_shadow_table(
    stack: Stack, pool: asyncpg.Pool, temporal_client: Client, org: TestOrg
) -> None:
    contact_id = await insert_contact(pool, org, unique_phone())
    conn = await asyncpg.connect(stack.database_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        # pg_temp comes first in the search path, so on this connection alone `bookings` means
        # this copy, which has the columns but neither the CHECK nor the exclusion constraint.
        await conn.execute("CREATE TEMP TABLE bookings (LIKE public.bookings INCLUDING DEFAULTS)")
        start = local_start(days_ahead=3)
        rows = {
            "no_event": ("confirmed", None, start, start + timedelta(minutes=30)),
            "first": ("held", None, start + timedelta(hours=2), start + timedelta(hours=3)),
            "second": ("confirmed", "ev-1", start + timedelta(hours=2, minutes=30), None),
        }
        ids = {name: uuid4() for name in rows}
        for name, (status, event, begins, ends) in rows.items():
            ends = ends or begins + timedelta(hours=1)
            await conn.execute(
                """
                INSERT INTO bookings (id, org_id, provider_id, service_id, contact_id, starts_at,
                                      ends_at, during, status, calendar_event_id, workflow_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                ids[name],
                org.id,
                org.provider_id,
                org.service_id,
                contact_id,
                begins,
                ends,
                Range(begins, ends),
                status,
                event,
                booking_workflow_id(ids[name]),
            )
        assert [r.id for r in await queries.confirmed_without_event(conn, org_id=org.id)] == [
            ids["no_event"]
        ]
        [pair] = await queries.overlapping(conn, org_id=org.id)
        assert {pair.id, pair.other_id} == {ids["first"], ids["second"]}
        overlap_start, _ = pair.overlap
        assert overlap_start == start + timedelta(hours=2, minutes=30)

        found = _by_check(await run_audit(conn, temporal_client, _options(org, timedelta(0))))
        [no_event] = found[Check.CONFIRMED_WITHOUT_EVENT]
        assert no_event.booking_id == ids["no_event"]
        [overlap] = found[Check.OVERLAPPING_BOOKINGS]
        assert overlap.org_slug == org.slug
        assert str(ids["second"] if overlap.booking_id == ids["first"] else ids["first"]) in (
            overlap.detail
        )
    finally:
        await transaction.rollback()
        await conn.close()
    # The shared table never saw these rows.
    assert await pool.fetchval("SELECT count(*) FROM bookings WHERE org_id = $1", org.id) == 0


def _run_cli(stack: Stack, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    project = {"DATABASE_URL", "TEMPORAL_ADDRESS", "DATA_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in project}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=stack.database_url,
        TEMPORAL_ADDRESS=stack.temporal_address,
    )
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_exits_1_with_a_table_on_a_broken_org_and_0_on_a_clean_one(
    booking_env: BookingEnv, stack: Stack, tmp_path: Path, pool: asyncpg.Pool, make_org: MakeOrg
) -> None:
    broken = await make_org()
    phone = unique_phone()
    held = await _held_row_without_workflow(pool, broken, phone)
    clean = await make_org()
    await _confirmed_booking(booking_env, org=clean)

    table = await asyncio.to_thread(_run_cli, stack, tmp_path, "--org", broken.slug)
    assert table.returncode == 1, table.stderr
    assert table.stdout.splitlines()[0].split() == ["CHECK", "ORG", "BOOKING", "DETAIL"]
    for check in (Check.HELD_WITHOUT_WORKFLOW, Check.SMS_PENDING):
        assert any(
            line.split()[:3] == [check, broken.slug, str(held)]
            for line in table.stdout.splitlines()
        ), table.stdout
    assert f"2 findings (org {broken.slug})" in table.stdout
    assert phone not in table.stdout

    machine = await asyncio.to_thread(_run_cli, stack, tmp_path, "--org", broken.slug, "--json")
    assert machine.returncode == 1, machine.stderr
    report = json.loads(machine.stdout)
    assert report["count"] == 2
    assert {(f["check"], f["org"], f["booking_id"]) for f in report["findings"]} == {
        ("held_without_workflow", broken.slug, str(held)),
        ("sms_pending", broken.slug, str(held)),
    }

    ok = await asyncio.to_thread(_run_cli, stack, tmp_path, "--org", clean.slug, "--grace", "0")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == f"no findings ({len(Check)} checks, org {clean.slug})"


async def test_cli_unknown_org_is_an_error_not_a_finding(stack: Stack, tmp_path: Path) -> None:
    result = await asyncio.to_thread(_run_cli, stack, tmp_path, "--org", "no-such-org")
    assert result.returncode == 2
    assert result.stderr.strip() == "booking audit: there is no org 'no-such-org'"


def test_cli_audits_a_running_booking_dev_without_any_settings(tmp_path: Path) -> None:
    dev = DevProcess(tmp_path / "data")
    process, _ = dev.start()
    try:
        # Only what locates the stack: DATA_DIR (embedded Postgres) and the Temporal port.
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "audit"],
            env=dev.env,
            cwd=dev.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"no findings ({len(Check)} checks, all orgs)"
