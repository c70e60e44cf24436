"""Local guards of a case repository clone: the decrypting diff driver and the pre-commit hook.

Both record the absolute path of the Python running cocflow, so that git finds cocflow
even when it is installed in a virtualenv that is not on PATH.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from cocflow.adapters import sops
from cocflow.adapters.git import CHECKED_TREE_ENV, GitRepo
from cocflow.errors import CocflowError, IntegrityError, ProblemsFound

GITATTRIBUTES = "cases/**/*.yaml diff=sops\ncases/*.yaml diff=sops\n"
HOOK = "hooks/pre-commit"
HOOK_MARKER = "# cocflow pre-commit hook"


def cocflow_command() -> str:
    """This cocflow, as a shell command: the running interpreter with `-m cocflow`."""
    return f"{shlex.quote(sys.executable)} -m cocflow"


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
    # `cocflow textconv` decrypts for a member and falls back to the raw file for anyone
    # else, so `git diff` keeps working without a key.
    return f"{cocflow_command()} textconv"


def configure_diff(repo: GitRepo) -> None:
    """`git diff` and `git log -p` show decrypted changes to a member with a key."""
    repo.set_config("diff.sops.textconv", textconv_command())
    # A textconv cache would keep decrypted text in .git (refs/notes/textconv/sops).
    repo.set_config("diff.sops.cachetextconv", "false")


def diff_configured(repo: GitRepo) -> bool:
    """The diff driver points at this cocflow."""
    return repo.config("diff.sops.textconv") == textconv_command()


def hook_text() -> str:
    """The pre-commit hook: `cocflow check --staged`, refusing the commit on any problem."""
    python = shlex.quote(sys.executable)
    return f"""#!/bin/sh
{HOOK_MARKER}: refuses a commit that would add a plaintext or wrongly keyed case.
# Installed by `cocflow init` and `cocflow doctor --fix`; it needs no key.
python={python}
# cocflow's own commits were checked in-process: skip the second check of the same tree.
if [ -n "${{{CHECKED_TREE_ENV}:-}}" ] && [ "$(git write-tree 2>/dev/null)" = "${CHECKED_TREE_ENV}" ]
then
    exit 0
fi
if [ ! -x "$python" ]; then
    echo "cocflow pre-commit hook: $python is gone; reinstall cocflow, then run" \\
        "\\`cocflow doctor --fix\\`" >&2
    exit 1
fi
"$python" -m cocflow check --staged && exit 0
echo "cocflow pre-commit hook: commit refused, nothing was committed (see above)" >&2
exit 1
"""


def verify_staged(repo: GitRepo) -> None:
    """What the hook checks, run in-process before cocflow's own commits."""
    from cocflow.operations.check import check_repository

    report = check_repository(repo.root, staged=True)
    if not report.ok:
        first = report.problems[0]
        raise ProblemsFound(f"refusing to commit: {first.file} {first.code}: {first.message} "
                            f"({len(report.problems)} problem(s); see `cocflow check --staged`)")


def hook_path(repo: GitRepo) -> Path:
    """Where git looks for the pre-commit hook (core.hooksPath honoured)."""
    return repo.git_path(HOOK)


def hook_status(repo: GitRepo) -> tuple[bool, str]:
    """Whether this cocflow's pre-commit hook is installed, and what to do if not."""
    path = hook_path(repo)
    if not path.is_file():
        return False, "pre-commit hook not installed: run `cocflow doctor --fix`"
    text = path.read_text(encoding="utf-8", errors="replace")
    if HOOK_MARKER not in text:
        return False, (f"{path} is not cocflow's: add `{cocflow_command()} check --staged` "
                       "to it")
    if text != hook_text() or not os.access(path, os.X_OK):
        return False, "pre-commit hook outdated: run `cocflow doctor --fix`"
    return True, "pre-commit hook runs `cocflow check --staged`"


def install_hook(repo: GitRepo) -> Path | None:
    """Write the pre-commit hook (mode 0755); a hook that is not cocflow's is left alone."""
    path = hook_path(repo)
    if path.exists() and HOOK_MARKER not in path.read_text(encoding="utf-8", errors="replace"):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(hook_text(), encoding="utf-8")
    path.chmod(0o755)
    return path


def install(root: Path, repo: GitRepo) -> None:
    """Every local guard: .gitattributes, diff driver, pre-commit hook."""
    write_gitattributes(root)
    configure_diff(repo)
    install_hook(repo)


def textconv(path: Path) -> bytes:
    """What `git diff` shows for a case: decrypted for a member, else the file as it is.

    Someone without a key (or a recused member) sees the ciphertext, exactly as without
    the diff driver; a file that fails its MAC is shown encrypted, under a warning line.
    """
    raw = path.read_bytes()
    from cocflow.adapters.keys import local_keyring

    try:
        return sops.decrypt(raw.decode("utf-8"), "the file", local_keyring()).encode("utf-8")
    except IntegrityError:
        return b"# cocflow: this file FAILED its integrity check (MAC); shown encrypted\n" + raw
    except (CocflowError, UnicodeDecodeError):
        return raw
