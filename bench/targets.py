"""The figures the project aims for, checked against one run: reported met or not, never asserted.

Pure functions of the result dict (and of an earlier result, for the one target that is a
reduction), so they can be checked on figures made up in a test.
"""

from typing import Any

C1_TIMES_BASELINE = 3.0
C1_TIMES_FLOOR = 1.5
C10_P99_MS = 300.0
C50_ANSWERS_PER_S = 40.0
C50_PHASE2_AFTER_LAST_ANSWER_S = 60.0
SINGLE_SLOT_ANSWERED_MS = 1500.0
VENDOR_MOVES_P50_MS = 10.0
HISTORY_REDUCTION = 0.30


def ratios(ours: dict[str, Any], other: dict[str, Any]) -> dict[str, float | None]:
    """ours ÷ other for p50, p99 (lower is better) and answers/s (higher is better)."""
    return {
        key: ratio(ours.get(field), other.get(field))
        for key, field in (("p50", "p50_ms"), ("p99", "p99_ms"), ("answers_per_s", "answers_per_s"))
    }


def ratio(ours: float | None, other: float | None) -> float | None:
    if ours is None or not other:
        return None
    return round(ours / other, 2)


def history_events_median(result: dict[str, Any]) -> float | None:
    """Median history events per confirmed booking in a result (None in results older than
    the history count, or where no booking was sampled)."""
    events = result.get("history", {}).get("ours", {}).get("events")
    return None if events is None else float(events["median"])


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target present in the run: its name, the figure as read, and met (True/False, or
    None where it cannot be judged from this run alone)."""
    levels = {(e["target"], e["concurrency"]): e for e in result["latency"]}
    checks: list[dict[str, Any]] = []
    if ("ours", 1) in levels:
        ours, base, floor = (levels.get((t, 1)) for t in ("ours", "baseline", "floor"))
        p50 = ours["p50_ms"] if ours else None
        for other, name, factor in (
            (base, "baseline", C1_TIMES_BASELINE),
            (floor, "Temporal floor", C1_TIMES_FLOOR),
        ):
            if p50 is None or other is None:
                continue
            times = ratio(p50, other["p50_ms"])
            checks.append(
                _check(
                    f"c=1 answer p50 ≤ {factor:g}× {name}",
                    f"{p50} ms = {times}× {other['p50_ms']} ms",
                    times is not None and times <= factor,
                )
            )
    if ("ours", 10) in levels:
        p99 = levels["ours", 10]["p99_ms"]
        checks.append(
            _check(f"c=10 answer p99 ≤ {C10_P99_MS:g} ms", f"{p99} ms", p99 <= C10_P99_MS)
        )
    if ("ours", 50) in levels:
        entry = levels["ours", 50]
        rate = entry["answers_per_s"]
        checks.append(
            _check(f"c=50 ≥ {C50_ANSWERS_PER_S:g} answers/s", rate, rate >= C50_ANSWERS_PER_S)
        )
        e2e = entry.get("end_to_end", {})
        lag = e2e.get("last_confirmed_after_last_answer_s")
        all_done = e2e.get("confirmed") == e2e.get("booked")
        checks.append(
            _check(
                f"c=50 phase 2 done ≤ {C50_PHASE2_AFTER_LAST_ANSWER_S:g} s after the last answer",
                f"{lag} s, {e2e.get('confirmed')}/{e2e.get('booked')} confirmed",
                lag is not None and all_done and lag <= C50_PHASE2_AFTER_LAST_ANSWER_S,
            )
        )
    single = result.get("contention", {}).get("ours", {}).get("single_slot")
    if single:
        checks.append(
            _check(
                f"{single['requests']} callers on one slot: exactly one booked, all answered "
                f"within {SINGLE_SLOT_ANSWERED_MS / 1000:g} s",
                f"{single['outcomes'].get('booked', 0)} booked, "
                f"{single.get('rows_held_or_confirmed')} rows, last answer {single['max_ms']} ms",
                bool(single.get("exactly_one")) and single["max_ms"] <= SINGLE_SLOT_ANSWERED_MS,
            )
        )
    moved = [
        (run["concurrency"], run["answer_p50_moved_ms"])
        for run in result.get("realistic_vendor", {}).get("runs", [])
        if "answer_p50_moved_ms" in run
    ]
    if moved:
        checks.append(
            _check(
                f"realistic vendor latency moves the answer p50 by ≤ {VENDOR_MOVES_P50_MS:g} ms",
                ", ".join(f"c={c}: {ms:+} ms" for c, ms in moved),
                all(ms <= VENDOR_MOVES_P50_MS for _, ms in moved),
            )
        )
    events = history_events_median(result)
    if events is not None:
        before = result.get("compare", {}).get("history_events_median")
        name = f"history events per confirmed booking ≥ {HISTORY_REDUCTION:.0%} fewer"
        if before:
            change = events / before - 1
            checks.append(
                _check(
                    name,
                    f"{events:g} (before {before:g}: {change:+.0%})",
                    events <= (1 - HISTORY_REDUCTION) * before,
                )
            )
        else:
            checks.append(_check(name, f"{events:g} (no earlier figure: --compare)", None))
    return checks


def _check(name: str, value: Any, met: bool | None) -> dict[str, Any]:
    return {"target": name, "value": value, "met": met}
