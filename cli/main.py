"""`booking`: the one command line of the project.

booking dev       the whole pipeline on the embedded stack (Postgres, Temporal + UI, sandboxes)
booking api       the HTTP API (production: needs DATABASE_URL and TEMPORAL_ADDRESS)
booking worker    the Temporal worker
booking migrate   apply database migrations
"""

import argparse
import asyncio
import logging
import sys

from core.config import Settings
from core.errors import BookingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="booking", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("dev", help="run the whole pipeline on the embedded stack")
    commands.add_parser("api", help="serve the HTTP API")
    commands.add_parser("worker", help="run the Temporal worker")
    commands.add_parser("migrate", help="apply database migrations")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return _dispatch(args.command, settings)
    except BookingError as error:
        print(f"booking {args.command}: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(command: str, settings: Settings) -> int:
    # Imported per command so `booking migrate` does not pay for the web stack's imports.
    if command == "dev":
        from cli.dev import run_dev

        return asyncio.run(run_dev(settings))
    if command == "api":
        from cli.serve import serve_api

        return serve_api(settings)
    if command == "worker":
        from cli.serve import serve_worker

        return asyncio.run(serve_worker(settings))
    if command == "migrate":
        from cli.serve import migrate_database

        return asyncio.run(migrate_database(settings))
    raise AssertionError(f"unhandled command {command}")


if __name__ == "__main__":
    sys.exit(main())
