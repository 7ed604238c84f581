"""Ids defined once: a booking's id (the same for every retry of one tool call) and the
workflow ids operators search for, with the way back from a workflow id to its booking."""

import uuid

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


_BOOKING_WORKFLOW_PREFIX = booking_workflow_id(uuid.UUID(int=0)).removesuffix(str(uuid.UUID(int=0)))


def booking_id_of_workflow(workflow_id: str) -> str | None:
    """The booking id in a booking workflow's id, or None for any other workflow."""
    if workflow_id.startswith(_BOOKING_WORKFLOW_PREFIX):
        return workflow_id.removeprefix(_BOOKING_WORKFLOW_PREFIX)
    return None
