"""Local guards of a case repository clone: diff driver for encrypted cases."""

from __future__ import annotations

import shlex
from pathlib import Path

from cocflow import sops
from cocflow.gitrepo import GitRepo

GITATTRIBUTES = "cases/**/*.yaml diff=sops\ncases/*.yaml diff=sops\n"


def gitattributes_ok(root: Path) -> bool:
    path = root / ".gitattributes"
    return path.is_file() and "diff=sops" in path.read_text(encoding="utf-8")


def write_gitattributes(root: Path) -> Path:
    path = root / ".gitattributes"
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if "diff=sops" not in existing:
        path.write_text(existing + GITATTRIBUTES, encoding="utf-8")
    return path


def textconv_command() -> str:
    return f"{shlex.quote(sops.sops_binary())} decrypt --input-type yaml --output-type yaml"


def configure_diff(repo: GitRepo) -> None:
    """`git diff` and `git log -p` show decrypted changes to a member with a key."""
    repo.git.config("diff.sops.textconv", textconv_command())


def diff_configured(repo: GitRepo) -> bool:
    try:
        return bool(repo.git.config("--get", "diff.sops.textconv"))
    except Exception:
        return False
