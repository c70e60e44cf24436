"""`migrate`: every format-1 case (and evidence file) this key can read, to format 2, one commit.

Planned without a key, like `rekey`: a case needs migrating when its plaintext meta says
format 1 or one of its evidence files is not padded. Applying the plan decrypts each such case
(MAC checked), seals it anew in format 2 (revision 1, or + 1) and rewrites its evidence in
format 2, in parallel and in memory; then every file is written and committed once. A case
only another member can read is listed; that member runs `migrate` after pulling, so the
migration resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocflow.adapters import sops
from cocflow.adapters.keys import public_keys
from cocflow.domain import sealed
from cocflow.errors import AccessDenied, CocflowError, Unreadable
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import (
    Workspace,
    case_readers,
    commit,
    decrypt_case,
    evidence_padded,
    reencrypt_evidence,
    seal,
)


@dataclass(frozen=True)
class MigratePlan:
    """Cases to migrate (their case file, their evidence, or both), and cases already done."""

    cases: tuple[str, ...]
    unchanged: tuple[str, ...]
    unknown: tuple[str, ...] = ()  # a format this cocflow does not know


@dataclass
class MigrateResult:
    """What `migrate` did (or, for a dry run, would try)."""

    migrated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    need_other_member: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    repaired: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def complete(self) -> bool:
        return not self.need_other_member and not self.unreadable

    def to_json(self) -> dict[str, Any]:
        return {"migrated": self.migrated, "unchanged": self.unchanged,
                "need_other_member": self.need_other_member,
                "unreadable": self.unreadable, "repaired": self.repaired,
                "dry_run": self.dry_run}


def plan_migrate(ws: Workspace) -> MigratePlan:
    """Which cases are not yet entirely in format 2, from plaintext meta and file sizes."""
    cases, unchanged, unknown = [], [], []
    for case_id in ws.store.ids():
        found = sealed.format_of(ws.store.meta(case_id))
        if found is None:
            unknown.append(case_id)
        elif found != sealed.FORMAT or not all(
                evidence_padded(path.read_text(encoding="utf-8"))
                for path in ws.store.evidence_files(case_id)):
            cases.append(case_id)
        else:
            unchanged.append(case_id)
    return MigratePlan(tuple(cases), tuple(unchanged), tuple(unknown))


def plan_result(ws: Workspace, plan: MigratePlan) -> MigrateResult:
    """The plan as a result: which cases the local key is a recipient of (a dry run)."""
    mine = set(public_keys(ws.keyring))
    readable = [case_id for case_id in plan.cases
                if mine & set(sops.recipients_of(ws.store.read(case_id)))]
    return MigrateResult(readable, list(plan.unchanged),
                         [c for c in plan.cases if c not in readable], list(plan.unknown),
                         dry_run=True)


@dataclass(frozen=True)
class _Converted:
    case_id: str
    files: tuple[tuple[Path, str], ...] = ()
    repaired: tuple[str, ...] = ()
    denied: bool = False
    unreadable: bool = False


def apply_migrate(ws: Workspace, plan: MigratePlan, jobs: int | None = None,
                  progress: Callable[[str], None] | None = None) -> MigrateResult:
    """Convert every planned case this key can read, then write them all and commit once."""
    paths = [ws.store.path(case_id) for case_id in plan.cases]
    ws.git.ensure_safe([*paths, *(p for c in plan.cases for p in ws.store.evidence_files(c))])
    _ = ws.roster  # resolved once, before the threads share it

    converted = parallel(lambda case_id: _convert(ws, case_id), list(plan.cases), jobs,
                         progress)
    done = [c for c in converted if not (c.denied or c.unreadable)]
    result = MigrateResult(
        migrated=[c.case_id for c in done], unchanged=list(plan.unchanged),
        need_other_member=[c.case_id for c in converted if c.denied],
        unreadable=sorted([*plan.unknown, *(c.case_id for c in converted if c.unreadable)]),
        repaired={c.case_id: list(c.repaired) for c in done if c.repaired},
    )
    files = [entry for c in done for entry in c.files]
    if files:
        commit(ws, files, _message(result.migrated))
    return result


def _convert(ws: Workspace, case_id: str) -> _Converted:
    """One case and its evidence in format 2, in memory; `denied` when this key cannot read it."""
    repaired: list[str] = []
    try:
        document = decrypt_case(ws, case_id, repaired=repaired)
        files = reencrypt_evidence(ws, document, case_readers(ws, document))
        # Evidence changes only with a write of its case (the history check relies on it).
        if files or document["meta"]["format"] != sealed.FORMAT:
            files.insert(0, (ws.store.path(case_id), seal(ws, document)))
    except AccessDenied:
        return _Converted(case_id, denied=True)
    except Unreadable:  # `verify` says why; the other cases still migrate
        return _Converted(case_id, unreadable=True)
    except CocflowError as exc:
        exc.args = (f"migrate stopped at case {case_id}, no file was changed: {exc}",)
        raise
    return _Converted(case_id, tuple(files), tuple(repaired))


def _message(case_ids: list[str]) -> str:
    """Ids only: the subject counts, the body lists them."""
    return f"migrate {len(case_ids)} case(s) to format 2\n\n" + "\n".join(case_ids)
