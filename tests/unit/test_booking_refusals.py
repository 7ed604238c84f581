"""A booking workflow whose phase 1 booked nothing refuses every change, whatever the answer.

Such a run stays open for a moment after answering (until its handlers finish); a reschedule
or cancel reaching it then must be refused in words, not attempted on a booking row that does
not exist (a NotFound logged as a failed booking).
"""

from typing import get_args

from core.domain.messages import CHANGE_REFUSALS
from core.temporal.models import BookOutcome


def test_every_answer_that_made_no_booking_refuses_changes() -> None:
    not_booked = [outcome for outcome in get_args(BookOutcome) if outcome != "booked"]
    assert not_booked, "BookOutcome lists the answers"
    assert [outcome for outcome in not_booked if outcome not in CHANGE_REFUSALS] == []
