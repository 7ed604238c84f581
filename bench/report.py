"""The bench's output: markdown tables, and the JSON and the latency plot under bench/results/.

The machine the run happened on is recorded by `bench.environment`.
"""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cpu import BENCH
from bench.history import COUNTED
from bench.plot import TARGETS, plot_latency

RESULTS = Path(__file__).resolve().parent / "results"
# CPU columns in this order: ours, the servers, the sandboxes, the other targets, the bench.
_PROCESSES = (
    "api",
    "worker",
    "side_effects",
    "temporal",
    "postgres",
    "sandboxes",
    "floor",
    "floor_worker",
    "baseline",
    BENCH,
)


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        f"booking bench — {result['finished_at']} — commit {str(env['commit'])[:10]}"
        f"{' (dirty)' if env['dirty'] else ''} — {env['cpu_count']} CPUs, Python {env['python']}",
        f"load before: {result['load_before']['loadavg']} {result['load_before']['busy'] or ''}",
    ]
    lines += _latency_table(result)
    lines += _end_to_end_table(result)
    lines += _vendor_table(result)
    lines += _breakdown_table(result)
    lines += _history_table(result)
    lines += _cpu_table(result)
    lines += _contention_table(result)
    memory = ", ".join(f"{name} {mib:.0f}" for name, mib in result["peak_rss_mib"].items())
    lines += ["", f"peak RSS (MiB, process + children): {memory}"]
    lines += ["", "| target | value | met |", "|---|---|---|"]
    lines += [f"| {c['target']} | {c['value']} | {_met(c['met'])} |" for c in result["targets"]]
    lines.append(
        f"load after: {result['load_after']['loadavg']} {result['load_after']['busy'] or ''}"
    )
    return "\n".join(lines)


def _latency_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "| answer latency | target | c | requests | p50 ms | p95 ms | p99 ms | max ms | answers/s"
        " | ours ÷ baseline p50 / p99 / answers/s | ours ÷ floor p50 / p99 / answers/s"
        " | outcomes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_level: dict[int, list[dict[str, Any]]] = {}
    for entry in result["latency"]:
        by_level.setdefault(entry["concurrency"], []).append(entry)
    for concurrency, entries in by_level.items():
        for entry in sorted(entries, key=lambda e: TARGETS.index(e["target"])):
            lines.append(_row("book", entry["target"], concurrency, entry))
    for name in ("single_slot", "overlapping"):
        for target in TARGETS:
            scenario = result["contention"].get(target, {}).get(name)
            if scenario:
                lines.append(_row(name, target, scenario["requests"], scenario))
    return lines


def _row(label: str, target: str, concurrency: int, entry: dict[str, Any]) -> str:
    vs = entry.get("vs", {})
    return (
        f"| {label} | {target} | {concurrency} | {entry['requests']} | {entry['p50_ms']} "
        f"| {entry['p95_ms']} | {entry['p99_ms']} | {entry['max_ms']} | {entry['answers_per_s']} "
        f"| {_ratios(vs.get('baseline'))} | {_ratios(vs.get('floor'))} | {_outcomes(entry)} |"
    )


def _ratios(values: dict[str, float | None] | None) -> str:
    if not values:
        return ""
    return " / ".join(
        "–" if values.get(k) is None else f"{values[k]:.2g}×"
        for k in ("p50", "p99", "answers_per_s")
    )


def _end_to_end_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "| end to end (request → confirmed), ours | c | confirmed | p50 ms | p95 ms | max ms"
        " | confirmed/s | last confirmed after last answer | keeps up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in (e for e in result["latency"] if e["target"] == "ours"):
        lines.append(_e2e_row("book", entry["concurrency"], entry.get("end_to_end", {})))
    return lines


def _e2e_row(label: str, concurrency: int, e2e: dict[str, Any]) -> str:
    return (
        f"| {label} | {concurrency} | {e2e.get('confirmed')}/{e2e.get('booked')} "
        f"| {e2e.get('p50_ms')} | {e2e.get('p95_ms')} | {e2e.get('max_ms')} "
        f"| {e2e.get('confirmed_per_s')} | {e2e.get('last_confirmed_after_last_answer_s')} s "
        f"| {'yes' if e2e.get('keeps_up') else 'no'} |"
    )


def _vendor_table(result: dict[str, Any]) -> list[str]:
    vendor = result.get("realistic_vendor", {})
    if not vendor.get("runs"):
        return []
    delays = ", ".join(f"{d['what']} {d['ms']} ms" for d in vendor["latency_ms"])
    lines = [
        "",
        f"realistic vendor latency (ours): {delays}",
        "",
        "| vendors | c | requests | answer p50 ms | answer p99 ms | p50 moved ms"
        " | confirmed | e2e p50 ms | e2e p95 ms | e2e max ms"
        " | last confirmed after last answer | vendor requests delayed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in vendor["runs"]:
        e2e = run.get("end_to_end", {})
        delayed = ", ".join(f"{k} {v}" for k, v in run.get("vendor_requests_delayed", {}).items())
        lines.append(
            f"| {'delayed' if run['vendor_latency'] else 'as is'} | {run['concurrency']} "
            f"| {run['requests']} | {run['p50_ms']} | {run['p99_ms']} "
            f"| {run.get('answer_p50_moved_ms', '')} | {e2e.get('confirmed')}/{e2e.get('booked')} "
            f"| {e2e.get('p50_ms')} | {e2e.get('p95_ms')} | {e2e.get('max_ms')} "
            f"| {e2e.get('last_confirmed_after_last_answer_s')} s | {delayed} |"
        )
    return lines


def _breakdown_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "| where the answer's time goes (ours), p50 / p95 ms | c | request → workflow started"
        " | task queue wait | phase 1 in worker | result → caller |",
        "|---|---|---|---|---|---|",
    ]
    for entry in (e for e in result["latency"] if e["target"] == "ours"):
        parts = entry.get("breakdown", {})
        cells = [
            f"{parts[k]['p50_ms']} / {parts[k]['p95_ms']}" if k in parts else "–"
            for k in (
                "to_workflow_started",
                "task_queue_wait",
                "phase1_in_worker",
                "back_to_caller",
            )
        ]
        lines.append(f"| book | {entry['concurrency']} | " + " | ".join(cells) + " |")
    return lines


def _history_table(result: dict[str, Any]) -> list[str]:
    history = result.get("history")
    if not history:
        return []
    lines = [
        "",
        f"| history per workflow (c={history['concurrency']}), median (min–max) | sample | "
        + " | ".join(COUNTED.values())
        + " |",
        "|---|---|" + "---|" * len(COUNTED),
    ]
    for target, label in (("ours", "ours, confirmed bookings"), ("floor", "Temporal floor")):
        counts = history.get(target, {})
        cells = [
            f"{counts[k]['median']:g} ({counts[k]['min']}–{counts[k]['max']})"
            if k in counts
            else "–"
            for k in COUNTED
        ]
        sample = f"{counts.get('sample', 0)}"
        if counts.get("not_quiet"):
            sample += f" (+{counts['not_quiet']} still busy, not counted)"
        lines.append(f"| {label} | {sample} | " + " | ".join(cells) + " |")
    return lines


def _cpu_table(result: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, dict[str, float], int]] = []
    for entry in result["latency"]:
        label = f"book c={entry['concurrency']} {entry['target']}"
        rows.append((label, entry.get("cpu_s", {}), entry["requests"]))
        if "cpu_s_phase2_drain" in entry:
            rows.append((f"{label}: phase 2 drain", entry["cpu_s_phase2_drain"], 0))
    for run in result.get("realistic_vendor", {}).get("runs", []):
        label = f"vendors {'delayed' if run['vendor_latency'] else 'as is'} c={run['concurrency']}"
        rows.append((label, run.get("cpu_s", {}), run["requests"]))
    for target in TARGETS:
        for name, scenario in result["contention"].get(target, {}).items():
            rows.append((f"{name} {target}", scenario.get("cpu_s", {}), scenario["requests"]))
    names = [n for n in _PROCESSES if any(n in cpu for _, cpu, _ in rows)]
    if not names:
        return []
    lines = [
        "",
        "| CPU seconds | "
        + " | ".join(n.replace("_", " ") for n in names)
        + " | total | CPU ms per answer |",
        "|---|" + "---|" * (len(names) + 2),
    ]
    for label, cpu, answers in rows:
        total = sum(cpu.values())
        per_answer = f"{total / answers * 1000:.1f}" if answers else ""
        cells = [f"{cpu[n]:.2f}" if n in cpu else "–" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {total:.2f} | {per_answer} |")
    return lines


def _contention_table(result: dict[str, Any]) -> list[str]:
    lines = ["", "| contention check | ours | floor | baseline |", "|---|---|---|---|"]
    contention = result["contention"]
    for label, key, field in (
        ("one slot: exactly 1 booked, 99 taken", "single_slot", "exactly_one"),
        (
            "one slot: taken answers with alternatives",
            "single_slot",
            "unavailable_with_alternatives",
        ),
        ("overlapping: rows held/confirmed", "overlapping", "rows_held_or_confirmed"),
        ("overlapping: overlapping pairs in Postgres", "overlapping", "overlapping_pairs"),
    ):
        values = [contention.get(t, {}).get(key, {}).get(field, "–") for t in TARGETS]
        lines.append(f"| {label} | " + " | ".join(str(v) for v in values) + " |")
    integrity = result["integrity"]
    lines.append(
        "| whole run: overlapping pairs in Postgres "
        f"| {integrity.get('ours')} | – | {integrity.get('baseline')} |"
    )
    return lines


def _outcomes(entry: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(entry["outcomes"].items()))


def _met(met: bool | None) -> str:
    return "–" if met is None else "✓" if met else "✗"


def write(
    result: dict[str, Any], directory: Path = RESULTS, name: str | None = None
) -> tuple[Path, Path]:
    """The JSON and the latency plot: NAME.json and NAME.png for a named run, otherwise a
    timestamped pair plus latest.json and latest.png. Returns the JSON's and the plot's paths."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str) + "\n"
    stem = name or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    copies = [stem] if name else [stem, "latest"]
    for each in copies:
        path = directory / f"{each}.json"
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(text)
        temporary.replace(path)
    plot = plot_latency(result, directory / f"{stem}.png")
    if not name:
        shutil.copyfile(plot, directory / "latest.png")
    return directory / f"{stem}.json", plot
