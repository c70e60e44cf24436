"""`rekey`: bring every case to its desired recipients, planned first, applied in one commit.

Like pip-sync, the plan is plain data computed without a key (`--dry-run` prints it); applying
it re-encrypts each case that differs, in parallel, entirely in memory, and only then writes
every file and commits once. A case is decrypted (its MAC checked) and sealed anew rather than
rotated in place: a new data key, and a new revision, because re-keying is a write of the case
and the revision counts writes (docs/case-format.md). Evidence files are rotated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cocflow.adapters import sops_recipients
from cocflow.adapters.config import TEAM_FILE
from cocflow.adapters.keys import public_keys
from cocflow.adapters.store import read_meta
from cocflow.domain.access import Assessment, RecipientChange, assess, require_enough_readers
from cocflow.domain.case import recused_handles
from cocflow.errors import AccessDenied, CocflowError, IntegrityError
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import (
    Workspace,
    commit,
    decrypt_case,
    reencrypt_evidence_file,
    seal,
)


@dataclass(frozen=True)
class FileRekey:
    """One file of a case (the case itself or an evidence file) whose recipients differ."""

    case_id: str
    path: Path
    add: tuple[str, ...]
    remove: tuple[str, ...]
    desired: tuple[str, ...]
    locally_readable: bool

    @property
    def is_evidence(self) -> bool:
        return self.path.suffix == ".json"


@dataclass(frozen=True)
class RekeyPlan:
    """Every case either to re-key or already right, and warnings for people."""

    changes: tuple[FileRekey, ...]
    unchanged: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass
class RekeyResult:
    """What `rekey` did (or, for a dry run, would do)."""

    rekeyed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    need_other_member: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"rekeyed": self.rekeyed, "unchanged": self.unchanged,
                "need_other_member": self.need_other_member, "warnings": self.warnings,
                "dry_run": self.dry_run}


def plan_rekey(ws: Workspace) -> RekeyPlan:
    """Compare every case's recipients with the policy; refuse before anything if one case
    would have fewer than min_recipients readers."""
    roster, mine = ws.roster, set(public_keys(ws.keyring))
    changes, unchanged, warnings = [], [], []
    for case_id in ws.store.ids():
        text = ws.store.read(case_id)
        recused = _recused_in_meta(case_id, text)
        readers = require_enough_readers(roster, recused, case_id)
        if len(readers) == 1:
            warnings.append(f"{readers[0]} is the only member who can read case {case_id}: "
                            "one lost key would lose it")
        files = [(ws.store.path(case_id), text)] + [
            (path, path.read_text(encoding="utf-8")) for path in ws.store.evidence_files(case_id)]
        found = [change for path, body in files if (change := _file_change(
            assess(roster, case_id, recused, sops_recipients.recipients_of(body)), path, mine))]
        changes += found
        if not found:
            unchanged.append(case_id)
    return RekeyPlan(tuple(changes), tuple(unchanged), tuple(warnings))


def _file_change(assessment: Assessment, path: Path, mine: set[str]) -> FileRekey | None:
    change = assessment.change
    if not change.needed:
        return None
    return FileRekey(assessment.case_id, path, change.add, change.remove, assessment.desired,
                     bool(mine & set(assessment.current)))


def plan_result(plan: RekeyPlan) -> RekeyResult:
    """The plan as a result: what a real run would most likely do with the local key."""
    return RekeyResult(
        rekeyed=_case_ids(c for c in plan.changes if c.locally_readable),
        unchanged=list(plan.unchanged),
        need_other_member=_case_ids(c for c in plan.changes if not c.locally_readable),
        warnings=list(plan.warnings), dry_run=True,
    )


def apply_rekey(ws: Workspace, plan: RekeyPlan, jobs: int | None = None,
                progress: Callable[[str], None] | None = None) -> RekeyResult:
    """Rotate every planned case in parallel, then write them all and commit once.

    A case no local key can open goes to `need_other_member`; any other failure changes no file.
    """
    ws.git.ensure_safe([*(c.path for c in plan.changes), ws.root / TEAM_FILE])  # before sops
    all_rotated, need_other = _rotate_all(ws, plan.changes, jobs, progress)
    # A case is re-keyed whole or not at all: one unreadable file holds back its siblings.
    held_back = set(need_other)
    rotated = {path: text for path, (case_id, text) in all_rotated.items()
               if case_id not in held_back}
    rekeyed = sorted({case_id for case_id, _ in _owners(plan, rotated)})
    result = RekeyResult(rekeyed, list(plan.unchanged), sorted(held_back), list(plan.warnings))
    if rotated:
        # team.yaml rides along unchanged, so an uncommitted roster is refused.
        commit(ws, list(rotated.items()), _message(result.rekeyed), [ws.root / TEAM_FILE])
    return result


def _owners(plan: RekeyPlan, rotated: dict[Path, str]) -> list[tuple[str, Path]]:
    return [(c.case_id, c.path) for c in plan.changes if c.path in rotated]


def _case_ids(changes: Iterable[FileRekey]) -> list[str]:
    return sorted({change.case_id for change in changes})


def _rotate_all(ws: Workspace, changes: tuple[FileRekey, ...], jobs: int | None,
                progress: Callable[[str], None] | None
                ) -> tuple[dict[Path, tuple[str, str]], list[str]]:
    _ = ws.roster  # resolved once, before the threads share it

    def rotate(change: FileRekey) -> str | None:
        """The re-encrypted text, or None when no local key opens the file."""
        try:
            return _rekey_one(ws, change, change.path.read_text(encoding="utf-8"))
        except AccessDenied:
            return None
        except CocflowError as exc:
            # Same class, so the cause decides the exit code; the case is named.
            exc.args = (f"rekey stopped at case {change.case_id}, no case file was changed: "
                        f"{exc}",)
            raise exc from None

    done = (lambda change: progress(change.case_id)) if progress else None
    results = parallel(rotate, changes, jobs, done)
    rotated = {change.path: (change.case_id, text)
               for change, text in zip(changes, results, strict=True) if text is not None}
    need_other = list(dict.fromkeys(change.case_id for change, text
                                    in zip(changes, results, strict=True) if text is None))
    return rotated, need_other


def _rekey_one(ws: Workspace, change: FileRekey, text: str) -> str:
    """One file at its planned recipients with a new data key: a case decrypted and sealed
    anew (revision + 1), an evidence file re-encrypted; verified before anything is written."""
    if change.is_evidence:
        new = reencrypt_evidence_file(text, change.path, change.case_id,
                                      RecipientChange(change.add, change.remove), change.desired,
                                      ws.reader)
    else:
        # seal checks the full schema of what it writes: checking it at load too would
        # double the cost of a rekey that touches every case.
        new = seal(ws, decrypt_case(ws, change.case_id, text, full_schema=False))
    if set(sops_recipients.recipients_of(new)) != set(change.desired):
        raise IntegrityError(f"cocflow did not give {change.path.name} of case {change.case_id} "
                             "the planned recipients; nothing was written")
    return new


def _recused_in_meta(case_id: str, text: str) -> list[str]:
    try:
        meta = read_meta(text)
    except (CocflowError, yaml.YAMLError):
        raise IntegrityError(f"the meta block of case {case_id} cannot be read: restore the file "
                             "from git history") from None
    recused = recused_handles(meta)
    if recused is None:
        raise IntegrityError(f"the meta block of case {case_id} has no list of recused handles: "
                             "restore the file from git history")
    if meta.get("id") != case_id:
        raise IntegrityError(f"the file of case {case_id} holds another case: it was renamed or "
                             "copied over; restore it from git history")
    return list(recused)


def _message(case_ids: list[str]) -> str:
    """Ids only: the subject counts, the body lists them."""
    return f"rekey {len(case_ids)} case(s) to team.yaml\n\n" + "\n".join(case_ids)
