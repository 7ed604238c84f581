"""SQL for the SMS ledger: one row per (booking, send_key), checked before Twilio is called."""

from uuid import UUID

import asyncpg

from core.repositories import Executor


async def claim(
    conn: Executor,
    *,
    org_id: UUID,
    booking_id: UUID,
    kind: str,
    send_key: str,
    to_phone: str,
    body: str,
) -> asyncpg.Record:
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
            RETURNING id, status, twilio_sid, error_code
        )
        SELECT id, status, twilio_sid, error_code FROM created
        UNION ALL
        SELECT id, status, twilio_sid, error_code FROM sms_messages
        WHERE booking_id = $2 AND send_key = $4
        LIMIT 1
        """,
        org_id,
        booking_id,
        kind,
        send_key,
        to_phone,
        body,
    )
    assert row is not None
    return row


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
