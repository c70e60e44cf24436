"""The layout's promises, checked on the source: what import-linter cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cocflow"
PROCESS_MODULES = {"subprocess", "git", "urllib", "urllib.request", "http.client", "socket"}


def modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(PACKAGE.rglob("*.py"))]


def imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_adapters_start_processes_or_open_connections():
    offenders = [path.relative_to(PACKAGE).as_posix() for path, tree in modules()
                 if "adapters" not in path.parts and imported(tree) & PROCESS_MODULES]
    assert offenders == []


def test_every_error_class_lives_in_errors_py():
    offenders = [f"{path.relative_to(PACKAGE).as_posix()}:{node.name}"
                 for path, tree in modules() if path.name != "errors.py"
                 for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                 and any((isinstance(base, ast.Name) and base.id.endswith(("Error", "Problem",
                                                                         "Denied", "Failed")))
                         or (isinstance(base, ast.Name) and base.id in ("Exception",
                                                                       "Tampered"))
                         for base in node.bases)]
    assert offenders == []


def test_no_module_catches_an_error_by_its_exit_number():
    offenders = [path.relative_to(PACKAGE).as_posix() for path, tree in modules()
                 if path.parent.name != "cli" and any(
                     isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute)
                     and node.left.attr == "exit_code" for node in ast.walk(tree))]
    assert offenders == []


def test_no_import_cycle_among_cocflow_modules():
    """Lazy imports inside functions count too: a cycle is a cycle however late it closes."""
    graph: dict[str, set[str]] = {}
    for path, tree in modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        graph[name.removesuffix(".__init__")] = targets
    graph = {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    path_so_far: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path_so_far.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append([*path_so_far[path_so_far.index(target):], target])
            elif target not in state:
                visit(target)
        path_so_far.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_mypy_sees_every_type_above_the_adapters():
    """`# type: ignore` is for third-party code without types (adapters); above them, an
    ignore hides exactly the CLI and operation types mypy --strict is there to check."""
    offenders = [f"{path.relative_to(PACKAGE).as_posix()}:{number}"
                 for path in sorted(PACKAGE.rglob("*.py")) if "adapters" not in path.parts
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "type: ignore" in line]
    assert offenders == []
