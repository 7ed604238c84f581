"""Names and ids defined once: search attribute keys and workflow / update id formats."""

import hashlib

from temporalio.common import SearchAttributeKey

BOOKING_STATUS = SearchAttributeKey.for_keyword("BookingStatus")
ORG_SLUG = SearchAttributeKey.for_keyword("OrgSlug")
APPOINTMENT_START = SearchAttributeKey.for_datetime("AppointmentStart")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (
    BOOKING_STATUS,
    ORG_SLUG,
    APPOINTMENT_START,
)


def booking_workflow_id(org_slug: str, idempotency_key: str) -> str:
    """Workflow id for one booking request: stable across retries of the same tool call.

    The key is hashed so any caller-supplied string (ids, punctuation) gives a safe, bounded id.
    """
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"booking-{org_slug}-{digest}"
