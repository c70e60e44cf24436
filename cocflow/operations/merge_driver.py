"""The git merge driver for case files: decrypt three versions, merge them, re-encrypt.

git calls `python -m cocflow merge-driver %O %A %B %P` for every `cases/*.yaml` that both
sides changed. The three versions arrive as ciphertext files written by git; they are
decrypted through sops' stdin/stdout, merged in memory (cocflow.domain.merge) and the result is
encrypted with `seal` and written over %A. On a conflict %A is left as it was (our
ciphertext) and git keeps base, ours and theirs in the index stages: no plaintext conflict
markers, ever, and nothing lost.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from pathlib import Path

from cocflow.adapters import sops, store
from cocflow.adapters.git import GitRepo
from cocflow.adapters.store import CASES_DIR, case_label, write_atomic
from cocflow.domain.access import Roster
from cocflow.domain.merge import SIDES, MergeResult, Side, merge_cases
from cocflow.errors import InvalidInput, MergeConflict
from cocflow.operations.workspace import Workspace, decrypt_case, seal

DRIVER = "cocflow"
ATTRIBUTE = f"{CASES_DIR}/*.yaml merge={DRIVER}"
PREFER_VARIABLE = "COCFLOW_MERGE_PREFER"
SAMPLE_CASE = f"{CASES_DIR}/2000-0001.yaml"



# --- installation -------------------------------------------------------------------------


def driver_command() -> str:
    """The command git runs; this interpreter, so the driver finds this cocflow."""
    return f"{shlex.quote(sys.executable)} -m cocflow merge-driver %O %A %B %P"


def write_attribute(root: Path) -> Path:
    """`.gitattributes` routes case files to the driver (committed with the repository)."""
    path = root / ".gitattributes"
    _append_line(path, ATTRIBUTE)
    return path


def _append_line(path: Path, line: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if line not in existing.splitlines():
        separator = "" if not existing or existing.endswith("\n") else "\n"
        write_atomic(path, f"{existing}{separator}{line}\n")


def configure(repo: GitRepo) -> None:
    """Local git config naming the driver (each clone needs it: init, doctor --fix, sync)."""
    repo.set_config(f"merge.{DRIVER}.name", "cocflow: merge encrypted cases")
    repo.set_config(f"merge.{DRIVER}.driver", driver_command())


def install(root: Path) -> None:
    """What `init` and `doctor --fix` set up: the attribute and the local driver config."""
    write_attribute(root)
    configure(GitRepo(root))


def configured(repo: GitRepo) -> bool:
    """The driver is configured and points at an interpreter that exists."""
    command = repo.config(f"merge.{DRIVER}.driver")
    if command is None:
        return False
    parts = shlex.split(command)
    return bool(parts) and Path(parts[0]).is_file() and "merge-driver" in parts


def routed(repo: GitRepo) -> bool:
    """Case files carry the `merge=cocflow` attribute (from any attributes file)."""
    return repo.attribute("merge", SAMPLE_CASE) == DRIVER


def ensure_active(root: Path) -> list[str]:
    """Make the driver work in this clone without a commit; returns what had to be set up.

    The attribute goes to `.git/info/attributes` (local) when `.gitattributes` lacks it, so
    an older repository can sync before anyone commits the new `.gitattributes`.
    """
    repo = GitRepo(root)
    changed = []
    if not configured(repo):
        configure(repo)
        changed.append("merge driver config")
    if not routed(repo):
        _append_line(repo.git_dir() / "info" / "attributes", ATTRIBUTE)
        changed.append("merge attribute (.git/info/attributes)")
    return changed


# --- the driver ---------------------------------------------------------------------------


def preference() -> Side | None:
    """The side that wins conflicts, from COCFLOW_MERGE_PREFER (set by `sync --prefer`)."""
    value = os.environ.get(PREFER_VARIABLE, "").strip()
    if not value:
        return None
    if value not in SIDES:
        raise InvalidInput(f"{PREFER_VARIABLE} must be ours or theirs")
    return "ours" if value == "ours" else "theirs"


def case_id_of(pathname: str) -> str:
    """The case id of a repository path `cases/<id>.yaml`, validated before any use."""
    case_id = store.case_id_of(pathname)
    if case_id is None:
        raise InvalidInput(f"{pathname!r} is not a case file (cases/<id>.yaml)")
    return case_id


def merge_files(ws: Workspace, base: Path, ours: Path, theirs: Path, pathname: str,
                prefer: Side | None = None) -> MergeResult:
    """Merge the three ciphertext files git gives us; write the result over `ours`."""
    case_id = case_id_of(pathname)
    texts = [p.read_text(encoding="utf-8") for p in (base, ours, theirs)]
    documents = [decrypt_case(ws, case_id, text) for text in texts[1:]]
    base_document = decrypt_case(ws, case_id, texts[0]) if texts[0].strip() else None
    result = merge_cases(base_document, documents[0], documents[1], prefer)
    _refuse_conflicts(case_id, result)
    sealed = seal(_narrowed(ws, texts), result.document)
    write_atomic(ours, sealed)
    return result


def _refuse_conflicts(case_id: str, result: MergeResult) -> None:
    label = case_label(case_id)
    if result.opened_twice:
        raise MergeConflict(
            f"{label} was opened on both sides as two different reports with the same id; "
            "they are never merged: abort (`git merge --abort` or `git rebase --abort`) and "
            "run `cocflow sync`, which gives your unpushed case the next free id"
        )
    if result.conflicts:
        raise MergeConflict(
            f"{label}: both sides changed {', '.join(result.conflicts)} differently; nothing "
            "was merged and both versions are kept: choose one with `cocflow sync --prefer "
            "mine` or `--prefer theirs` (or `git checkout --ours/--theirs -- FILE`)"
        )


def _narrowed(ws: Workspace, texts: list[str]) -> Workspace:
    """The workspace with every key either side dropped from the case taken off the roster.

    The roster in the working tree may lag behind a side that removed a member and
    re-keyed; a merge must never give such a key its access back.
    """
    base, ours, theirs = (set(sops.recipients_of(t)) for t in texts)
    dropped = (base - ours) | (base - theirs) if base else set()
    roster = ws.roster
    members = tuple(
        dataclasses.replace(m, keys=tuple(k for k in m.keys if k not in dropped))
        for m in roster.members
    )
    narrowed = Workspace(ws.root, ws.keyring)
    narrowed.roster = Roster(
        tuple(m for m in members if m.keys),
        tuple(k for k in roster.escrow if k not in dropped),
        roster.min_recipients,
    )
    return narrowed


def run_driver(base: Path, ours: Path, theirs: Path, pathname: str,
               repo: Path | None = None) -> MergeResult:
    """The driver's entry: the repository is `repo`, else the current directory (git runs
    the driver at the top of the working tree)."""
    case_id_of(pathname)
    return merge_files(Workspace.open(repo), base, ours, theirs, pathname, preference())
