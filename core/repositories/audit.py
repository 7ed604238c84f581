"""SQL for `booking audit`: read-only queries for rows that break the invariants.

The schema forbids some of what these look for (the CHECK on confirmed bookings, the exclusion
constraint); the audit asks anyway, because a database restored from a dump without constraints,
or a constraint dropped by hand, would not say so. Every query takes `org_id`: None audits all
orgs. Rows carry the org's slug, since a report names orgs the way operators do.
"""

from datetime import timedelta
from uuid import UUID

import asyncpg

from core.errors import NotFound
from core.repositories import Executor

# SMS rows not yet accepted by Twilio, and rows Twilio has not reported on since (these statuses
# are what the `sms_messages_pending` partial index covers).
_UNSENT = "pending"
_IN_FLIGHT = ("queued", "sending")


async def org_id_by_slug(conn: Executor, *, slug: str) -> UUID:
    """The id of the org with this slug; NotFound if there is none."""
    org_id: UUID | None = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    if org_id is None:
        raise NotFound(f"there is no org {slug!r}")
    return org_id


async def confirmed_without_event(conn: Executor, *, org_id: UUID | None) -> list[asyncpg.Record]:
    """Confirmed bookings with no calendar event: id, org_slug, starts_at."""
    return await conn.fetch(
        """
        SELECT b.id, o.slug AS org_slug, b.starts_at
        FROM bookings b JOIN organizations o ON o.id = b.org_id
        WHERE b.status = 'confirmed' AND b.calendar_event_id IS NULL
          AND ($1::uuid IS NULL OR b.org_id = $1)
        ORDER BY o.slug, b.starts_at
        """,
        org_id,
    )


async def overlapping(conn: Executor, *, org_id: UUID | None) -> list[asyncpg.Record]:
    """Pairs of held/confirmed bookings of one provider whose occupied ranges overlap, each pair
    once: id, other_id, org_slug, status, other_status, overlap (the shared range)."""
    # The join condition is the exclusion constraint's own (provider =, during &&), so its GiST
    # index serves the self-join instead of a comparison of every pair.
    return await conn.fetch(
        """
        SELECT a.id, b.id AS other_id, o.slug AS org_slug, a.status::text AS status,
               b.status::text AS other_status, a.during * b.during AS overlap
        FROM bookings a
        JOIN bookings b ON b.provider_id = a.provider_id AND b.org_id = a.org_id
                       AND b.during && a.during AND b.id > a.id
        JOIN organizations o ON o.id = a.org_id
        WHERE a.status IN ('held', 'confirmed') AND b.status IN ('held', 'confirmed')
          AND ($1::uuid IS NULL OR a.org_id = $1)
        ORDER BY o.slug, lower(a.during)
        """,
        org_id,
    )


async def stale_sms(
    conn: Executor, *, org_id: UUID | None, older_than: timedelta
) -> list[asyncpg.Record]:
    """SMS still `pending` `older_than` after creation, or `queued`/`sending` without an update
    for that long: id, booking_id, org_slug, kind, status, to_phone, waiting_seconds."""
    # Pending counts from creation: retries bump updated_at, and a text that has not left after
    # this long is late however busily it is being retried.
    return await conn.fetch(
        """
        SELECT m.id, m.booking_id, o.slug AS org_slug, m.kind, m.status, m.to_phone,
               extract(epoch FROM now() - CASE WHEN m.status = $3 THEN m.created_at
                                               ELSE m.updated_at END)::float8
                   AS waiting_seconds
        FROM sms_messages m JOIN organizations o ON o.id = m.org_id
        WHERE ((m.status = $3 AND m.created_at < now() - $2::interval)
               OR (m.status = ANY($4::text[]) AND m.updated_at < now() - $2::interval))
          AND ($1::uuid IS NULL OR m.org_id = $1)
        ORDER BY o.slug, m.created_at
        """,
        org_id,
        older_than,
        _UNSENT,
        list(_IN_FLIGHT),
    )


async def bookings_to_reconcile(
    conn: Executor, *, org_id: UUID | None, grace: timedelta, workflow_ids: list[str]
) -> list[asyncpg.Record]:
    """The bookings to compare with Temporal: those whose workflow is in `workflow_ids` (the
    running ones), whatever their status, and those that need a running workflow and have been
    unchanged for `grace` (held, or confirmed with the appointment still ahead).

    Columns: id, org_slug, status, workflow_id, upcoming (the appointment has not ended),
    settled (unchanged for `grace`), seconds_since_update.
    """
    # Confirmed bookings whose visit is over are left out: their workflows end after the visit
    # and Temporal's retention then forgets them, so there is nothing left to compare.
    return await conn.fetch(
        """
        SELECT b.id, o.slug AS org_slug, b.status::text AS status, b.workflow_id,
               b.ends_at > now() AS upcoming,
               b.updated_at < now() - $2::interval AS settled,
               extract(epoch FROM now() - b.updated_at)::float8 AS seconds_since_update
        FROM bookings b JOIN organizations o ON o.id = b.org_id
        WHERE ($1::uuid IS NULL OR b.org_id = $1)
          AND (b.workflow_id = ANY($3::text[])
               OR (b.updated_at < now() - $2::interval
                   AND (b.status = 'held' OR (b.status = 'confirmed' AND b.ends_at > now()))))
        ORDER BY o.slug, b.starts_at
        """,
        org_id,
        grace,
        workflow_ids,
    )


async def busy_block_conflicts(conn: Executor, *, org_id: UUID | None) -> list[asyncpg.Record]:
    """Upcoming held/confirmed bookings that overlap a calendar busy block which arrived after
    the booking was made (the clinic blocked the time in Google later): id, org_slug,
    starts_at, event_id, block_start."""
    return await conn.fetch(
        """
        SELECT b.id, o.slug AS org_slug, b.starts_at, k.event_id,
               lower(k.during) AS block_start
        FROM bookings b
        JOIN calendar_busy_blocks k ON k.provider_id = b.provider_id AND k.org_id = b.org_id
                                   AND k.during && b.during AND k.first_seen_at > b.created_at
        JOIN organizations o ON o.id = b.org_id
        WHERE b.status IN ('held', 'confirmed') AND b.ends_at > now()
          AND ($1::uuid IS NULL OR b.org_id = $1)
        ORDER BY o.slug, b.starts_at
        """,
        org_id,
    )
