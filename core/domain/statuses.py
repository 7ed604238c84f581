"""A booking's statuses, named once: the database's (the `booking_status` SQL enum) and the
workflow's, which adds the steps and answers that have no row of their own.

Both are `StrEnum`s, so they travel as the same strings as before (payloads, search
attributes, SQL parameters) and compare equal to them.
"""

from enum import StrEnum


class BookingStatus(StrEnum):
    """A booking row's status: exactly the values of the SQL enum `booking_status`
    (tests/integration/test_schema.py compares the two)."""

    HELD = "held"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# The statuses that occupy a slot: the exclusion constraint and every query about who holds a
# time use exactly these.
OCCUPYING: tuple[BookingStatus, ...] = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class WorkflowStatus(StrEnum):
    """What the booking workflow reports (its `status` query and the `BookingStatus` search
    attribute): the row's statuses, the steps before and between them, and, for a run that
    booked nothing, the caller's answer."""

    RECEIVED = "received"
    HELD = "held"
    CONFIRMED = "confirmed"
    COMPENSATING = "compensating"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ALREADY_BOOKED = "already_booked"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"
    ERROR = "error"
