"""CPU seconds per process tree, read before and after each scenario: where the time goes.

Two reads per scenario, at its boundaries, never during it: one pass over the process table
(parent pids) to find each tree, then each member's cpu_times. Cheap enough to leave on.
A tree's time is, over its live members, user + system + the children's fields: those hold
the processes each member has reaped (Postgres backends that came and went), so nothing
that ran during the scenario is lost.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

# The load generator: this process alone (its children are the stack under test).
BENCH = "bench"


@dataclass
class CpuMeasure:
    """Filled when the `with` block of `CpuClock.measure` ends."""

    seconds: dict[str, float] = field(default_factory=dict)


class CpuClock:
    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids

    def read(self) -> dict[str, float]:
        """CPU seconds used so far by each named tree, and by this process as `bench`."""
        children = _children_by_parent()
        totals: dict[str, float] = {}
        for name, pid in self._pids.items():
            totals[name] = sum(_tree_seconds(member) for member in process_tree(pid, children))
        own = psutil.Process().cpu_times()
        totals[BENCH] = own.user + own.system
        return totals

    @contextlib.contextmanager
    def measure(self) -> Iterator[CpuMeasure]:
        measure = CpuMeasure()
        before = self.read()
        yield measure
        measure.seconds = cpu_delta(before, self.read())


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Seconds per name between two reads, rounded to 10 ms; never negative (a tree whose
    member exited unreaped between the reads loses that member's time)."""
    return {name: round(max(0.0, after[name] - before.get(name, 0.0)), 2) for name in after}


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for process in psutil.process_iter(["ppid"]):
        children.setdefault(process.info["ppid"], []).append(process.pid)
    return children


def process_tree(root: int, children: dict[int, list[int]]) -> list[int]:
    """`root` and everything below it, given each pid's children."""
    members, pending = [], [root]
    while pending:
        pid = pending.pop()
        members.append(pid)
        pending.extend(children.get(pid, []))
    return members


def _tree_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0  # exited since the process table was read
    return times.user + times.system + times.children_user + times.children_system
