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
