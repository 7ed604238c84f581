"""The names the workflows' handlers are registered under stay what the outside uses.

Callers in this codebase reach handlers by reference (workflows.client), so a renamed method
fails type-checking; but the Temporal UI's "Send a Signal", operators' scripts,
tests/histories/record.py and the recorded histories use the registered names, which a
renamed `name=` (or a method renamed without one) would break silently. The names are read
from the workflow definitions the SDK builds, as a worker registers them.
"""

from temporalio import workflow

from workflows.booking import BookingWorkflow
from workflows.calendar_sync import CalendarSyncWorkflow


def _definition(cls: type) -> workflow._Definition:
    return workflow._Definition.must_from_class(cls)


def test_the_booking_workflows_handlers_keep_their_registered_names() -> None:
    booking = _definition(BookingWorkflow)
    assert booking.name == "BookingWorkflow"  # core/ops/audit.py lists runs by this type
    assert sorted(booking.signals) == ["cancel", "reschedule"]
    assert sorted(booking.updates) == ["book", "cancel_booking", "reschedule_booking"]
    assert sorted(booking.queries) == ["status"]


def test_the_references_callers_use_are_the_registered_handlers() -> None:
    booking = _definition(BookingWorkflow)
    by_reference = {
        "reschedule": BookingWorkflow.reschedule_signal,
        "cancel": BookingWorkflow.cancel_signal,
    }
    for name, method in by_reference.items():
        assert booking.signals[name].fn is method
    assert booking.updates["reschedule_booking"].fn is BookingWorkflow.reschedule
    assert booking.updates["cancel_booking"].fn is BookingWorkflow.cancel
    assert booking.queries["status"].fn is BookingWorkflow.status


def test_the_calendar_syncs_handlers_keep_their_registered_names() -> None:
    sync = _definition(CalendarSyncWorkflow)
    assert sorted(sync.signals) == ["changed", "stop"]
    assert sorted(sync.queries) == ["status"]
    # workflows.client starts a sync with this signal by its method's name.
    assert sync.signals[CalendarSyncWorkflow.changed.__name__].fn is CalendarSyncWorkflow.changed
