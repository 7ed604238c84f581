"""docker-compose.yml, the Dockerfile and .env.example agree with the code they deploy.

Commands, settings, secrets and search attributes are read from the code (the CLI parser,
`Settings`, `core.temporal.names`), so changing the code without the deployment fails here.
Pure file parsing: no Docker, no network.

One module because its checks cross-read the same three files through the parsers at the top
(`_compose`, `_dockerfile`, `_secrets`): a variable compose reads must be a setting and be in
.env.example.
"""

import argparse
import json
import re
import tomllib
import types
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import SecretStr

from cli.main import _parser
from core.infra.config import Settings
from core.temporal.names import SEARCH_ATTRIBUTES
from worker.main import WORKER_ROLES

ROOT = Path(__file__).resolve().parents[2]

# ${NAME}, ${NAME:-default}, ${NAME:?message}, ...; `$$` is compose's escape for a literal `$`.
_INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
_UNBRACED = re.compile(r"(?<!\$)\$(?=\w)")
# Compose durations ("40s", "1m30s", "1.5s", "500ms"); unset, compose waits 10 s.
_COMPOSE_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)")
_COMPOSE_DEFAULT_STOP_GRACE = timedelta(seconds=10)
_DURATION_UNITS = {
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
    "us": timedelta(microseconds=1),
    "ns": timedelta(0),
}
# Names that hold a credential, whatever service they are set on.
_SECRET_LIKE = re.compile(r"PASSWORD|PWD|TOKEN|SECRET|_KEYS?$")


@cache
def _compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


@cache
def _compose() -> dict[str, Any]:
    return yaml.safe_load(_compose_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _our_services() -> dict[str, dict[str, Any]]:
    """Services that run this repository's image (built from the Dockerfile)."""
    images = {service.get("image") for service in _services().values() if "build" in service}
    return {
        name: service
        for name, service in _services().items()
        if "build" in service or service.get("image") in images
    }


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the `- NAME=value` form
        return {k: v for k, _, v in (item.partition("=") for item in env)}
    return {key: None if value is None else str(value) for key, value in env.items()}


def _interpolations() -> list[re.Match[str]]:
    return list(_INTERPOLATION.finditer(_compose_text()))


def _subcommands() -> set[str]:
    parser = _parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subparsers[0].choices)


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and any(
        _mentions(arg, target) for arg in get_args(annotation)
    )


def _secrets() -> set[str]:
    fields = Settings.model_fields.items()
    return {name.upper() for name, f in fields if _mentions(f.annotation, SecretStr)} | {
        "POSTGRES_PASSWORD"
    }


def _dockerfile_final_stage() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the last build stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _dockerfile(keyword: str) -> list[str]:
    return [arguments for kw, arguments in _dockerfile_final_stage() if kw == keyword]


def _container_ports(service: dict[str, Any]) -> set[int]:
    # "8000:8000", "127.0.0.1:8080:8080", "9464/tcp" → the container side.
    published = [str(port).split(":")[-1] for port in service.get("ports", [])]
    exposed = [str(port) for port in service.get("expose", [])]
    return {int(port.split("/")[0]) for port in published + exposed}


def _compose_duration(text: str) -> timedelta:
    parts = _COMPOSE_DURATION_PART.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a compose duration: {text}"
    return sum((float(n) * _DURATION_UNITS[u] for n, u in parts), timedelta(0))


def _shutdown_grace(service: dict[str, Any]) -> timedelta:
    """SHUTDOWN_GRACE as the service's process gets it: compose's value, else the default."""
    environment = _environment(service)
    if "SHUTDOWN_GRACE" not in environment:
        default: timedelta = Settings.model_fields["shutdown_grace"].default
        return default
    value = environment["SHUTDOWN_GRACE"]
    assert value is not None, "SHUTDOWN_GRACE passed through from .env: no limit can be checked"
    interpolation = _INTERPOLATION.fullmatch(value)
    if interpolation is not None:
        assert interpolation["op"] in (":-", "-"), f"SHUTDOWN_GRACE needs a default: {value}"
        value = interpolation["arg"]
    return Settings(_env_file=None, shutdown_grace=value).shutdown_grace  # type: ignore[call-arg]


def test_interpolations_are_braced_so_the_checks_below_see_them() -> None:
    unbraced = [m.start() for m in _UNBRACED.finditer(_compose_text())]
    assert not unbraced, f"write ${{NAME}} (or $$ for the shell) at offsets {unbraced}"


def test_services_from_our_image_run_real_booking_subcommands() -> None:
    subcommands = _subcommands()
    ours = _our_services()
    assert {"api", "worker", "migrate"} <= set(ours), f"our image runs only {sorted(ours)}"
    (default_cmd,) = _dockerfile("CMD")
    assert json.loads(default_cmd)[0] in subcommands, f"the image's CMD is {default_cmd}"
    for name, service in ours.items():
        assert "entrypoint" not in service, f"{name} overrides the image's `booking` entrypoint"
        command = service.get("command", json.loads(default_cmd))
        assert isinstance(command, list) and command, f"{name}: write command as a list"
        assert command[0] in subcommands, (
            f"{name} runs `booking {command[0]}`, not a subcommand of cli/main.py "
            f"({sorted(subcommands)})"
        )
        try:
            _parser().parse_args(command)
        except SystemExit:
            raise AssertionError(f"{name}: `booking {' '.join(command)}` does not parse") from None


def test_both_worker_roles_are_deployed() -> None:
    """The answer path and the side effects each have a worker (one `all`, or one per role)."""
    roles = {
        _parser().parse_args(service["command"]).role
        for service in _our_services().values()
        if service.get("command", [None])[0] == "worker"
    }
    assert roles == {"all"} or {"answers", "side-effects"} <= roles, roles


def test_environment_of_our_services_is_settings_fields() -> None:
    settings = _setting_names()
    for name, service in _our_services().items():
        unknown = sorted(set(_environment(service)) - settings)
        assert not unknown, f"{name} sets {unknown}, which core.infra.config.Settings never reads"


def test_secrets_are_required_and_never_written_down() -> None:
    secrets = _secrets()
    assert {"ADMIN_TOKEN", "CODEC_TOKEN", "PAYLOAD_ENCRYPTION_KEY"} <= secrets
    for match in _interpolations():
        if match["name"] in secrets:
            assert match["op"] == ":?" and match["arg"].strip(), (
                f"{match[0]}: a secret must be `${{{match['name']}:?message}}`, with no default"
            )
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if key not in secrets and not _SECRET_LIKE.search(key):
                continue
            # No value passes an optional secret through from .env / the shell when set.
            required = value is not None and all(
                m["op"] == ":?" for m in _INTERPOLATION.finditer(value)
            )
            assert value is None or (required and _INTERPOLATION.search(value)), (
                f"{name}.{key} must come from the environment (${{NAME:?message}}), not {value!r}"
            )


def test_app_waits_for_migrations_search_attributes_and_healthy_infrastructure() -> None:
    services = _services()
    expected = {
        "postgres": "service_healthy",
        "temporal": "service_healthy",
        "migrate": "service_completed_successfully",
        "temporal-search-attributes": "service_completed_successfully",
    }
    for name in ("api", "worker", "worker-side-effects"):
        depends_on = services[name].get("depends_on", {})
        conditions = {dep: depends_on.get(dep, {}).get("condition") for dep in expected}
        assert conditions == expected, f"{name} depends_on {conditions}, expected {expected}"
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                check = services[dep].get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck"
                )
            if condition == "service_completed_successfully":
                restart = str(services[dep].get("restart", "no"))
                assert restart == "no" or restart.startswith("on-failure"), (
                    f"{dep} is a one-shot that {name} waits on; restart: {restart} never ends"
                )


def test_search_attribute_step_creates_exactly_those_of_core_names() -> None:
    step = _services()["temporal-search-attributes"]
    script = " ".join(step["command"]) if isinstance(step["command"], list) else step["command"]
    created = re.findall(r"--name\s+(\w+)\s+--type\s+(\w+)", script)
    # SearchAttributeIndexedValueType.KEYWORD_LIST → the CLI's "KeywordList".
    expected = {
        key.name: "".join(p.capitalize() for p in key.indexed_value_type.name.split("_"))
        for key in SEARCH_ATTRIBUTES
    }
    assert len(created) == len(dict(created)), f"an attribute is created twice: {created}"
    assert dict(created) == expected, (
        f"compose creates {dict(created)}, core/temporal/names.py defines {expected}"
    )
    app_namespace = _environment(_services()["api"])["TEMPORAL_NAMESPACE"]
    assert _environment(step)["NAMESPACE"] == app_namespace, "attributes go to another namespace"


def test_dockerfile_runs_booking_and_exposes_the_compose_ports() -> None:
    assert [json.loads(e) for e in _dockerfile("ENTRYPOINT")] == [["booking"]]
    exposed = {int(port.split("/")[0]) for line in _dockerfile("EXPOSE") for port in line.split()}
    api, worker = _services()["api"], _services()["worker"]
    api_port = int(_environment(api).get("API_PORT") or Settings.model_fields["api_port"].default)
    assert api_port in _container_ports(api), f"compose does not publish the API port {api_port}"
    metrics_port = int(str(_environment(worker)["WORKER_METRICS_ADDRESS"]).rsplit(":", 1)[1])
    assert metrics_port in _container_ports(worker), f"the worker does not expose {metrics_port}"
    assert {api_port, metrics_port} <= exposed, f"the image exposes {exposed}"
    (user,) = _dockerfile("USER")
    assert user.split(":")[0] not in ("0", "root"), "the image runs as root"


def test_dockerfile_copies_every_package_and_installs_it_non_editable() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*").rstrip(".") for pattern in patterns}
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY\s+(\w+)\s", text, flags=re.MULTILINE))
    assert packages <= copied, f"the image misses packages {sorted(packages - copied)}"
    installs = re.findall(r"pip install ([^\n&]*)", text)
    editable = [args for args in installs if {"-e", "--editable"} & set(args.split())]
    assert installs and not editable, f"install the project, not editable: {installs}"


def test_env_example_lists_every_variable_compose_reads() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    example = dict(
        line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")
    )
    interpolated = {m["name"] for m in _interpolations()}
    passed_through = {
        key
        for service in _services().values()
        for key, v in _environment(service).items()
        if v is None
    }
    needed = interpolated | passed_through
    assert needed <= set(example), f".env.example misses {sorted(needed - set(example))}"
    assert set(example) <= needed, f".env.example lists unused {sorted(set(example) - needed)}"
    filled = sorted(name for name in _secrets() & set(example) if example[name].strip())
    assert not filled, f".env.example must leave secrets empty: {filled}"


def test_compose_waits_longer_than_the_shutdown_grace_before_killing() -> None:
    """The API and worker get SHUTDOWN_GRACE to let requests and activities in flight finish;
    compose's stop_grace_period must outlast it or SIGKILL cuts that short."""
    graceful = {
        name: service
        for name, service in _our_services().items()
        if service.get("command", [None])[0] in ("api", "worker")
    }
    assert set(graceful) == {"api", "worker", "worker-side-effects"}
    for name, service in graceful.items():
        stop_grace = service.get("stop_grace_period")
        waited = _compose_duration(stop_grace) if stop_grace else _COMPOSE_DEFAULT_STOP_GRACE
        grace = _shutdown_grace(service)
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM", name
        assert waited > grace, (
            f"{name}: compose kills after {waited}, before SHUTDOWN_GRACE ({grace}) is over"
        )


def test_compose_durations_are_read_as_compose_reads_them() -> None:
    assert _compose_duration("40s") == timedelta(seconds=40)
    assert _compose_duration("1m30s") == timedelta(seconds=90)
    assert _compose_duration("1.5s") == timedelta(seconds=1.5)
    assert _compose_duration("500ms") == timedelta(milliseconds=500)


def test_the_worker_roles_the_cli_offers_are_the_workers() -> None:
    """cli/main.py names the roles without importing the worker (parsing stays light)."""
    action = next(
        a
        for sub in _parser()._actions
        if isinstance(sub, argparse._SubParsersAction)
        for a in sub.choices["worker"]._actions
        if a.dest == "role"
    )
    assert tuple(action.choices or ()) == WORKER_ROLES
