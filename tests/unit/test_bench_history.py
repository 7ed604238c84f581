"""Counting a history's events, workflow tasks and activities from its event types."""

from temporalio.api.enums.v1 import EventType

from bench.history import history_counts, summarize_counts

E = EventType


def _workflow_task(*commands: int) -> list[int]:
    return [
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        *commands,
    ]


def test_counts_a_booking_shaped_history() -> None:
    history = [
        E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        *_workflow_task(
            E.EVENT_TYPE_MARKER_RECORDED,
            E.EVENT_TYPE_MARKER_RECORDED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        ),
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        *_workflow_task(E.EVENT_TYPE_TIMER_STARTED),
    ]

    assert history_counts(history) == {
        "events": 16,
        "workflow_tasks": 2,
        "activity_tasks": 2,
        "markers": 2,
        "timers": 1,
    }


def test_an_empty_history_counts_zero() -> None:
    assert set(history_counts([]).values()) == {0}


def test_summary_gives_median_min_and_max_of_each_count() -> None:
    histories = [
        history_counts([E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED] * n) for n in (29, 31, 30, 40)
    ]

    summary = summarize_counts(histories)

    assert summary["sample"] == 4
    assert summary["events"] == {"median": 30.5, "min": 29, "max": 40}
    assert summary["workflow_tasks"] == {"median": 0, "min": 0, "max": 0}


def test_summary_of_no_history_says_so() -> None:
    assert summarize_counts([]) == {"sample": 0}
