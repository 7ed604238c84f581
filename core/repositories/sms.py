"""SQL for the SMS ledger: one row per (booking, send_key), checked before Twilio is called."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from core.repositories import Executor, from_record


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    """One send's ledger row as `claim` found or made it.

    `created`: this call made it. `seconds_since_update`: for a row still `pending` without
    SID, how long ago the last attempt claimed it or announced a send (`mark_sending`).
    """

    id: UUID
    status: str
    twilio_sid: str | None
    error_code: str | None
    created: bool
    created_at: datetime
    seconds_since_update: float


async def claim(
    conn: Executor,
    *,
    org_id: UUID,
    booking_id: UUID,
    kind: str,
    send_key: str,
    to_phone: str,
    body: str,
) -> LedgerRow:
    """The ledger row for this send, created `pending` if new.

    A row that already has a Twilio SID or a final status means the message was handled before
    and must not be sent again.
    """
    row = await conn.fetchrow(
        """
        WITH created AS (
            INSERT INTO sms_messages (org_id, booking_id, kind, send_key, to_phone, body)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (booking_id, send_key) DO NOTHING
            RETURNING id, status, twilio_sid, error_code, created_at, updated_at
        ), claimed AS (
            SELECT id, status, twilio_sid, error_code, created_at, updated_at, true AS created
            FROM created
            UNION ALL
            SELECT id, status, twilio_sid, error_code, created_at, updated_at, false
            FROM sms_messages
            WHERE booking_id = $2 AND send_key = $4
            LIMIT 1
        )
        SELECT id, status, twilio_sid, error_code, created, created_at,
               extract(epoch FROM now() - updated_at)::float8 AS seconds_since_update
        FROM claimed
        """,
        org_id,
        booking_id,
        kind,
        send_key,
        to_phone,
        body,
    )
    assert row is not None
    return from_record(LedgerRow, row)


async def mark_sending(conn: Executor, *, message_id: UUID) -> None:
    """Note that a request to Twilio for this pending row starts now.

    `updated_at` tells a later attempt how long that request may still be in flight; the error
    code of an earlier turned-away request no longer applies.
    """
    await conn.execute(
        """
        UPDATE sms_messages SET updated_at = now(), error_code = NULL
        WHERE id = $1 AND status = 'pending' AND twilio_sid IS NULL
        """,
        message_id,
    )


async def record_turned_away(conn: Executor, *, message_id: UUID, error_code: str) -> None:
    """Twilio answered this pending row's request with a retryable refusal and created nothing.

    The row stays `pending` with the code, so the retry knows there is nothing to look for.
    """
    await conn.execute(
        """
        UPDATE sms_messages SET error_code = $2, updated_at = now()
        WHERE id = $1 AND status = 'pending' AND twilio_sid IS NULL
        """,
        message_id,
        error_code,
    )


async def recorded_sids(conn: Executor, *, sids: list[str]) -> set[str]:
    """Those of `sids` that some ledger row already holds."""
    rows = await conn.fetch(
        "SELECT twilio_sid FROM sms_messages WHERE twilio_sid = ANY($1::text[])", sids
    )
    return {row["twilio_sid"] for row in rows}


async def record_sent(conn: Executor, *, message_id: UUID, twilio_sid: str, status: str) -> None:
    await conn.execute(
        """
        UPDATE sms_messages SET twilio_sid = $2, status = $3, updated_at = now()
        WHERE id = $1
        """,
        message_id,
        twilio_sid,
        status,
    )


async def record_outcome(
    conn: Executor, *, message_id: UUID, status: str, error_code: str | None
) -> None:
    """A final status decided without Twilio accepting the message (failed, skipped)."""
    await conn.execute(
        """
        UPDATE sms_messages SET status = $2, error_code = $3, updated_at = now()
        WHERE id = $1
        """,
        message_id,
        status,
        error_code,
    )


# How far along Twilio's message lifecycle each status is. A callback may only move a row
# forward: callbacks arrive out of order, and a late "sent" must not undo "delivered".
# `pending` is the ledger's own state before Twilio accepted the message.
_PROGRESS: dict[str, int] = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
}
# Outcomes Twilio does not change again; a row in one of these is never overwritten.
_FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
_FINAL_RANK = max(_PROGRESS.values()) + 1

StatusUpdate = Literal["updated", "stale", "unknown_sid"]


def statuses_superseded_by(status: str) -> frozenset[str]:
    """The ledger statuses a callback reporting `status` may overwrite (empty if none).

    Only statuses strictly earlier in the lifecycle: final ones stay final, a repeat changes
    nothing, and an unknown status (Twilio may add some) supersedes nothing.
    """
    rank = _FINAL_RANK if status in _FINAL else _PROGRESS.get(status)
    if rank is None:
        return frozenset()
    return frozenset(s for s, r in _PROGRESS.items() if r < rank)


async def apply_status_callback(
    conn: Executor, *, twilio_sid: str, status: str, error_code: str | None
) -> StatusUpdate:
    """Move the message with this SID to `status`, unless it is already as far or further.

    The guard is in the UPDATE's WHERE, so concurrent callbacks for one message cannot race
    a row backwards. Returns "updated", "stale" (the row is at or past `status`, or `status`
    is unknown) or "unknown_sid" (no message of ours has this SID; nothing is written).
    """
    updated = await conn.fetchval(
        """
        UPDATE sms_messages SET status = $2, error_code = $3, updated_at = now()
        WHERE twilio_sid = $1 AND status = ANY($4::text[])
        RETURNING id
        """,
        twilio_sid,
        status,
        error_code,
        sorted(statuses_superseded_by(status)),
    )
    if updated is not None:
        return "updated"
    exists: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sms_messages WHERE twilio_sid = $1)", twilio_sid
    )
    return "stale" if exists else "unknown_sid"
