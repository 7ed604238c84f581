"""SQL for `booking audit`: read-only queries for rows that break the invariants.

The schema forbids some of what these look for (the CHECK on confirmed bookings, the exclusion
constraint); the audit asks anyway, because a database restored from a dump without constraints,
or a constraint dropped by hand, would not say so. Every query takes `org_id`: None audits all
orgs. Rows carry the org's slug, since a report names orgs the way operators do.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from core.domain.availability import Interval
from core.domain.statuses import BookingStatus
from core.errors import NotFound
from core.repositories import OCCUPYING_SQL, Executor, from_record

# SMS rows not yet accepted by Twilio, and rows Twilio has not reported on since (these statuses
# are what the `sms_messages_pending` partial index covers).
_UNSENT = "pending"
_IN_FLIGHT = ("queued", "sending")


@dataclass(frozen=True, slots=True)
class ConfirmedWithoutEvent:
    """A confirmed booking with no calendar event."""

    id: UUID
    org_slug: str
    starts_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class OverlappingPair:
    """Two bookings of one provider occupying shared time; `overlap` is that time."""

    id: UUID
    other_id: UUID
    org_slug: str
    status: BookingStatus
    other_status: BookingStatus
    overlap: Interval


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleSms:
    """An SMS ledger row waiting too long; `waiting_seconds` counts from creation for a
    pending row, from its last update otherwise."""

    id: UUID
    booking_id: UUID
    org_slug: str
    kind: str
    status: str
    to_phone: str
    waiting_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingToReconcile:
    """A booking to compare with its workflow. `upcoming`: the appointment has not ended;
    `settled`: unchanged for the grace."""

    id: UUID
    org_slug: str
    status: BookingStatus
    workflow_id: str
    upcoming: bool
    settled: bool
    seconds_since_update: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BusyBlockConflict:
    """A booking under a calendar busy block (event `event_id`, from `block_start`) that
    arrived after the booking was made."""

    id: UUID
    org_slug: str
    starts_at: datetime
    event_id: str
    block_start: datetime


async def org_id_by_slug(conn: Executor, *, slug: str) -> UUID:
    """The id of the org with this slug; NotFound if there is none."""
    org_id: UUID | None = await conn.fetchval("SELECT id FROM organizations WHERE slug = $1", slug)
    if org_id is None:
        raise NotFound(f"there is no org {slug!r}")
    return org_id


async def confirmed_without_event(
    conn: Executor, *, org_id: UUID | None
) -> list[ConfirmedWithoutEvent]:
    """Confirmed bookings with no calendar event."""
    rows = await conn.fetch(
        """
        SELECT b.id, o.slug AS org_slug, b.starts_at
        FROM bookings b JOIN organizations o ON o.id = b.org_id
        WHERE b.status = 'confirmed' AND b.calendar_event_id IS NULL
          AND ($1::uuid IS NULL OR b.org_id = $1)
        ORDER BY o.slug, b.starts_at
        """,
        org_id,
    )
    return [from_record(ConfirmedWithoutEvent, r) for r in rows]


async def overlapping(conn: Executor, *, org_id: UUID | None) -> list[OverlappingPair]:
    """Pairs of held/confirmed bookings of one provider whose occupied ranges overlap, each pair
    once."""
    # The join condition is the exclusion constraint's own (provider =, during &&), and the
    # statuses its own literal list, so its partial GiST index serves the self-join instead of
    # a comparison of every pair.
    rows = await conn.fetch(
        f"""
        SELECT a.id, b.id AS other_id, o.slug AS org_slug, a.status::text AS status,
               b.status::text AS other_status, a.during * b.during AS overlap
        FROM bookings a
        JOIN bookings b ON b.provider_id = a.provider_id AND b.org_id = a.org_id
                       AND b.during && a.during AND b.id > a.id
        JOIN organizations o ON o.id = a.org_id
        WHERE a.status IN {OCCUPYING_SQL} AND b.status IN {OCCUPYING_SQL}
          AND ($1::uuid IS NULL OR a.org_id = $1)
        ORDER BY o.slug, lower(a.during)
        """,
        org_id,
    )
    return [
        from_record(
            OverlappingPair,
            r,
            status=BookingStatus(r["status"]),
            other_status=BookingStatus(r["other_status"]),
            overlap=(r["overlap"].lower, r["overlap"].upper),
        )
        for r in rows
    ]


async def stale_sms(
    conn: Executor, *, org_id: UUID | None, older_than: timedelta
) -> list[StaleSms]:
    """SMS still `pending` `older_than` after creation, or `queued`/`sending` without an update
    for that long."""
    # Pending counts from creation: retries bump updated_at, and a text that has not left after
    # this long is late however busily it is being retried.
    rows = await conn.fetch(
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
    return [from_record(StaleSms, r) for r in rows]


async def bookings_to_reconcile(
    conn: Executor, *, org_id: UUID | None, grace: timedelta, workflow_ids: list[str]
) -> list[BookingToReconcile]:
    """The bookings to compare with Temporal: those whose workflow is in `workflow_ids` (the
    running ones), whatever their status, and those that need a running workflow and have been
    unchanged for `grace` (held, or confirmed with the appointment still ahead).
    """
    # Confirmed bookings whose visit is over are left out: their workflows end after the visit
    # and Temporal's retention then forgets them, so there is nothing left to compare.
    rows = await conn.fetch(
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
    return [from_record(BookingToReconcile, r, status=BookingStatus(r["status"])) for r in rows]


async def busy_block_conflicts(conn: Executor, *, org_id: UUID | None) -> list[BusyBlockConflict]:
    """Upcoming held/confirmed bookings that overlap a calendar busy block which arrived after
    the booking was made (the clinic blocked the time in Google later)."""
    rows = await conn.fetch(
        f"""
        SELECT b.id, o.slug AS org_slug, b.starts_at, k.event_id,
               lower(k.during) AS block_start
        FROM bookings b
        JOIN calendar_busy_blocks k ON k.provider_id = b.provider_id AND k.org_id = b.org_id
                                   AND k.during && b.during AND k.first_seen_at > b.created_at
        JOIN organizations o ON o.id = b.org_id
        WHERE b.status IN {OCCUPYING_SQL} AND b.ends_at > now()
          AND ($1::uuid IS NULL OR b.org_id = $1)
        ORDER BY o.slug, b.starts_at
        """,
        org_id,
    )
    return [from_record(BusyBlockConflict, r) for r in rows]
