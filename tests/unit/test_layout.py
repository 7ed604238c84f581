"""The package layout README's Layout section describes: no import circles between our modules,
and the production processes never load the development stack."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "api", "worker", "workflows", "activities", "sandbox", "cli", "devstack")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _import_time_imports(path: Path, known: set[str]) -> set[str]:
    """First-party modules `path` imports at module level, `if TYPE_CHECKING` blocks included
    (a reader still sees two modules leaning on each other); imports inside functions, which
    are deliberately lazy, don't count."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    statements = [
        *tree.body,
        *(inner for node in tree.body if isinstance(node, ast.If) for inner in node.body),
    ]
    for node in statements:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return {name for name in found if name in known}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search, each as the modules along it."""
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == "open":
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_our_modules_import_each_other_without_circles() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: _import_time_imports(path, known) - {name} for name, path in modules.items()}
    assert import_cycles(graph) == []


def _core_package(module: str) -> str:
    """`core.domain.catalog` -> `core.domain`; `core.errors` stays itself."""
    return ".".join(module.split(".")[:2])


def test_core_packages_depend_on_each_other_in_one_direction() -> None:
    modules = {name: path for name, path in _modules().items() if name.startswith("core.")}
    known = set(_modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = {_core_package(m) for m in _import_time_imports(path, known) if m in modules}
        graph.setdefault(_core_package(name), set()).update(imported - {_core_package(name)})
    assert import_cycles(graph) == []
    # The domain is pure: it leans on nothing but itself and the shared errors.
    assert graph["core.domain"] <= {"core.errors"}


def test_the_api_and_worker_processes_never_load_the_dev_stack() -> None:
    probe = (
        "import sys, cli.main, cli.serve, cli.orgs, cli.audit, api.app, worker.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'devstack'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def _layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Layout") :]
    return section[: section.index("\n## ", 1)]


def test_readme_layout_names_every_package_and_every_core_role() -> None:
    layout = _layout_section()
    names = [
        *(f"{package}/" for package in PACKAGES),
        *(
            f"{path.name}/"
            for path in sorted((ROOT / "core").iterdir())
            if path.is_dir() and (path / "__init__.py").exists()
        ),
    ]
    missing = [name for name in names if name not in layout]
    assert missing == [], f"README's Layout section does not name {missing}"
