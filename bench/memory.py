"""Peak resident memory of the processes under test, sampled every 100 ms.

A thread, not a task: sampling must go on while the event loop is busy with the load, and
must not add to the loop's work.
"""

import threading

import psutil

_MIB = 1024 * 1024
_REFRESH_TREES_EVERY = 20  # samples, i.e. every 2 s


class PeakRss:
    """Peak RSS (MiB) per named process tree (the process plus all its children)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self.peak_mib: dict[str, float] = dict.fromkeys(pids, 0.0)
        self.samples = 0

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample_until_stopped(self) -> None:
        trees: dict[str, list[psutil.Process]] = {}
        ticks = 0
        while not self._stop.wait(self._interval):
            # Listing children scans all of /proc: costly enough, on two cores, to distort the
            # figures if done every 100 ms. The trees (API, worker: no children) hardly change.
            if ticks % _REFRESH_TREES_EVERY == 0:
                trees = {name: _tree(pid) for name, pid in self._pids.items()}
            ticks += 1
            for name, processes in trees.items():
                rss = _rss(processes)
                if rss:
                    self.peak_mib[name] = max(self.peak_mib[name], rss / _MIB)
            self.samples += 1


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue  # a child that just exited
    return total
