"""`rekey`: bring every case to its desired recipients, planned first, applied in one commit.

Like pip-sync, the plan is plain data computed without a key (`--dry-run` prints it); applying
it rotates each case that differs with one `sops rotate` call, in parallel, entirely in memory,
and only then writes every file and commits once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import yaml

from cocflow import sops, yamlio
from cocflow.domain.access import desired_recipients, recipient_change, require_enough_readers
from cocflow.domain.case import plaintext_leaves
from cocflow.errors import AccessDenied, CocflowError, IntegrityError
from cocflow.keys import public_keys
from cocflow.operations.workspace import Workspace
from cocflow.settings import TEAM_FILE
from cocflow.store import read_meta


@dataclass(frozen=True)
class CaseRekey:
    """One case whose recipients differ from the policy, and the exact change."""

    case_id: str
    add: tuple[str, ...]
    remove: tuple[str, ...]
    desired: tuple[str, ...]
    locally_readable: bool


@dataclass(frozen=True)
class RekeyPlan:
    """Every case either to re-key or already right, and warnings for people."""

    changes: tuple[CaseRekey, ...]
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
        recused = _meta_of(case_id, text).get("recused") or []
        readers = require_enough_readers(roster, recused, case_id)
        if len(readers) == 1:
            warnings.append(f"{readers[0]} is the only member who can read case {case_id}: "
                            "one lost key would lose it")
        current, desired = sops.recipients_of(text), desired_recipients(roster, recused)
        change = recipient_change(current, desired)
        if not change.needed:
            unchanged.append(case_id)
            continue
        changes.append(CaseRekey(case_id, change.add, change.remove, tuple(desired),
                                 bool(mine & set(current))))
    return RekeyPlan(tuple(changes), tuple(unchanged), tuple(warnings))


def plan_result(plan: RekeyPlan) -> RekeyResult:
    """The plan as a result: what a real run would most likely do with the local key."""
    return RekeyResult(
        rekeyed=[c.case_id for c in plan.changes if c.locally_readable],
        unchanged=list(plan.unchanged),
        need_other_member=[c.case_id for c in plan.changes if not c.locally_readable],
        warnings=list(plan.warnings), dry_run=True,
    )


def apply_rekey(ws: Workspace, plan: RekeyPlan, jobs: int | None = None,
                progress: Callable[[str], None] | None = None) -> RekeyResult:
    """Rotate every planned case in parallel, then write them all and commit once.

    A case no local key can open goes to `need_other_member`; any other failure changes no file.
    """
    paths = [ws.store.path(c.case_id) for c in plan.changes]
    ws.git.ensure_safe([*paths, ws.root / TEAM_FILE])  # refuse before any sops work
    rotated, need_other = _rotate_all(ws, plan.changes, jobs, progress)
    result = RekeyResult(sorted(rotated), list(plan.unchanged), sorted(need_other),
                         list(plan.warnings))
    if rotated:
        written = [ws.store.path(case_id) for case_id in result.rekeyed]
        # team.yaml rides along unchanged so that one_commit refuses an uncommitted roster.
        with ws.git.one_commit([*written, ws.root / TEAM_FILE], _message(result.rekeyed)):
            for case_id in result.rekeyed:
                ws.store.write(case_id, rotated[case_id])
    return result


def _rotate_all(ws: Workspace, changes: tuple[CaseRekey, ...], jobs: int | None,
                progress: Callable[[str], None] | None) -> tuple[dict[str, str], list[str]]:
    rotated: dict[str, str] = {}
    need_other: list[str] = []
    keyring, store = ws.keyring, ws.store  # resolved once, before the threads share them
    workers = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[Future[str], CaseRekey] = {
            pool.submit(_rotate_one, change, store.read(change.case_id), keyring): change
            for change in changes
        }
        try:
            for future in as_completed(futures):
                change = futures[future]
                try:
                    rotated[change.case_id] = future.result()
                except AccessDenied:
                    need_other.append(change.case_id)
                except CocflowError as exc:
                    raise type(exc)(f"rekey stopped at case {change.case_id}, no case file "
                                    f"was changed: {exc}") from None
                if progress is not None:
                    progress(change.case_id)
        except BaseException:
            for pending in futures:  # do not start what is still queued
                pending.cancel()
            raise
    return rotated, need_other


def _rotate_one(change: CaseRekey, text: str, keyring: sops.Keyring) -> str:
    """One `sops rotate`: new data key, recipients changed by exactly add/remove, verified."""
    new = sops.rotate(text, f"case {change.case_id}", add=change.add, remove=change.remove,
                      keyring=keyring)
    recipients = sops.recipients_of(new)
    if set(recipients) != set(change.desired):
        raise IntegrityError(f"sops did not give case {change.case_id} the planned recipients; "
                             "nothing was written")
    if read_meta(new) != read_meta(text) or plaintext_leaves(yamlio.load(new)):
        raise IntegrityError(f"sops changed the meta or left plaintext in case {change.case_id}; "
                             "nothing was written")
    return new


def _meta_of(case_id: str, text: str) -> dict[str, Any]:
    try:
        meta = read_meta(text)
    except (CocflowError, yaml.YAMLError):
        raise IntegrityError(f"the meta block of case {case_id} cannot be read: restore the file "
                             "from git history") from None
    if not isinstance(meta.get("recused") or [], list):
        raise IntegrityError(f"the meta block of case {case_id} has no list of recused handles: "
                             "restore the file from git history")
    if meta.get("id") != case_id:
        raise IntegrityError(f"the file of case {case_id} holds another case: it was renamed or "
                             "copied over; restore it from git history")
    return meta


def _message(case_ids: list[str]) -> str:
    """Ids only: the subject counts, the body lists them."""
    return f"rekey {len(case_ids)} case(s) to team.yaml\n\n" + "\n".join(case_ids)
