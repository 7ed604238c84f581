"""Audit the invariants across Postgres and Temporal; each problem found is one `Finding`.

Postgres alone answers five checks (confirmed without an event, overlaps, SMS stuck, a booking
under a calendar block that arrived after it, a provider calendar not synced lately). The
workflow checks list the running BookingWorkflows once through Temporal visibility, compare them
with the bookings in memory, and describe only the few workflows that should be running but are
not, to say why. Changes younger than the grace are left alone: a transition in flight (row
written, search attribute not yet upserted, visibility not yet caught up) is normal.

It runs a little over 300 lines because the checks share one reading of Temporal's view and
one report order; split apart, each would repeat that reading.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.domain.ids import booking_workflow_id
from core.domain.statuses import OCCUPYING, BookingStatus, WorkflowStatus
from core.infra.masking import mask_phone
from core.repositories import Executor
from core.repositories import audit as queries
from core.repositories import calendar_syncs as sync_repo
from core.temporal.names import BOOKING_STATUS, ORG_SLUG

# @workflow.defn's default name; core must not import workflows/ to read it.
WORKFLOW_TYPE = "BookingWorkflow"
_DESCRIBE_CONCURRENCY = 16

# Which BookingStatus values of a running workflow agree with a database status. Compensation
# runs between the row's `held` and `failed` (whichever order its steps take: the current path
# releases the slot first, the previous release's deleted the event first), so a compensating
# workflow is seen with the row still held and with it already failed.
_AGREEING: dict[BookingStatus, frozenset[WorkflowStatus]] = {
    BookingStatus.HELD: frozenset({WorkflowStatus.HELD, WorkflowStatus.COMPENSATING}),
    BookingStatus.CONFIRMED: frozenset({WorkflowStatus.CONFIRMED}),
    BookingStatus.FAILED: frozenset({WorkflowStatus.COMPENSATING, WorkflowStatus.FAILED}),
    BookingStatus.CANCELLED: frozenset({WorkflowStatus.CANCELLED}),
}
# Workflow statuses that claim a slot (named as the row statuses that occupy one): a running
# workflow saying so must have a booking row.
_HOLDING = frozenset(WorkflowStatus(status) for status in OCCUPYING)


class Check(StrEnum):
    """The audit's checks, in report order."""

    CONFIRMED_WITHOUT_EVENT = "confirmed_without_event"
    HELD_WITHOUT_WORKFLOW = "held_without_workflow"
    OVERLAPPING_BOOKINGS = "overlapping_bookings"
    OVERLAPS_CALENDAR_BLOCK = "overlaps_calendar_block"
    SMS_PENDING = "sms_pending"
    STATUS_MISMATCH = "status_mismatch"
    CALENDAR_SYNC_STALE = "calendar_sync_stale"


@dataclass(frozen=True)
class Finding:
    """One problem: which check, where (a booking, or for calendar checks the provider), and a
    detail without phone numbers or emails."""

    check: Check
    org_slug: str
    booking_id: UUID | None
    detail: str
    provider_id: UUID | None = None


@dataclass(frozen=True)
class AuditOptions:
    """`org_slug` None audits every org; `grace` spares recent changes; `sms_after` is how long
    an SMS may stay unsent; `sync_after` how long a provider calendar may go unsynced."""

    org_slug: str | None
    grace: timedelta
    sms_after: timedelta
    sync_after: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class _Running:
    status: str | None
    org_slug: str | None
    started: datetime


async def run_audit(db: Executor, client: Client, options: AuditOptions) -> list[Finding]:
    """Every finding, sorted by check, org and booking. NotFound for an unknown `org_slug`.

    `db` is usually the pool; a connection works too (tests audit rows the schema forbids in a
    temporary table that shadows `bookings` on that connection only).
    """
    org_id = None
    if options.org_slug is not None:
        org_id = await queries.org_id_by_slug(db, slug=options.org_slug)
    findings = [
        *await _database_findings(db, org_id, options),
        *await _workflow_findings(db, client, org_id, options),
    ]
    order = list(Check)
    return sorted(
        findings,
        key=lambda f: (
            order.index(f.check),
            f.org_slug,
            str(f.booking_id or f.provider_id),
            f.detail,
        ),
    )


async def _database_findings(
    db: Executor, org_id: UUID | None, options: AuditOptions
) -> list[Finding]:
    findings = [
        Finding(
            Check.CONFIRMED_WITHOUT_EVENT,
            row.org_slug,
            row.id,
            f"confirmed without a calendar event (starts {row.starts_at:%Y-%m-%d %H:%M %Z})",
        )
        for row in await queries.confirmed_without_event(db, org_id=org_id)
    ]
    findings += [
        Finding(
            Check.OVERLAPPING_BOOKINGS,
            row.org_slug,
            row.id,
            f"{row.status} overlaps {row.other_status} booking {row.other_id} of the "
            f"same provider from {row.overlap[0]:%Y-%m-%d %H:%M %Z}",
        )
        for row in await queries.overlapping(db, org_id=org_id)
    ]
    findings += [
        Finding(
            Check.SMS_PENDING,
            row.org_slug,
            row.booking_id,
            f"{row.kind} SMS to {mask_phone(row.to_phone)} {row.status} for "
            f"{_age(row.waiting_seconds)}",
        )
        for row in await queries.stale_sms(db, org_id=org_id, older_than=options.sms_after)
    ]
    findings += [
        Finding(
            Check.OVERLAPS_CALENDAR_BLOCK,
            row.org_slug,
            row.id,
            f"overlaps calendar event {row.event_id} (from "
            f"{row.block_start:%Y-%m-%d %H:%M %Z}) added to the calendar after it was booked",
        )
        for row in await queries.busy_block_conflicts(db, org_id=org_id)
    ]
    findings += [
        Finding(
            Check.CALENDAR_SYNC_STALE,
            calendar.org_slug,
            None,
            f"{calendar.provider_name}'s calendar "
            + (
                f"last synced {calendar.last_synced_at:%Y-%m-%d %H:%M %Z}"
                if calendar.last_synced_at
                else "never synced"
            )
            + (f"; last error: {calendar.last_error}" if calendar.last_error else ""),
            provider_id=calendar.provider_id,
        )
        for calendar in await sync_repo.sync_health(
            db, org_id=org_id, older_than=options.sync_after
        )
    ]
    return findings


async def _workflow_findings(
    db: Executor, client: Client, org_id: UUID | None, options: AuditOptions
) -> list[Finding]:
    running = await _running_workflows(client, options.org_slug)
    rows = await queries.bookings_to_reconcile(
        db, org_id=org_id, grace=options.grace, workflow_ids=list(running)
    )
    findings: list[Finding] = []
    gone: list[queries.BookingToReconcile] = []
    for row in rows:
        workflow = running.get(row.workflow_id)
        if workflow is None:
            gone.append(row)  # only held / upcoming confirmed rows get here; see the query
        elif row.settled and workflow.status not in _AGREEING.get(row.status, ()):
            findings.append(
                Finding(
                    Check.STATUS_MISMATCH,
                    row.org_slug,
                    row.id,
                    f"database says {row.status} (unchanged for "
                    f"{_age(row.seconds_since_update)}), workflow says {workflow.status}",
                )
            )
    findings += await _findings_for_gone(client, gone)
    findings += _workflows_without_rows(running, {row.workflow_id for row in rows}, options)
    return findings


async def _running_workflows(client: Client, org_slug: str | None) -> dict[str, _Running]:
    """Every running BookingWorkflow (of one org), by workflow id, from one paged listing."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
    if org_slug is not None:
        # Safe to quote: the slug was just found in the database, whose CHECK allows only
        # [a-z0-9-].
        query += f" AND {ORG_SLUG.name} = '{org_slug}'"
    running: dict[str, _Running] = {}
    async for execution in client.list_workflows(query):
        attributes = execution.typed_search_attributes
        running[execution.id] = _Running(
            status=attributes.get(BOOKING_STATUS),
            org_slug=attributes.get(ORG_SLUG),
            started=execution.start_time,
        )
    return running


async def _findings_for_gone(
    client: Client, rows: list[queries.BookingToReconcile]
) -> list[Finding]:
    """Held and upcoming confirmed bookings absent from the running list: describe each workflow
    (a listing can lag) and report those that really are not running."""
    limit = asyncio.Semaphore(_DESCRIBE_CONCURRENCY)

    async def state_of(workflow_id: str) -> str:
        async with limit:
            return await describe_workflow(client, workflow_id)

    states = await asyncio.gather(*(state_of(row.workflow_id) for row in rows))
    findings = []
    for row, state in zip(rows, states, strict=True):
        if state == "running":
            continue
        workflow = f"workflow {row.workflow_id} {_as_verb(state)}"
        if row.status == BookingStatus.HELD:
            check = Check.HELD_WITHOUT_WORKFLOW
            detail = f"held for {_age(row.seconds_since_update)}; {workflow}"
        else:
            # The appointment is still ahead and nobody will remind, move or cancel it.
            check = Check.STATUS_MISMATCH
            detail = f"confirmed, appointment ahead; {workflow}: the slot is held by nobody"
        findings.append(Finding(check, row.org_slug, row.id, detail))
    return findings


async def describe_workflow(client: Client, workflow_id: str) -> str:
    """`running`, `completed`, `failed`, `canceled`, `terminated`, `continued as new`,
    `timed out`, or `not found`, for the workflow's latest run."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return "not found"
        raise
    if description.status is None:
        return "unknown"
    return description.status.name.lower().replace("_", " ")


def _workflows_without_rows(
    running: dict[str, _Running], with_rows: set[str], options: AuditOptions
) -> list[Finding]:
    """Running workflows that say they hold a slot the database has no booking for."""
    settled_before = datetime.now(UTC) - options.grace
    findings = []
    for workflow_id, workflow in running.items():
        if workflow_id in with_rows or workflow.status not in _HOLDING:
            continue
        if workflow.started > settled_before:
            continue
        booking_id = _booking_id(workflow_id)
        if booking_id is None:
            continue  # not a workflow id of ours
        findings.append(
            Finding(
                Check.STATUS_MISMATCH,
                workflow.org_slug or "?",
                booking_id,
                f"workflow {workflow_id} says {workflow.status}, but there is no booking row",
            )
        )
    return findings


def _booking_id(workflow_id: str) -> UUID | None:
    """The booking id in a workflow id made by `booking_workflow_id`, else None."""
    try:
        booking_id = uuid.UUID(workflow_id.removeprefix("booking-"))
    except ValueError:
        return None
    return booking_id if booking_workflow_id(booking_id) == workflow_id else None


def _as_verb(state: str) -> str:
    if state in ("not found", "unknown"):
        return f"is {state}"
    return f"has {state}"


def _age(seconds: float) -> str:
    """A duration as an operator reads it: `45 s`, `12 min`, `3 h`, `2 d`."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
