"""`booking`: the one command line of the project.

booking dev       the whole pipeline on the embedded stack (Postgres, Temporal + UI, sandboxes)
booking api       the HTTP API (production: needs DATABASE_URL and TEMPORAL_ADDRESS)
booking worker    the Temporal worker
booking migrate   apply database migrations
booking org       create an org from a JSON spec, rotate its credentials, set its Vapi auth
booking audit     check the invariants across Postgres and Temporal; exit 1 on findings
"""

import argparse
import asyncio
import sys

from core.errors import BookingError
from core.infra.config import Settings
from core.infra.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="booking", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("dev", help="run the whole pipeline on the embedded stack")
    commands.add_parser("api", help="serve the HTTP API")
    worker = commands.add_parser("worker", help="run the Temporal worker")
    worker.add_argument(
        "--role",
        choices=("all", "answers", "side-effects"),
        default="all",
        help="answers: workflow tasks and the answer path's local activities; side-effects: "
        "calendar, SMS, compensation and calendar syncs; all: both (default)",
    )
    commands.add_parser("migrate", help="apply database migrations")
    _add_org_parser(commands)
    _add_audit_parser(commands)
    return parser


def _add_org_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    org = commands.add_parser("org", help="create an org, or rotate its credentials")
    actions = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="create an org from a JSON spec (see examples/clinic.json)"
    )
    create.add_argument("--file", required=True, metavar="PATH", help="the spec; `-` is stdin")
    rotate = actions.add_parser("rotate", help="replace an org's API key and voice secret")
    rotate.add_argument("slug")
    vapi_auth = actions.add_parser(
        "vapi-auth", help="set how Vapi calls to an org are checked (Bearer header, HMAC)"
    )
    vapi_auth.add_argument("slug")
    vapi_auth.add_argument(
        "--file",
        required=True,
        metavar="PATH",
        help="JSON `vapi_auth` settings as in the org spec, `null` for the default; `-` is stdin",
    )
    languages = actions.add_parser(
        "languages", help="set an org's locale and the languages callers may ask for"
    )
    languages.add_argument("slug")
    languages.add_argument("locale", help="BCP 47, e.g. de-DE: what callers hear by default")
    languages.add_argument("languages", nargs="*", help="other locales callers may ask for")


def _add_audit_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    # The defaults live here rather than in core.ops.audit so that parsing needs no Temporal import.
    audit = commands.add_parser("audit", help="check the invariants; exit 1 when any is broken")
    audit.add_argument("--org", metavar="SLUG", help="audit one org (default: all)")
    audit.add_argument("--json", action="store_true", help="print the findings as JSON")
    audit.add_argument(
        "--grace",
        type=_minutes,
        default=2.0,
        metavar="MINUTES",
        help="ignore bookings changed more recently (default: %(default)s)",
    )
    audit.add_argument(
        "--sms-after",
        type=_minutes,
        default=15.0,
        metavar="MINUTES",
        help="report SMS unsent for longer (default: %(default)s)",
    )
    audit.add_argument(
        "--sync-after",
        type=_minutes,
        default=30.0,
        metavar="MINUTES",
        help="report provider calendars not synced for longer (default: %(default)s)",
    )


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 525_600:  # nan fails too; a year bounds timedelta and typos alike
        raise argparse.ArgumentTypeError(f"expected minutes between 0 and 525600, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _with_log_format(args.command, Settings())
    try:
        configure_logging(settings)
        if args.command == "org":
            from cli.orgs import run_org_command

            return asyncio.run(run_org_command(args, settings))
        if args.command == "audit":
            from cli.audit import run_audit_command

            return asyncio.run(run_audit_command(args, settings))
        return _dispatch(args, settings)
    except BookingError as error:
        print(f"booking {args.command}: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _with_log_format(command: str, settings: Settings) -> Settings:
    """`booking dev` is read by a person: text logs unless LOG_FORMAT (environment or .env)
    says otherwise. Its API and worker log as it does; production defaults to JSON lines."""
    if command == "dev" and "log_format" not in settings.model_fields_set:
        return settings.model_copy(update={"log_format": "text"})
    return settings


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    # Imported per command so `booking migrate` does not pay for the web stack's imports.
    if command == "dev":
        from cli.dev import run_dev

        return asyncio.run(run_dev(settings))
    if command == "api":
        from cli.serve import serve_api

        return serve_api(settings)
    if command == "worker":
        from cli.serve import serve_worker

        return asyncio.run(serve_worker(settings, role=args.role))
    if command == "migrate":
        from cli.serve import migrate_database

        return asyncio.run(migrate_database(settings))
    raise AssertionError(f"unhandled command {command}")


if __name__ == "__main__":
    sys.exit(main())
