"""Deploys never strand a booking: every recorded history replays on the workflow code of now.

A booking's workflow lives until after the visit, so a release must replay what earlier
releases wrote (a worker restart or a cache eviction replays it, and so does every query of a
closed workflow). Each folder under tests/histories/ holds one release's histories, recorded
from real runs with tests/histories/record.py; a change to workflows/ that issues different
commands for them fails here, and must keep the old path behind `workflow.patched` (README,
"Deploying a workflow change").
"""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker.main import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RELEASES = sorted(path.parent for path in HISTORIES.glob("*/manifest.json"))
RECORDED = [
    path
    for release in RELEASES
    for path in sorted(release.glob("*.json"))
    if path.name != "manifest.json"
]

# Every path a booking can be on when a release is deployed, by the name record.py saves it
# under: the newest release's folder must have each, so a recording that lost one fails here.
REQUIRED = {
    "reminded_and_completed": "booked, confirmed, reminded, completed after the visit",
    "confirmed_waiting": "confirmed, waiting for the reminder",
    "held_retrying": "held, phase 2 retrying a failing calendar",
    "unavailable": "the slot was taken",
    "invalid": "refused input",
    "phase1_error": "phase 1 could not run: answered 'try again', the run failed",
    "compensated": "the calendar refused: slot released, event deleted, apology, failed",
    "rescheduled_by_update": "moved by the reschedule_booking update (the API)",
    "cancelled_by_update": "cancelled by the cancel_booking update (the API)",
    "moved_and_cancelled_by_signal": "moved by the reschedule signal, then cancelled by the "
    "cancel signal (the Temporal UI)",
    "reminder_due_during_reschedule": "the reminder's timer fired while a move held the lock",
    "rescheduled_during_reminder": "a reschedule arrived while the reminder held the lock",
    "move_undone_while_reminder_due": "the calendar refused a move (slot moved back) during "
    "which the reminder's timer fired",
}


def _manifest(release: Path) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((release / "manifest.json").read_text())
    return manifest


def _newest() -> Path:
    return max(RELEASES, key=lambda release: str(_manifest(release)["recorded_at"]))


def test_each_release_folder_holds_what_its_manifest_lists() -> None:
    assert RELEASES, f"no recorded releases under {HISTORIES}"
    for release in RELEASES:
        recorded = sorted(p.name for p in release.glob("*.json") if p.name != "manifest.json")
        assert recorded == _manifest(release)["histories"], release.name


def test_the_newest_release_has_every_path() -> None:
    newest = _newest()
    missing = sorted(name for name in REQUIRED if not (newest / f"{name}.json").is_file())
    assert not missing, f"{newest.name} lacks {missing}"


def test_the_signal_history_moves_and_cancels_by_signal() -> None:
    """One history covers both signals: it must hold both, handled (the booking moved, then
    ended cancelled), with no update besides `book` doing it instead."""
    raw = json.loads((_newest() / "moved_and_cancelled_by_signal.json").read_text())
    events = raw["events"]
    signals = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in events
        if "workflowExecutionSignaledEventAttributes" in e
    ]
    updates = [
        e["workflowExecutionUpdateAcceptedEventAttributes"]["acceptedRequest"]["input"]["name"]
        for e in events
        if "workflowExecutionUpdateAcceptedEventAttributes" in e
    ]
    moves = [
        e
        for e in events
        if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {}).get("name")
        == "move_calendar_event"
    ]
    assert signals == ["reschedule", "cancel"]
    assert updates == ["book"]
    assert moves, "the signalled reschedule never moved the event"
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_a_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"{path.parent.name}-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
