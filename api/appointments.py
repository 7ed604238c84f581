"""A caller's upcoming appointments: the `find_appointments` tool and `GET /bookings/upcoming`.

An answer path: read from Postgres only (no workflow, no vendor), so it answers even while
Temporal is busy. Held and confirmed bookings count, as they do for reschedule and cancel by
number (`core.repositories.bookings.next_upcoming_for_phone`): the first one listed is the one
those tools change when no booking id is given.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from core.domain import find_messages
from core.domain.messages import say
from core.domain.normalize import normalize_phone
from core.domain.statuses import OCCUPYING
from core.errors import InvalidInput
from core.repositories import booking_queries
from core.repositories.booking_queries import BookingFilter, BookingSummaryRow
from core.services.orgs import Org

# How many are read and returned; the answer says when more follow.
UPCOMING_LIMIT = 5


@dataclass(frozen=True, slots=True)
class UpcomingAnswer:
    """The caller's next bookings (at most `UPCOMING_LIMIT`, soonest first), whether more
    follow, and the sentence an agent can read out."""

    bookings: list[BookingSummaryRow]
    more: bool
    message: str

    def facts(self, org: Org) -> dict[str, Any]:
        """What the agent needs to reschedule or cancel one: ids and local ISO starts."""
        return {
            "appointments": [
                {
                    "booking_id": str(row.id),
                    "start": row.starts_at.astimezone(org.time_zone).isoformat(),
                    "service": row.service_name,
                    "provider": row.provider_name,
                    "status": row.status.value,
                }
                for row in self.bookings
            ],
            "more": self.more,
        }


async def find_upcoming(
    pool: asyncpg.Pool, org: Org, *, phone: str | None, caller_phone: str | None
) -> UpcomingAnswer:
    """Held and confirmed bookings of `phone` (or else the caller's number) in this org that
    start from now on. InvalidInput (with a speakable message) when there is no number or it
    cannot be read."""
    number = _number(org, phone=phone, caller_phone=caller_phone)
    rows, more = await booking_queries.page(
        pool,
        org_id=org.id,
        filters=BookingFilter(statuses=OCCUPYING, starts_from=datetime.now(UTC), phone=number),
        after=None,
        limit=UPCOMING_LIMIT,
    )
    spoken = [
        find_messages.SpokenAppointment(row.service_name, row.provider_name, row.starts_at)
        for row in rows
    ]
    return UpcomingAnswer(
        bookings=rows,
        more=more,
        message=find_messages.upcoming_appointments(
            spoken, more=more, tz=org.time_zone, locale=org.locale
        ),
    )


def _number(org: Org, *, phone: str | None, caller_phone: str | None) -> str:
    """The E.164 number to look up: the given one (read in the org's region), else the
    caller's."""
    if phone:
        return normalize_phone(phone, org.default_region)
    if not caller_phone:
        raise InvalidInput(say(find_messages.FIND_NEEDS_A_NUMBER, org.locale), field="phone")
    try:
        return normalize_phone(caller_phone, org.default_region)
    except InvalidInput:
        # Not the caller's fault ("anonymous", a SIP URI): ask for the number instead.
        raise InvalidInput(
            say(find_messages.CALLER_NUMBER_UNREADABLE, org.locale), field="phone"
        ) from None
