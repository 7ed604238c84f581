"""`booking org create|rotate|vapi-auth`: manage orgs straight in Postgres, without the API running.

Credentials go to stdout as JSON (so scripts can capture them) and are shown only this once;
hints go to stderr. With DATABASE_URL unset the command uses the embedded Postgres that a
running `booking dev` serves from DATA_DIR, and never starts one of its own: a second server
on the same data directory is exactly what must not happen.
"""

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
from pydantic import TypeAdapter, ValidationError

from cli.dev_secrets_key import with_dev_secrets_key
from core.domain.org_spec import LanguageSettings, OrgSpec
from core.domain.vapi_auth import VapiAuthSettings
from core.errors import ConfigurationError, InvalidInput
from core.infra.config import Settings
from core.infra.db import create_pool
from core.infra.secret_box import SecretBox, secret_box
from core.services.orgs import (
    CreatedOrg,
    OrgCredentials,
    create_org,
    rotate_credentials,
    set_languages,
    set_vapi_auth,
)

_NOT_RUNNING = "start `booking dev` first or set DATABASE_URL"

T = TypeVar("T")


async def run_org_command(args: argparse.Namespace, settings: Settings) -> int:
    """`args` as `booking org` parses them: `create --file F` or `rotate SLUG`."""
    if args.org_command == "create":
        spec = read_spec(args.file)
        created = CreatedOrg.of(
            spec,
            await _with_pool(
                settings, lambda p: create_org(p, spec, secrets=_secret_box(settings))
            ),
        )
        _print_once(created, f"created org {spec.slug}")
        return 0
    if args.org_command == "rotate":
        credentials = await _with_pool(settings, lambda p: rotate_credentials(p, args.slug))
        _print_once(credentials, f"rotated the credentials of {args.slug}; the old ones are void")
        return 0
    if args.org_command == "vapi-auth":
        settings_in = _read_vapi_auth(args.file)
        await _with_pool(
            settings,
            lambda p: set_vapi_auth(p, args.slug, settings_in, secrets=_secret_box(settings)),
        )
        # The settings in force, never the HMAC secret.
        print(json.dumps(settings_in.public() if settings_in else None, indent=2), flush=True)
        print(f"set the Vapi auth of {args.slug}", file=sys.stderr)
        return 0
    if args.org_command == "languages":
        chosen = _read_languages(args.locale, args.languages)
        await _with_pool(settings, lambda p: set_languages(p, args.slug, chosen))
        print(json.dumps(chosen.model_dump(), indent=2), flush=True)
        print(f"set the languages of {args.slug}", file=sys.stderr)
        return 0
    raise AssertionError(f"unhandled org command {args.org_command}")


def _secret_box(settings: Settings) -> SecretBox | None:
    """What seals the vendor secrets a command stores: SECRETS_ENCRYPTION_KEY, or the key of
    `booking dev` when its embedded database is the one used (called once connected, so a
    command that finds no database leaves DATA_DIR alone). Without one, storing a secret is a
    ConfigurationError naming the setting (core.repositories.orgs)."""
    return secret_box(settings if settings.database_url else with_dev_secrets_key(settings))


def read_spec(source: str) -> OrgSpec:
    """The org spec in the JSON file `source` (`-` for stdin); InvalidInput in one line if bad."""
    text = _read_text(source)
    try:
        return OrgSpec.model_validate_json(text)
    except ValidationError as error:
        raise InvalidInput(f"{_where(source)} is not a valid org spec: {_explain(error)}") from None


def _read_text(source: str) -> str:
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise InvalidInput(f"cannot read {_where(source)}: {reason}") from None


def _read_vapi_auth(source: str) -> VapiAuthSettings | None:
    """`vapi_auth` settings (or `null`) from the JSON file `source`; InvalidInput if bad."""
    text = _read_text(source)
    try:
        return TypeAdapter(VapiAuthSettings | None).validate_json(text)
    except ValidationError as error:
        raise InvalidInput(f"{_where(source)} is not valid vapi_auth: {_explain(error)}") from None


def _read_languages(locale: str, languages: list[str]) -> LanguageSettings:
    """The org's locale and served languages from the command line; InvalidInput if bad."""
    try:
        return LanguageSettings(locale=locale, languages=languages)
    except ValidationError as error:
        raise InvalidInput(f"not usable languages: {_explain(error)}") from None


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _where(source: str) -> str:
    return "stdin" if source == "-" else source


def _explain(error: ValidationError) -> str:
    """Pydantic's errors as `field: message; ...`, without echoing input (it may hold secrets)."""
    parts = []
    for detail in error.errors(include_input=False)[:5]:
        if detail["type"] == "json_invalid":
            return f"not valid JSON ({detail['msg']})"
        field = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


async def _with_pool(settings: Settings, action: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `action` with a small pool; connection and schema problems become one-line errors."""
    dsn, where = database_url(settings)
    try:
        pool = await create_pool(settings.model_copy(update={"db_pool_min_size": 1}), dsn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        hint = "" if settings.database_url else f"; {_NOT_RUNNING}"
        raise ConfigurationError(f"cannot connect to {where}: {_one_line(error)}{hint}") from None
    try:
        return await action(pool)
    except asyncpg.UndefinedTableError:
        raise ConfigurationError(f"{where} has no schema yet; run `booking migrate`") from None
    finally:
        await pool.close()


def database_url(settings: Settings) -> tuple[str, str]:
    """(DSN, how to name it in messages): DATABASE_URL, else `booking dev`'s embedded server."""
    if settings.database_url:
        return settings.database_url, "DATABASE_URL"
    # Imported here: with DATABASE_URL set (production), the dev stack is never loaded.
    from devstack.postgres import EmbeddedPostgres

    pgdata = settings.data_dir / "pg"
    server = EmbeddedPostgres(pgdata)
    # The same liveness check `start()` makes (stale lock files, reused pids), without its
    # fallback of launching a server.
    dsn = server.running_dsn()
    if dsn is None:
        raise ConfigurationError(
            f"no embedded Postgres is running in {server.pgdata}: {_NOT_RUNNING}"
        )
    return dsn, "the embedded Postgres"


def _print_once(result: OrgCredentials, done: str) -> None:
    print(result.model_dump_json(indent=2), flush=True)
    print(
        f"{done}. The api_key and voice_secret above are shown only now: store them.\n"
        "REST calls send `Authorization: Bearer <api_key>`; Vapi sends the voice_secret "
        "as its server secret.",
        file=sys.stderr,
    )
