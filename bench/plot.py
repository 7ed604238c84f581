"""The answer-latency plot: p50, p95 and p99 by concurrency for ours, the floor and the
baseline, on a log scale so the gap between them reads at a glance. Written beside the JSON."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

# The three targets, in the order the plot and the report show them.
TARGETS = ("ours", "floor", "baseline")
PERCENTILES = ("p50", "p95", "p99")
_STYLE = {
    "ours": {"color": "#c0392b", "marker": "o"},
    "floor": {"color": "#2471a3", "marker": "s"},
    "baseline": {"color": "#7f8c8d", "marker": "^"},
}
_LABEL = {"ours": "ours", "floor": "Temporal floor", "baseline": "baseline (one SQL transaction)"}
# Where each target's value labels go, so close lines do not print over each other: ours
# above its points, the floor to their right, the baseline below.
_LABEL_AT = {
    "ours": {"xytext": (0, 7), "ha": "center", "va": "bottom"},
    "floor": {"xytext": (7, 0), "ha": "left", "va": "center"},
    "baseline": {"xytext": (0, -8), "ha": "center", "va": "top"},
}


def latency_points(result: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, list[float]]]]:
    """The x labels (each latency level's concurrency, then the 100 callers on one slot) and,
    per target and percentile, the milliseconds at each (NaN where a target has no figure)."""
    levels = sorted({e["concurrency"] for e in result["latency"]})
    labels = [f"c={c}" for c in levels]
    single = {t: s.get("single_slot") for t, s in result.get("contention", {}).items()}
    with_single = any(single.values())
    if with_single:
        labels.append(f"c={_single_slot_callers(single)}\none slot")
    points: dict[str, dict[str, list[float]]] = {}
    for target in TARGETS:
        entries = {e["concurrency"]: e for e in result["latency"] if e["target"] == target}
        rows = [entries.get(c) for c in levels]
        if with_single:
            rows.append(single.get(target))
        points[target] = {
            pct: [float(r[f"{pct}_ms"]) if r else float("nan") for r in rows] for pct in PERCENTILES
        }
    return labels, points


def plot_latency(result: dict[str, Any], path: Path) -> Path:
    labels, points = latency_points(result)
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.6), sharey=True)
    x = list(range(len(labels)))
    for axis, pct in zip(axes, PERCENTILES, strict=True):
        for target in TARGETS:
            values = points[target][pct]
            axis.plot(x, values, label=_LABEL[target], linewidth=2, **_STYLE[target])
            for xi, value in zip(x, values, strict=True):
                if value == value:  # not NaN
                    axis.annotate(
                        _short(value),
                        (xi, value),
                        textcoords="offset points",
                        fontsize=8,
                        color=_STYLE[target]["color"],
                        bbox={
                            "boxstyle": "round,pad=0.1",
                            "fc": "white",
                            "ec": "none",
                            "alpha": 0.8,
                        },
                        **_LABEL_AT[target],
                    )
        axis.set_yscale("log")
        axis.margins(x=0.12, y=0.15)
        axis.set_title(f"answer {pct}")
        axis.set_xticks(x, labels)
        axis.set_xlabel("concurrent callers")
        axis.grid(True, which="both", axis="y", alpha=0.3)
    axes[0].set_ylabel("milliseconds (log scale)")
    handles, names = axes[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncol=len(TARGETS), frameon=False)
    env = result.get("environment", {})
    figure.suptitle(
        f"Answer latency, booking bench {result.get('finished_at', '')}, "
        f"commit {str(env.get('commit'))[:10]}, {env.get('cpu_count')} CPUs"
    )
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _single_slot_callers(single: dict[str, Any]) -> int:
    return next(int(s["requests"]) for s in single.values() if s)


def _short(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f}"
