"""`booking audit`: check the invariants across Postgres and Temporal and print what is wrong.

Exit status 0 when nothing is found, 1 when something is, 2 when the audit could not run (so a
cron job can tell "broken" from "unchecked"). Like `booking org`, with DATABASE_URL unset it
reads the embedded Postgres of a running `booking dev` and never starts one; with
TEMPORAL_ADDRESS unset it asks that stack's Temporal dev server on EMBEDDED_TEMPORAL_PORT.
"""

import argparse
import json
import sys
from datetime import timedelta

import asyncpg
from temporalio.client import Client
from temporalio.service import RPCError

from cli.orgs import database_url
from core.errors import BackendUnavailable, BookingError, ConfigurationError
from core.infra.config import Settings
from core.infra.db import create_pool
from core.ops.audit import AuditOptions, Check, Finding, run_audit
from core.temporal.client import connect_temporal

_NOT_RUNNING = "start `booking dev` first or set {}"
_COLUMNS = ("CHECK", "ORG", "BOOKING", "DETAIL")
_NO_BOOKING = "-"


async def run_audit_command(args: argparse.Namespace, settings: Settings) -> int:
    """`args` as `booking audit` parses them: org, json, grace and sms_after (minutes)."""
    options = AuditOptions(
        org_slug=args.org,
        grace=timedelta(minutes=args.grace),
        sms_after=timedelta(minutes=args.sms_after),
        sync_after=timedelta(minutes=args.sync_after),
    )
    try:
        findings = await _audit(settings, options)
    except BookingError as error:
        print(f"booking audit: {error.message}", file=sys.stderr)
        return 2
    print(as_json(findings) if args.json else as_table(findings, options), flush=True)
    return 1 if findings else 0


async def _audit(settings: Settings, options: AuditOptions) -> list[Finding]:
    """Connect to both, audit, close; connection problems become one-line BookingErrors."""
    dsn, where = database_url(settings)
    client = await _connect_temporal(settings)
    try:
        pool = await create_pool(settings.model_copy(update={"db_pool_min_size": 1}), dsn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        hint = "" if settings.database_url else "; " + _NOT_RUNNING.format("DATABASE_URL")
        raise ConfigurationError(f"cannot connect to {where}: {_one_line(error)}{hint}") from None
    try:
        return await run_audit(pool, client, options)
    except asyncpg.UndefinedTableError:
        raise ConfigurationError(f"{where} has no schema yet; run `booking migrate`") from None
    except RPCError as error:
        raise BackendUnavailable(f"Temporal refused the audit: {_one_line(error)}") from None
    finally:
        await pool.close()


async def _connect_temporal(settings: Settings) -> Client:
    # The address `booking dev` gives its children when it starts the embedded server.
    address = settings.temporal_address or f"127.0.0.1:{settings.embedded_temporal_port}"
    try:
        return await connect_temporal(settings, address)
    except (RuntimeError, OSError, TimeoutError) as error:
        hint = "" if settings.temporal_address else "; " + _NOT_RUNNING.format("TEMPORAL_ADDRESS")
        raise ConfigurationError(
            f"cannot connect to Temporal at {address}: {_one_line(error)}{hint}"
        ) from None


def as_table(findings: list[Finding], options: AuditOptions) -> str:
    """Aligned columns, then one summary line; a single line when nothing was found."""
    scope = f"org {options.org_slug}" if options.org_slug else "all orgs"
    if not findings:
        return f"no findings ({len(Check)} checks, {scope})"
    rows = [
        _COLUMNS,
        *((f.check, f.org_slug, str(f.booking_id or _NO_BOOKING), f.detail) for f in findings),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    counts = ", ".join(
        f"{check} {n}" for check in Check if (n := sum(f.check == check for f in findings))
    )
    noun = "finding" if len(findings) == 1 else "findings"
    return "\n".join([*lines, "", f"{len(findings)} {noun} ({scope}): {counts}"])


def as_json(findings: list[Finding]) -> str:
    """`{"findings": [{"check", "org", "booking_id", "provider_id", "detail"}, ...],
    "count": n}`; `booking_id` is null for calendar checks, `provider_id` null for the rest."""
    return json.dumps(
        {
            "findings": [
                {
                    "check": str(f.check),
                    "org": f.org_slug,
                    "booking_id": str(f.booking_id) if f.booking_id else None,
                    "provider_id": str(f.provider_id) if f.provider_id else None,
                    "detail": f.detail,
                }
                for f in findings
            ],
            "count": len(findings),
        },
        indent=2,
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
