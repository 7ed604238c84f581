"""Temporal names defined once: search attribute keys and task queues."""

from temporalio.common import SearchAttributeKey

BOOKING_STATUS = SearchAttributeKey.for_keyword("BookingStatus")
ORG_SLUG = SearchAttributeKey.for_keyword("OrgSlug")
APPOINTMENT_START = SearchAttributeKey.for_datetime("AppointmentStart")

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey, ...] = (
    BOOKING_STATUS,
    ORG_SLUG,
    APPOINTMENT_START,
)


def side_effect_task_queue(task_queue: str) -> str:
    """The task queue of the vendor calls (calendar, SMS) and compensation of the workflows on
    `task_queue`: separate worker slots, so side effects never queue ahead of an answer."""
    return f"{task_queue}-side-effects"
