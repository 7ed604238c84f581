"""Where a bench run happened: machine, interpreter, commit and tuning settings, and how busy
the machine was before and after (other processes' load distorts every figure)."""

import contextlib
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

# git is asked about the checkout the bench runs from.
_CHECKOUT = Path(__file__).resolve().parent

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


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, cwd=_CHECKOUT
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
