"""What the booking workflow reports, kept in step: its state (what the `status` query
returns), the `BookingStatus` and `AppointmentStart` search attributes operators filter on,
and the current details the Temporal UI shows."""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from uuid import UUID

    from core.domain.statuses import WorkflowStatus
    from core.temporal.models import BookingState, LifecycleResult
    from core.temporal.names import APPOINTMENT_START, BOOKING_STATUS


class BookingProgress:
    """The booking workflow's report of itself; `state` is what its `status` query returns."""

    def __init__(self, booking_id: UUID) -> None:
        self.state = BookingState(status=WorkflowStatus.RECEIVED, booking_id=booking_id)
        # When the current start was set (booked or moved): a reminder due before then is moot.
        self.start_set_at: datetime | None = None

    def hold(self, starts_at: datetime, ends_at: datetime) -> None:
        """Phase 1 made the booking: `held` at its time, both search attributes in one upsert."""
        self.state.status = WorkflowStatus.HELD
        self.state.starts_at = starts_at
        self.state.ends_at = ends_at
        self.start_set_at = workflow.now()
        workflow.upsert_search_attributes(
            [
                BOOKING_STATUS.value_set(WorkflowStatus.HELD),
                APPOINTMENT_START.value_set(starts_at),
            ]
        )

    def set_appointment(self, starts_at: datetime, ends_at: datetime) -> None:
        self.state.starts_at = starts_at
        self.state.ends_at = ends_at
        self.start_set_at = workflow.now()
        workflow.upsert_search_attributes([APPOINTMENT_START.value_set(starts_at)])

    def set_status(self, status: WorkflowStatus) -> None:
        self.state.status = status
        workflow.upsert_search_attributes([BOOKING_STATUS.value_set(status)])

    def set_details(self, text: str) -> None:
        self.state.waiting_for = text
        workflow.set_current_details(text)

    def record(self, result: LifecycleResult) -> LifecycleResult:
        """Keep the outcome of every change request in the state: signals have no caller."""
        when = workflow.now().isoformat()
        self.state.changes.append(f"{when} {result.outcome}: {result.message}")
        return result
