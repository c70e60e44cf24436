"""A clone is protected from its first command: the local guards a fresh clone lacks.

A `git clone` brings `.gitattributes` but no hook and no local git config, so until someone
ran `doctor --fix` nothing stopped a plaintext commit. Every command that opens the
repository (cli/common.py) calls `protect_clone` first.
"""

from __future__ import annotations

from pathlib import Path

from cocflow.adapters.git import GitRepo
from cocflow.errors import CocflowError
from cocflow.operations import hooks, merge_driver


def protect_clone(root: Path) -> tuple[list[str], list[str]]:
    """Before any command in a clone: install the local guards a fresh clone lacks.

    Only what is missing, and only local settings (never a tracked file): the pre-commit
    hook, the diff driver's and the merge driver's git config. Returns (what was set up,
    what the person must do themselves), so a clone is protected from its first command.
    """
    if _looks_protected(root) or not (root / ".git").exists():
        return [], []
    repo = GitRepo(root)
    set_up: list[str] = []
    todo: list[str] = []
    try:
        if repo.config("diff.sops.textconv") is None:
            hooks.configure_diff(repo)
            set_up.append("the diff driver")
        path = hooks.hook_path(repo)
        if not path.exists():
            hooks.install_hook(repo)
            set_up.append("the pre-commit hook")
        else:
            installed, detail = hooks.hook_status(repo)
            if not installed and "doctor --fix" not in detail:
                todo.append(detail)  # someone else's hook: never overwritten
        set_up += merge_driver.ensure_active(root)
    except CocflowError as exc:
        todo.append(f"this clone's guards could not be set up ({exc}): run `cocflow doctor "
                    "--fix`")
    return set_up, todo


def _looks_protected(root: Path) -> bool:
    """The cheap test every command pays: no git process when all guards are in place."""
    git_dir = root / ".git"
    try:
        config = (git_dir / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # a worktree or submodule (.git is a file): ask git itself
    return ('[diff "sops"]' in config and '[merge "cocflow"]' in config
            and "hookspath" not in config.lower() and (git_dir / hooks.HOOK).is_file())
