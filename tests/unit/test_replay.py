"""Deploys never strand a booking: every recorded history replays on the workflow code of now.

A booking's workflow lives until after the visit, so a release must replay what earlier
releases wrote (a worker restart or a cache eviction replays it, and so does every query of a
closed workflow). Each folder under tests/histories/ holds one release's histories, recorded
from real runs with tests/histories/record.py; a change to workflows/ that issues different
commands for them fails here, and must keep the old path behind `workflow.patched`.
"""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker.main import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORDED = sorted(HISTORIES.glob("*/*.json"))
RECORDED = [path for path in RECORDED if path.name != "manifest.json"]


def test_there_are_histories_to_replay() -> None:
    releases = {path.parent.name for path in RECORDED}
    assert releases, f"no recorded histories under {HISTORIES}"
    for release in releases:
        assert len([p for p in RECORDED if p.parent.name == release]) >= 8, release


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_a_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"{path.parent.name}-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
