"""The targets table: every target read from a result, met or not, never asserted by the bench."""

from typing import Any

from bench.targets import check_targets, history_events_median, ratio, ratios


def _level(target: str, concurrency: int, p50: float, p99: float, rate: float) -> dict[str, Any]:
    return {
        "target": target,
        "concurrency": concurrency,
        "requests": 100,
        "p50_ms": p50,
        "p95_ms": p99,
        "p99_ms": p99,
        "max_ms": p99,
        "answers_per_s": rate,
        "outcomes": {"booked": 100},
    }


def _result(*, fast: bool) -> dict[str, Any]:
    """A run that meets every target (fast) or misses every one."""
    ours_c1 = 20.0 if fast else 113.0
    c50 = _level("ours", 50, 500, 900, 45.0 if fast else 16.9)
    c50["end_to_end"] = {
        "booked": 100,
        "confirmed": 100 if fast else 99,
        "last_confirmed_after_last_answer_s": 12.0 if fast else 75.0,
    }
    return {
        "latency": [
            _level("ours", 1, ours_c1, 40, 40),
            _level("floor", 1, 15, 30, 60),
            _level("baseline", 1, 8, 12, 120),
            _level("ours", 10, 100, 250 if fast else 1602, 90),
            c50,
        ],
        "contention": {
            "ours": {
                "single_slot": {
                    **_level("ours", 100, 600, 1200, 80),
                    "max_ms": 1400 if fast else 3900,
                    "outcomes": {"booked": 1, "unavailable": 99},
                    "rows_held_or_confirmed": 1,
                    "exactly_one": True,
                }
            }
        },
        "realistic_vendor": {
            "runs": [
                {"concurrency": 1, "vendor_latency": False, "p50_ms": 20},
                {
                    "concurrency": 1,
                    "vendor_latency": True,
                    "p50_ms": 25,
                    "answer_p50_moved_ms": 5.0 if fast else 216.0,
                },
            ]
        },
        "history": {"ours": {"events": {"median": 20 if fast else 31, "min": 20, "max": 33}}},
        "compare": {"history_events_median": 31.0},
    }


def test_a_run_that_meets_everything() -> None:
    checks = check_targets(_result(fast=True))

    assert [c["met"] for c in checks] == [True] * 8
    assert checks[0]["target"] == "c=1 answer p50 ≤ 3× baseline"
    assert checks[0]["value"] == "20.0 ms = 2.5× 8 ms"
    assert checks[1]["value"] == "20.0 ms = 1.33× 15 ms"
    assert checks[-1]["value"] == "20 (before 31: -35%)"


def test_a_run_that_misses_everything() -> None:
    checks = {c["target"]: c for c in check_targets(_result(fast=False))}

    assert [c["met"] for c in checks.values()] == [False] * 8
    assert checks["c=10 answer p99 ≤ 300 ms"]["value"] == "1602 ms"
    assert checks["c=50 phase 2 done ≤ 60 s after the last answer"]["value"] == (
        "75.0 s, 99/100 confirmed"
    )
    assert checks["realistic vendor latency moves the answer p50 by ≤ 10 ms"]["value"] == (
        "c=1: +216.0 ms"
    )


def test_phase_2_must_confirm_every_booking_even_when_quick() -> None:
    result = _result(fast=True)
    result["latency"][-1]["end_to_end"]["confirmed"] = 99

    check = next(c for c in check_targets(result) if c["target"].startswith("c=50 phase 2"))

    assert check["met"] is False


def test_one_slot_needs_exactly_one_booking_however_fast() -> None:
    result = _result(fast=True)
    result["contention"]["ours"]["single_slot"]["exactly_one"] = False

    check = next(c for c in check_targets(result) if "one slot" in c["target"])

    assert check["met"] is False


def test_history_without_an_earlier_figure_is_reported_not_judged() -> None:
    result = _result(fast=True)
    del result["compare"]

    check = check_targets(result)[-1]

    assert check["met"] is None
    assert check["value"] == "20 (no earlier figure: --compare)"


def test_targets_of_levels_not_run_are_left_out() -> None:
    result = {"latency": [_level("ours", 10, 100, 250, 90)], "contention": {}}

    assert [c["target"] for c in check_targets(result)] == ["c=10 answer p99 ≤ 300 ms"]


def test_ratios_of_ours_to_another_target() -> None:
    ours, floor = _level("ours", 1, 30, 90, 20), _level("floor", 1, 15, 30, 80)

    assert ratios(ours, floor) == {"p50": 2.0, "p99": 3.0, "answers_per_s": 0.25}
    assert ratio(10, 0) is None
    assert ratio(None, 5) is None


def test_history_median_of_an_earlier_result() -> None:
    assert history_events_median(_result(fast=False)) == 31.0
    assert history_events_median({"latency": []}) is None
