"""SQL for calendar syncs: each provider calendar's sync state, push channel and busy blocks."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from asyncpg import Range

from core.domain.availability import Interval
from core.repositories import Executor
from core.temporal.models import CalendarChannel, CalendarRef


@dataclass(frozen=True, slots=True)
class CalendarSync:
    """A provider calendar's sync state (the row is made on first use)."""

    provider_id: UUID
    org_id: UUID
    calendar_id: str
    sync_token: str | None
    channel: CalendarChannel | None


@dataclass(frozen=True, slots=True)
class ChannelOwner:
    """Whose calendar a push channel watches, and the hash of the token it must present."""

    org_id: UUID
    provider_id: UUID
    token_hash: str | None


@dataclass(frozen=True, slots=True)
class NewChannel:
    """A channel Google just opened, with the hash of the token it will present."""

    id: str
    token_hash: str
    resource_id: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class SyncHealth:
    """How fresh one provider calendar's busy times are, for metrics and the audit."""

    org_slug: str
    provider_id: UUID
    provider_name: str
    last_synced_at: datetime | None
    last_error: str | None


_COLUMNS = """provider_id, org_id, calendar_id, sync_token, channel_id, channel_resource_id,
              channel_expires_at"""


async def provider_calendars(conn: Executor, *, org_id: UUID | None = None) -> list[CalendarRef]:
    """Every provider's calendar (of one org, or all): each one gets a sync."""
    rows = await conn.fetch(
        """
        SELECT org_id, id FROM providers WHERE $1::uuid IS NULL OR org_id = $1
        ORDER BY created_at
        """,
        org_id,
    )
    return [CalendarRef(org_id=r["org_id"], provider_id=r["id"]) for r in rows]


async def open_sync(conn: Executor, *, org_id: UUID, provider_id: UUID) -> CalendarSync | None:
    """The provider's sync state, created (to sync in full) if new; None when the provider no
    longer exists, and its sync should end. A changed calendar id restarts the sync in full."""
    row = await conn.fetchrow(
        f"""
        WITH provider AS (
            SELECT org_id, id, calendar_id FROM providers WHERE id = $2 AND org_id = $1
        ), created AS (
            INSERT INTO calendar_syncs (provider_id, org_id, calendar_id)
            SELECT id, org_id, calendar_id FROM provider
            ON CONFLICT (provider_id) DO UPDATE
                SET calendar_id = EXCLUDED.calendar_id, sync_token = NULL
                WHERE calendar_syncs.calendar_id <> EXCLUDED.calendar_id
            RETURNING {_COLUMNS}
        )
        SELECT {_COLUMNS} FROM created
        UNION ALL
        SELECT {_COLUMNS} FROM calendar_syncs
        WHERE provider_id = $2 AND EXISTS (SELECT 1 FROM provider)
        LIMIT 1
        """,
        org_id,
        provider_id,
    )
    return _sync(row) if row is not None else None


async def our_event_booking_ids(conn: Executor, *, org_id: UUID, ids: list[UUID]) -> set[UUID]:
    """Which of these ids are bookings of the org: their events are ours, not busy blocks."""
    rows = await conn.fetch(
        "SELECT id FROM bookings WHERE org_id = $1 AND id = ANY($2::uuid[])", org_id, ids
    )
    return {r["id"] for r in rows}


async def apply_sync(
    pool: asyncpg.Pool,
    *,
    org_id: UUID,
    provider_id: UUID,
    full: bool,
    busy: dict[str, Interval],
    free: list[str],
    sync_token: str | None,
    keep_after: datetime,
) -> None:
    """Store one sync's result in one transaction.

    `busy` are the events that block time (event id → interval), `free` the ids that no longer
    do (deleted, made free, declined, ours). A full sync replaces every block. A block whose time
    changed counts as newly seen. Blocks that ended before `keep_after` are dropped.
    """
    ids, ranges = list(busy), [Range(*interval) for interval in busy.values()]
    async with pool.acquire() as conn, conn.transaction():
        if full:
            await conn.execute(
                """
                DELETE FROM calendar_busy_blocks
                WHERE provider_id = $1 AND NOT event_id = ANY($2::text[])
                """,
                provider_id,
                ids,
            )
        await conn.execute(
            """
            INSERT INTO calendar_busy_blocks AS k (provider_id, org_id, event_id, during)
            SELECT $1, $2, e.event_id, e.during
            FROM unnest($3::text[], $4::tstzrange[]) AS e (event_id, during)
            WHERE upper(e.during) > $5
            ON CONFLICT (provider_id, event_id) DO UPDATE
                SET first_seen_at = CASE WHEN k.during = EXCLUDED.during THEN k.first_seen_at
                                         ELSE now() END,
                    during = EXCLUDED.during,
                    updated_at = now()
            """,
            provider_id,
            org_id,
            ids,
            ranges,
            keep_after,
        )
        await conn.execute(
            """
            DELETE FROM calendar_busy_blocks
            WHERE provider_id = $1 AND (event_id = ANY($2::text[]) OR upper(during) <= $3)
            """,
            provider_id,
            free,
            keep_after,
        )
        await conn.execute(
            """
            UPDATE calendar_syncs
            SET sync_token = $2, last_synced_at = now(), last_error = NULL,
                last_full_sync_at = CASE WHEN $3 THEN now() ELSE last_full_sync_at END
            WHERE provider_id = $1
            """,
            provider_id,
            sync_token,
            full,
        )


async def record_error(conn: Executor, *, provider_id: UUID, error: str) -> None:
    """Keep the last failure where operators see it (audit, metrics); the sync retries."""
    await conn.execute(
        """
        UPDATE calendar_syncs SET last_error = $2, last_error_at = now()
        WHERE provider_id = $1
        """,
        provider_id,
        error[:1000],
    )


async def forget_sync_token(conn: Executor, *, provider_id: UUID) -> None:
    """Google no longer knows the token (410): the next sync lists everything."""
    await conn.execute(
        "UPDATE calendar_syncs SET sync_token = NULL WHERE provider_id = $1", provider_id
    )


async def replace_channel(
    conn: Executor, *, provider_id: UUID, channel: NewChannel | None
) -> CalendarChannel | None:
    """Record the provider's new push channel (None: none any more); returns the one it
    replaces, to be stopped."""
    row = await conn.fetchrow(
        """
        WITH old AS (
            SELECT channel_id, channel_resource_id, channel_expires_at FROM calendar_syncs
            WHERE provider_id = $1 FOR UPDATE
        ), changed AS (
            UPDATE calendar_syncs
            SET channel_id = $2, channel_token_hash = $3, channel_resource_id = $4,
                channel_expires_at = $5
            WHERE provider_id = $1
        )
        SELECT channel_id, channel_resource_id, channel_expires_at FROM old
        """,
        provider_id,
        channel.id if channel else None,
        channel.token_hash if channel else None,
        channel.resource_id if channel else None,
        channel.expires_at if channel else None,
    )
    return _channel(row)


async def channel_owner(conn: Executor, *, channel_id: str) -> ChannelOwner | None:
    """The provider calendar a push channel belongs to, if it is one of ours."""
    row = await conn.fetchrow(
        """
        SELECT org_id, provider_id, channel_token_hash FROM calendar_syncs
        WHERE channel_id = $1
        """,
        channel_id,
    )
    if row is None:
        return None
    return ChannelOwner(row["org_id"], row["provider_id"], row["channel_token_hash"])


async def sync_health(
    conn: Executor, *, org_id: UUID | None = None, older_than: timedelta | None = None
) -> list[SyncHealth]:
    """Every provider calendar (of one org, or all) with when it last synced (None: never) and
    its last error; with `older_than`, only those not synced for that long, counted from the
    provider's creation when never synced."""
    rows = await conn.fetch(
        """
        SELECT o.slug, p.id, p.name, s.last_synced_at, s.last_error
        FROM providers p
        JOIN organizations o ON o.id = p.org_id
        LEFT JOIN calendar_syncs s ON s.provider_id = p.id
        WHERE ($1::uuid IS NULL OR p.org_id = $1)
          AND ($2::interval IS NULL
               OR coalesce(s.last_synced_at, p.created_at) < now() - $2::interval)
        ORDER BY o.slug, p.name
        """,
        org_id,
        older_than,
    )
    return [
        SyncHealth(
            org_slug=r["slug"],
            provider_id=r["id"],
            provider_name=r["name"],
            last_synced_at=r["last_synced_at"],
            last_error=r["last_error"],
        )
        for r in rows
    ]


def _sync(row: asyncpg.Record) -> CalendarSync:
    return CalendarSync(
        provider_id=row["provider_id"],
        org_id=row["org_id"],
        calendar_id=row["calendar_id"],
        sync_token=row["sync_token"],
        channel=_channel(row),
    )


def _channel(row: asyncpg.Record | None) -> CalendarChannel | None:
    if row is None or row["channel_id"] is None or row["channel_resource_id"] is None:
        return None
    return CalendarChannel(
        id=row["channel_id"],
        resource_id=row["channel_resource_id"],
        expires_at=row["channel_expires_at"],
    )
