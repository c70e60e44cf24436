"""`rekey`: bring every case to its desired recipients, planned first, applied in one commit.

Like pip-sync, the plan is plain data computed without a key (`--dry-run` prints it); applying
it re-encrypts each case that differs, in parallel, entirely in memory, and only then writes
every file and commits once. A case is decrypted (its MAC checked) and sealed anew rather than
rotated in place: a new data key, and a new revision, because re-keying is a write of the case
and the revision counts writes (docs/case-format.md). The plan only says which cases to visit:
the readers, the recusals and the evidence files come from the verified document, never from
plaintext meta or the `sops:` block, and no file gains a reader the plan did not show.
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
from cocflow.adapters.store import read_meta, write_beside
from cocflow.domain.access import Assessment, assess, require_enough_readers
from cocflow.domain.case import recused_handles
from cocflow.errors import AccessDenied, CocflowError, IntegrityError
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import Workspace, commit_prepared, decrypt_case, reencrypt


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

    @property
    def case_ids(self) -> list[str]:
        return list(dict.fromkeys(change.case_id for change in self.changes))


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
    """Re-key every planned case in parallel, then write them all and commit once.

    A case no local key can open goes to `need_other_member`; any other failure changes no file.
    """
    ws.git.ensure_safe([*(c.path for c in plan.changes), ws.root / TEAM_FILE])  # before sops
    _ = ws.roster  # resolved once, before the threads share it
    shown: dict[str, set[str]] = {}
    for change in plan.changes:
        shown.setdefault(change.case_id, set()).update(change.desired)
    written: list[Path] = []

    def rekey(case_id: str) -> list[tuple[Path, Path]] | None:
        try:
            writes = _rekey_case(ws, case_id, shown[case_id])
        except AccessDenied:
            return None
        except CocflowError as exc:
            # Same class, so the cause decides the exit code; the case is named.
            exc.args = (f"rekey stopped at case {case_id}, no case file was changed: {exc}",)
            raise exc from None
        # Each file waits beside its target (nothing held in memory) until the one commit.
        prepared = [(path, write_beside(path, text.encode("utf-8"))) for path, text in writes]
        written.extend(temp for _path, temp in prepared)
        return prepared

    case_ids = plan.case_ids
    try:
        results = parallel(rekey, case_ids, jobs, progress)
    except BaseException:
        for temp in written:
            temp.unlink(missing_ok=True)
        raise
    prepared = [w for found in results if found is not None for w in found]
    result = RekeyResult(
        sorted(c for c, found in zip(case_ids, results, strict=True) if found is not None),
        list(plan.unchanged),
        sorted(c for c, found in zip(case_ids, results, strict=True) if found is None),
        list(plan.warnings))
    if prepared:
        # team.yaml rides along unchanged, so an uncommitted roster is refused.
        commit_prepared(ws, prepared, _message(result.rekeyed), [ws.root / TEAM_FILE])
    return result


def _case_ids(changes: Iterable[FileRekey]) -> list[str]:
    return sorted({change.case_id for change in changes})


def _rekey_case(ws: Workspace, case_id: str, shown: set[str]) -> list[tuple[Path, str]]:
    """One case decrypted (MAC checked) and sealed anew, with its listed evidence at the
    verified readers; refused if any file would gain a reader the plan did not show."""
    # seal checks the full schema of what it writes: checking it at load too would double the
    # cost of a rekey that touches every case.
    writes = reencrypt(ws, decrypt_case(ws, case_id, full_schema=False))
    for path, text in writes:
        if set(sops_recipients.recipients_of(text)) - shown:
            raise IntegrityError(f"cocflow would give {path.name} of case {case_id} a reader "
                                 "the plan did not show; nothing was written")
    return writes


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
