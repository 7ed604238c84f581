"""Peak resident memory of the processes under test, sampled every 100 ms.

A thread, not a task: sampling must go on while the event loop is busy with the load, and
must not add to the loop's work.
"""

import threading

import psutil

_MIB = 1024 * 1024


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
        while not self._stop.wait(self._interval):
            for name, pid in self._pids.items():
                rss = _tree_rss(pid)
                if rss is not None:
                    self.peak_mib[name] = max(self.peak_mib[name], rss / _MIB)
            self.samples += 1


def _tree_rss(pid: int) -> int | None:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue  # a child that just exited
    return total
