"""Status callbacks only ever move an SMS ledger row forward through Twilio's lifecycle."""

import pytest

from core.repositories.sms import statuses_superseded_by

LIFECYCLE = ["pending", "queued", "sending", "sent"]
FINAL = ["delivered", "undelivered", "failed", "canceled", "read"]


@pytest.mark.parametrize("index", range(len(LIFECYCLE)))
def test_a_status_supersedes_only_earlier_ones(index: int) -> None:
    status = LIFECYCLE[index]
    assert statuses_superseded_by(status) >= set(LIFECYCLE[:index])
    assert not statuses_superseded_by(status) & set(LIFECYCLE[index:])


@pytest.mark.parametrize("final", FINAL)
def test_a_final_status_supersedes_every_progress_status_and_no_final_one(final: str) -> None:
    superseded = statuses_superseded_by(final)
    assert set(LIFECYCLE) | {"accepted", "scheduled"} <= superseded
    assert not superseded & set(FINAL)


def test_late_sent_does_not_undo_delivered() -> None:
    assert "delivered" not in statuses_superseded_by("sent")
    assert "sent" in statuses_superseded_by("delivered")


@pytest.mark.parametrize("status", ["skipped", "pending", "", "some_future_status"])
def test_ledger_only_and_unknown_statuses_supersede_nothing(status: str) -> None:
    assert statuses_superseded_by(status) == frozenset()


def test_ledger_final_statuses_are_never_superseded() -> None:
    # `skipped` and `failed` rows have no SID, but a callback must not revive them either way.
    for status in LIFECYCLE + FINAL:
        assert "skipped" not in statuses_superseded_by(status)
        assert "failed" not in statuses_superseded_by(status)
