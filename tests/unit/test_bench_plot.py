"""The latency plot: the points it draws and the PNG it writes."""

import math
from pathlib import Path
from typing import Any

from bench.plot import latency_points, plot_latency


def _entry(target: str, concurrency: int, p50: float) -> dict[str, Any]:
    return {
        "target": target,
        "concurrency": concurrency,
        "requests": 100,
        "p50_ms": p50,
        "p95_ms": p50 * 2,
        "p99_ms": p50 * 3,
    }


def _result() -> dict[str, Any]:
    return {
        "finished_at": "2025-12-02T10:00:00+00:00",
        "environment": {"commit": "0123456789abcdef", "cpu_count": 2},
        "latency": [
            _entry("ours", 1, 100),
            _entry("floor", 1, 40),
            _entry("baseline", 1, 8),
            _entry("ours", 10, 400),
            _entry("baseline", 10, 16),  # no floor figure at c=10
        ],
        "contention": {
            "ours": {"single_slot": _entry("ours", 100, 2000)},
            "floor": {"single_slot": _entry("floor", 100, 900)},
            "baseline": {"single_slot": _entry("baseline", 100, 500)},
        },
    }


def test_points_per_level_then_the_single_slot() -> None:
    labels, points = latency_points(_result())

    assert labels == ["c=1", "c=10", "c=100\none slot"]
    assert points["ours"]["p50"] == [100.0, 400.0, 2000.0]
    assert points["baseline"]["p99"] == [24.0, 48.0, 1500.0]
    floor = points["floor"]["p50"]
    assert floor[0] == 40.0 and math.isnan(floor[1]) and floor[2] == 900.0


def test_without_contention_only_the_levels() -> None:
    result = _result()
    result["contention"] = {}

    labels, _ = latency_points(result)

    assert labels == ["c=1", "c=10"]


def test_writes_a_png(tmp_path: Path) -> None:
    path = plot_latency(_result(), tmp_path / "nested" / "latency.png")

    assert path == tmp_path / "nested" / "latency.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
