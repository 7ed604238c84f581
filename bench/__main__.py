"""`python -m bench` (`make bench`): run every scenario once and report.

Prints a markdown table and writes bench/results/latest.json plus a timestamped copy. Starts
and stops everything it uses; Ctrl-C or SIGTERM stops it all, with nothing left running.
"""

import argparse
import asyncio
import logging
import signal
import sys

from bench.report import markdown, write
from bench.run import Options, run_bench
from core.errors import StackError

_DEFAULT_LEVELS = "1:50,10:300,50:1000"
_QUICK_LEVELS = "1:20,10:100,50:200"


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--levels",
        type=_levels,
        default=_levels(_DEFAULT_LEVELS),
        help=f"concurrency:requests per latency level (default {_DEFAULT_LEVELS})",
    )
    parser.add_argument("--quick", action="store_true", help=f"short run, levels {_QUICK_LEVELS}")
    parser.add_argument("--warmup", type=int, default=40, help="uncounted requests per target")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, data)"
    )
    return parser


async def _main(options: Options) -> int:
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
    print(f"\nwritten: {write(result)} and bench/results/latest.json")
    return 0


def main() -> int:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    levels = _levels(_QUICK_LEVELS) if args.quick else args.levels
    try:
        return asyncio.run(_main(Options(levels=levels, warmup=args.warmup, keep=args.keep)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
