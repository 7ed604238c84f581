"""Workflow code reads no clock, randomness, environment or I/O of its own.

The worker passes every module through the workflow sandbox (worker.main.workflow_runner), so
at run time the sandbox refuses only builtins such as open(); datetime.now(), random, time,
uuid4 or socket calls in workflow code would run, and break replay. This reads the workflow
modules, and the modules of ours they import (they run inside the workflow too), for such
calls; activities are only referenced by the workflow, never run in it, so they are left out.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Whole modules whose every function is a clock, randomness, environment, I/O or threads.
_MODULES = {"time", "random", "secrets", "socket", "subprocess", "threading", "os", "sys"}
# Single names: clock reads and random ids in otherwise deterministic modules.
_NAMES = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "uuid.uuid1",
    "uuid.uuid4",
}
_BUILTINS = {"open", "input", "print", "breakpoint"}
# Our packages whose modules run inside a workflow when a workflow module imports them (the
# booking workflow's chapters, workflows/lifecycle.py and the like, among them).
_FIRST_PARTY = ("core", "workflows")


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from the module's imports."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def non_deterministic_uses(source: str) -> list[tuple[int, str]]:
    """(line, dotted name) of each use of a forbidden module, name or builtin in `source`."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    # Only whole chains: in `random.random()`, not the `random` inside it again.
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in inner:
            continue
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            parts = _dotted(node)
            if parts is None:
                continue
            base = aliases.get(parts[0])
            if base is None:
                if len(parts) == 1 and parts[0] in _BUILTINS:
                    found.append((node.lineno, parts[0]))
                continue
            name = ".".join([base, *parts[1:]])
            if name in _NAMES or name.split(".")[0] in _MODULES:
                found.append((node.lineno, name))
    return sorted(set(found))


def _is_workflow_module(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ClassDef)
        and any("defn" in ast.unparse(decorator) for decorator in node.decorator_list)
        for node in tree.body
    )


def _modules_running_in_workflows() -> list[Path]:
    """The workflow modules and, transitively, the first-party modules they import."""
    pending = [
        path
        for path in sorted((ROOT / "workflows").glob("*.py"))
        if _is_workflow_module(ast.parse(path.read_text()))
    ]
    seen: set[Path] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            modules: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            for module in modules:
                if module.split(".")[0] in _FIRST_PARTY:
                    candidate = ROOT / (module.replace(".", "/") + ".py")
                    if candidate.exists():
                        pending.append(candidate)
    return sorted(seen)


def test_code_that_runs_in_workflows_reads_no_clock_randomness_or_io() -> None:
    modules = _modules_running_in_workflows()
    assert ROOT / "workflows" / "booking.py" in modules
    assert ROOT / "core" / "domain" / "speech.py" in modules  # imported modules are read too
    assert ROOT / "workflows" / "lifecycle.py" in modules  # and the workflow's chapters
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in modules
        for line, name in non_deterministic_uses(path.read_text())
    ]
    assert found == [], (
        "use workflow.now(), workflow.random(), workflow.uuid4() or an activity instead:\n"
        + "\n".join(found)
    )


def test_the_check_sees_every_spelling() -> None:
    source = "\n".join(
        [
            "import datetime, random, time as clock",
            "from datetime import datetime as dt, date",
            "from uuid import uuid4",
            "import os",
            "a = datetime.datetime.now()",
            "b = dt.utcnow()",
            "c = date.today()",
            "d = random.random()",
            "e = clock.monotonic()",
            "f = uuid4()",
            "g = os.environ['HOME']",
            "h = open('/etc/hostname')",
        ]
    )
    assert [line for line, _ in non_deterministic_uses(source)] == list(range(5, 13))


def test_the_check_leaves_deterministic_code_alone() -> None:
    source = "\n".join(
        [
            "import uuid",
            "from datetime import datetime, time, timedelta",
            "from temporalio import workflow",
            "a = workflow.now() + timedelta(hours=1)",
            "b = datetime.fromisoformat('2020-01-01T10:00')",
            "c = time(10)",
            "d = uuid.uuid5(uuid.NAMESPACE_URL, 'x')",
            "e = workflow.random().random()",
        ]
    )
    assert non_deterministic_uses(source) == []
