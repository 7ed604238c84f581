"""The bench's output: targets checked, a markdown table, and JSON under bench/results/."""

import contextlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).resolve().parent / "results"
# The tuning settings a result depends on; recorded when set in the environment.
TUNING_SETTINGS = ("DB_POOL_MIN_SIZE", "DB_POOL_MAX_SIZE", "BOOKING_ANSWER_TIMEOUT", "LOG_LEVEL")


def environment() -> dict[str, Any]:
    """Machine, interpreter, commit and how busy the machine is (others' runs distort figures)."""
    return {
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "settings": {
            k: v for k, v in os.environ.items() if k in TUNING_SETTINGS or k.startswith("WORKER_")
        },
    }


def machine_load() -> dict[str, Any]:
    """Load average, CPU use over one second, and the other processes using ≥ 10% CPU."""
    own = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    others = [p for p in psutil.process_iter(["name", "cmdline"]) if p.pid not in own]
    for process in others:  # the first call only starts each process's CPU clock
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(interval=None)
    usage = psutil.cpu_percent(interval=1.0)
    busy = []
    for process in others:
        with contextlib.suppress(psutil.Error):
            percent = process.cpu_percent(interval=None)
            if percent >= 10:
                command = " ".join(process.info["cmdline"] or [process.info["name"] or "?"])
                busy.append(f"{percent:.0f}% {command[:100]}")
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "cpu_percent": usage, "busy": busy}


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures the project aims for; reported, never asserted."""
    ours = {e["concurrency"]: e for e in result["latency"] if e["target"] == "ours"}
    checks: list[dict[str, Any]] = []
    if 10 in ours:
        checks.append(
            _check("answer p50 at c=10 ≤ 50 ms", ours[10]["p50_ms"], ours[10]["p50_ms"] <= 50)
        )
        checks.append(
            _check("answer p99 at c=10 ≤ 250 ms", ours[10]["p99_ms"], ours[10]["p99_ms"] <= 250)
        )
    if 50 in ours:
        e2e = ours[50].get("end_to_end", {})
        rate = ours[50]["answers_per_s"]
        checks.append(_check("≥ 50 answers/s at c=50", rate, rate >= 50))
        checks.append(
            _check(
                "phase 2 keeps up at c=50 (confirmed/s)",
                e2e.get("confirmed_per_s"),
                rate >= 50 and bool(e2e.get("keeps_up")),
            )
        )
    single = result["contention"].get("ours", {}).get("single_slot")
    if single:
        checks.append(
            _check(
                "contention answered within 2 s (max ms)",
                single["max_ms"],
                single["max_ms"] <= 2000,
            )
        )
    return checks


def _check(name: str, value: Any, met: bool) -> dict[str, Any]:
    return {"target": name, "value": value, "met": met}


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        f"booking bench — {result['finished_at']} — commit {str(env['commit'])[:10]}"
        f"{' (dirty)' if env['dirty'] else ''} — {env['cpu_count']} CPUs, Python {env['python']}",
        f"load before: {result['load_before']['loadavg']} {result['load_before']['busy'] or ''}",
        "",
        "| scenario | c | requests | p50 ms | p95 ms | p99 ms | max ms | answers/s"
        " | baseline p50 | baseline p99 | baseline answers/s | ratio p50 | ratio answers/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    baseline = {e["concurrency"]: e for e in result["latency"] if e["target"] == "baseline"}
    for entry in (e for e in result["latency"] if e["target"] == "ours"):
        base = baseline.get(entry["concurrency"], {})
        lines.append(_row(f"book {_outcomes(entry)}", entry["concurrency"], entry, base))
    for name, scenario in result["contention"].get("ours", {}).items():
        base = result["contention"].get("baseline", {}).get(name, {})
        lines.append(_row(f"{name} {_outcomes(scenario)}", scenario["requests"], scenario, base))
    lines += [
        "",
        "| end to end (request → confirmed) | c | confirmed | p50 ms | p95 ms | max ms"
        " | confirmed/s | last confirmed after last answer | keeps up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in (e for e in result["latency"] if e["target"] == "ours"):
        e2e = entry.get("end_to_end", {})
        lines.append(
            f"| book | {entry['concurrency']} | {e2e.get('confirmed')}/{e2e.get('booked')} "
            f"| {e2e.get('p50_ms')} | {e2e.get('p95_ms')} | {e2e.get('max_ms')} "
            f"| {e2e.get('confirmed_per_s')} | {e2e.get('last_confirmed_after_last_answer_s')} s "
            f"| {'yes' if e2e.get('keeps_up') else 'no'} |"
        )
    lines += [
        "",
        "| where the answer's time goes, p50 / p95 ms | c | request → workflow started"
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
    lines += ["", "| contention check | ours | baseline |", "|---|---|---|"]
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
        values = [contention.get(t, {}).get(key, {}).get(field) for t in ("ours", "baseline")]
        lines.append(f"| {label} | {values[0]} | {values[1]} |")
    lines.append(
        "| whole run: overlapping pairs in Postgres "
        f"| {result['integrity']['ours']} | {result['integrity']['baseline']} |"
    )
    memory = ", ".join(f"{name} {mib:.0f}" for name, mib in result["peak_rss_mib"].items())
    lines += [
        "",
        f"peak RSS (MiB, process + children): {memory}",
        "",
        "| target | value | met |",
        "|---|---|---|",
    ]
    lines += [
        f"| {c['target']} | {c['value']} | {'✓' if c['met'] else '✗'} |" for c in result["targets"]
    ]
    lines.append(
        f"load after: {result['load_after']['loadavg']} {result['load_after']['busy'] or ''}"
    )
    return "\n".join(lines)


def _row(label: str, concurrency: int, ours: dict[str, Any], base: dict[str, Any]) -> str:
    ratio_p50 = _ratio(ours.get("p50_ms"), base.get("p50_ms"))
    ratio_rate = _ratio(ours.get("answers_per_s"), base.get("answers_per_s"))
    return (
        f"| {label} | {concurrency} | {ours['requests']} | {ours['p50_ms']} | {ours['p95_ms']} "
        f"| {ours['p99_ms']} | {ours['max_ms']} | {ours['answers_per_s']} | {base.get('p50_ms')} "
        f"| {base.get('p99_ms')} | {base.get('answers_per_s')} | {ratio_p50} | {ratio_rate} |"
    )


def _outcomes(entry: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k} {v}" for k, v in sorted(entry["outcomes"].items())) + ")"


def _ratio(ours: float | None, base: float | None) -> str:
    return f"{ours / base:.2g}×" if ours and base else "–"


def write(result: dict[str, Any], directory: Path = RESULTS) -> Path:
    """latest.json plus a timestamped copy; returns the copy's path."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str) + "\n"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    copy = directory / f"{stamp}.json"
    for path in (copy, directory / "latest.json"):
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(text)
        temporary.replace(path)
    return copy


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, cwd=RESULTS.parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
