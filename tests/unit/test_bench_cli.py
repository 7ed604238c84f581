"""`python -m bench` options: levels, a run's name, and the earlier result to compare with."""

import argparse
import json
from pathlib import Path

import pytest

from bench.__main__ import _compare, _levels, _name


def test_levels_are_concurrency_requests_pairs() -> None:
    assert _levels("1:50,10:300") == [(1, 50), (10, 300)]
    for bad in ("1", "1:0", "a:b", "1:2:3"):
        with pytest.raises(argparse.ArgumentTypeError):
            _levels(bad)


def test_compare_reads_the_history_figure_of_an_earlier_result(tmp_path: Path) -> None:
    earlier = tmp_path / "before.json"
    earlier.write_text(json.dumps({"history": {"ours": {"events": {"median": 29}}}}))
    older = tmp_path / "older.json"
    older.write_text(json.dumps({"latency": []}))  # from before the history count

    assert _compare(str(earlier)) == {"path": str(earlier), "history_events_median": 29.0}
    assert _compare(str(older))["history_events_median"] is None
    with pytest.raises(argparse.ArgumentTypeError):
        _compare(str(tmp_path / "missing.json"))


def test_a_run_name_is_a_plain_file_name() -> None:
    assert _name("issue-13.after") == "issue-13.after"
    for bad in ("latest", "../x", "a/b", "-x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            _name(bad)
