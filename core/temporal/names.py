"""Names and ids defined once: search attribute keys and workflow / update id formats."""

import uuid

from temporalio.common import SearchAttributeKey

BOOKING_STATUS = SearchAttributeKey.for_keyword("BookingStatus")
ORG_SLUG = SearchAttributeKey.for_keyword("OrgSlug")
APPOINTMENT_START = SearchAttributeKey.for_datetime("AppointmentStart")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (
    BOOKING_STATUS,
    ORG_SLUG,
    APPOINTMENT_START,
)


# Fixed namespace for booking ids derived from (org, idempotency key); never change it, or
# retries that straddle a deploy would create a second booking.
_BOOKING_NAMESPACE = uuid.UUID("3f0c8a52-6f7e-4f0e-9a53-5b7e0e3c1d21")


def booking_id_for(org_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The booking id of one request: the same for every retry of the same tool call."""
    return uuid.uuid5(_BOOKING_NAMESPACE, f"{org_id}:{idempotency_key}")


def booking_workflow_id(booking_id: uuid.UUID) -> str:
    """Workflow id of a booking; operators can paste the booking id from the database."""
    return f"booking-{booking_id}"


def calendar_sync_workflow_id(provider_id: uuid.UUID) -> str:
    """Workflow id of the sync that keeps one provider calendar's busy times in Postgres."""
    return f"calendar-sync-{provider_id}"


def side_effect_task_queue(task_queue: str) -> str:
    """The task queue of the vendor calls (calendar, SMS) and compensation of the workflows on
    `task_queue`: separate worker slots, so side effects never queue ahead of an answer."""
    return f"{task_queue}-side-effects"
