"""`python -m bench` (`make bench`): run every scenario once and report.

Prints markdown tables and writes bench/results/latest.json and latest.png (the answer-latency
plot) plus timestamped copies, or NAME.json and NAME.png with --name. Starts and stops
everything it uses; Ctrl-C or SIGTERM stops it all, with nothing left running.
"""

import argparse
import asyncio
import json
import logging
import re
import signal
import sys
from pathlib import Path
from typing import Any

from bench.report import markdown, write
from bench.run import Options, run_bench
from bench.targets import history_events_median
from core.errors import StackError

_DEFAULT_LEVELS = "1:50,10:300,50:1000"
_QUICK_LEVELS = "1:20,10:100,50:200"
_DEFAULT_VENDOR_LEVELS = "1:50,10:100"
_QUICK_VENDOR_LEVELS = "1:20"


def _levels(text: str) -> list[tuple[int, int]]:
    try:
        pairs = [tuple(int(n) for n in item.split(":")) for item in text.split(",")]
        if not all(len(p) == 2 and p[0] >= 1 and p[1] >= 1 for p in pairs):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected CONCURRENCY:REQUESTS pairs like {_DEFAULT_LEVELS}"
        ) from None
    return [(p[0], p[1]) for p in pairs]


def _compare(text: str) -> dict[str, Any]:
    """The figures an earlier result is compared on (today: history events per booking)."""
    try:
        earlier = json.loads(Path(text).read_text())
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {error}") from None
    return {"path": text, "history_events_median": history_events_median(earlier)}


def _name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", text) or text == "latest":
        raise argparse.ArgumentTypeError("a file name: letters, digits, . _ -, not 'latest'")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--levels",
        type=_levels,
        default=_levels(_DEFAULT_LEVELS),
        help=f"concurrency:requests per latency level (default {_DEFAULT_LEVELS})",
    )
    parser.add_argument(
        "--vendor-levels",
        type=_levels,
        default=_levels(_DEFAULT_VENDOR_LEVELS),
        help="levels run on ours without, then with realistic vendor latency "
        f"(default {_DEFAULT_VENDOR_LEVELS})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"short run, levels {_QUICK_LEVELS}, vendor levels {_QUICK_VENDOR_LEVELS}",
    )
    parser.add_argument("--warmup", type=int, default=40, help="uncounted requests per target")
    parser.add_argument(
        "--history-sample", type=int, default=40, help="confirmed bookings whose history is read"
    )
    parser.add_argument(
        "--compare",
        type=_compare,
        metavar="RESULT.json",
        help="an earlier result: history events per booking are judged against its figure",
    )
    parser.add_argument(
        "--name", type=_name, help="write bench/results/NAME.json and NAME.png (a run to keep)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, data)"
    )
    return parser


async def _main(options: Options, name: str | None) -> int:
    # SIGTERM stops the run as Ctrl-C does: cancelled, so every process is stopped on the way out.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        result = await run_bench(options)
    except StackError as error:
        print(f"bench: {error.message}", file=sys.stderr)
        return 1
    print()
    print(markdown(result))
    json_path, plot_path = write(result, name=name)
    also = "" if name else " (and latest.json, latest.png)"
    print(f"\nwritten: {json_path}, {plot_path}{also}")
    return 0


def main() -> int:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = Options(
        levels=_levels(_QUICK_LEVELS) if args.quick else args.levels,
        vendor_levels=_levels(_QUICK_VENDOR_LEVELS) if args.quick else args.vendor_levels,
        warmup=args.warmup,
        keep=args.keep,
        history_sample=args.history_sample,
        compare=args.compare,
    )
    try:
        return asyncio.run(_main(options, args.name))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
