"""Who may read what: recuse a member from a case, audit access now and in git history."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from cocflow.adapters import git_history, sops, sops_recipients, yamlio
from cocflow.adapters.config import TEAM_FILE
from cocflow.adapters.store import CASES_DIR, read_meta
from cocflow.domain.access import Assessment, Roster, assess, key_status, require_enough_readers
from cocflow.domain.case import event, recusal, recused_handles, require_case_id
from cocflow.domain.lifecycle import RECUSAL_REASONS
from cocflow.errors import CocflowError, InvalidInput
from cocflow.operations.workspace import Workspace, decrypt_case, save_case


@dataclass(frozen=True)
class Recused:
    """The outcome of `recuse`: who left the case and who can read it now."""

    case_id: str
    handle: str
    readers: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.case_id, "recused": self.handle, "readers": list(self.readers)}


def recuse(ws: Workspace, case_id: str, handle: str, reason: str,
           note: str | None = None) -> Recused:
    """Recuse a member: recorded in the case, their keys dropped, a new data key, one commit."""
    require_case_id(case_id)
    ws.roster.require(handle)
    if reason not in RECUSAL_REASONS:
        raise InvalidInput(f"not a recusal reason: {reason!r} (one of: "
                           f"{', '.join(RECUSAL_REASONS)})")
    text = ws.store.read(case_id)
    _require_allowed(ws.roster, handle, _recused(text), case_id)  # keyless: fail before sops
    actor, now = ws.actor, ws.now()
    document = decrypt_case(ws, case_id, text)
    # The MAC-checked meta decides: the plaintext one may have been edited without the key.
    readers = _require_allowed(ws.roster, handle, document["meta"]["recused"], case_id)
    document["meta"]["recused"] = [*document["meta"]["recused"], handle]
    # Every key the member holds, accepted or only pushed: none of them reads this case again.
    held = {*ws.roster.require(handle).keys, *_pushed_keys(ws, handle)}
    document["recusals"] = [*document["recusals"],
                            recusal(handle, reason, actor, now, note, keys=sorted(held))]
    document["timeline"] = [*document["timeline"], event("recused", actor, now, handle)]
    # A fresh encryption always draws a new data key: the one `handle` may hold is useless
    # for every version from this commit on.
    save_case(ws, document, f"recuse {handle} in {case_id}")
    return Recused(case_id, handle, tuple(readers))


def _pushed_keys(ws: Workspace, handle: str) -> tuple[str, ...]:
    member = ws.team_roster.member(handle)
    return member.keys if member else ()


def _require_allowed(roster: Roster, handle: str, recused: list[str], case_id: str) -> list[str]:
    """The readers left after recusing `handle`; refuses a repeat and too few readers."""
    if handle in recused:
        raise InvalidInput(f"{handle} is already recused from case {case_id}")
    return require_enough_readers(roster, [*recused, handle], case_id)


@dataclass(frozen=True)
class PastAccess:
    """A removed or recused member's key that can open committed versions of a case."""

    case_id: str
    key: str
    handle: str | None
    why: str  # "departed" or "recused"
    commits: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case_id, "handle": self.handle, "key": self.key, "why": self.why,
                "commits": list(self.commits)}


@dataclass
class AuditReport:
    """Access of every case now, and (with history) in every committed version."""

    cases: list[Assessment]
    names: dict[str, str]
    history: list[PastAccess] | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases)

    def label(self, key: str) -> str:
        """A person's handle for a key, from team.yaml now or in history; else the key."""
        return self.names.get(key) or key

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "ok": self.ok,
            "cases": [_access_json(c, self.names) for c in self.cases],
        }
        if self.history is not None:
            document["history"] = [p.to_json() for p in self.history]
        return document


def _access_json(access: Assessment, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": access.case_id,
        "readers": list(access.readers),
        "recused": list(access.recused),
        "departed": [{"key": k, "handle": names.get(k)} for k in access.departed],
        "recused_recipients": list(access.recused_recipients),
        "missing": list(access.missing),
        "missing_escrow": list(access.missing_escrow),
        "problems": access.problems(),
        "codes": [finding.code for finding in access.findings],
    }


class StepProgress(Protocol):
    """What follows a long walk: `start(total)`, then one `tick()` per step."""

    def start(self, total: int) -> None: ...

    def tick(self) -> None: ...


def audit(ws: Workspace, history: bool = False,
          progress: StepProgress | None = None) -> AuditReport:
    """Compare the recipients of every case and evidence file with the policy; keyless.

    `progress` (start(total), tick()) follows the walk through history, file by file.
    """
    roster = ws.roster
    # One file at a time: only each assessment is kept, never a file's text.
    assessed = [(path, assess(roster, label, recused, sops.recipients_of(text)))
                for label, path, recused, text in _audited_files(ws)]
    cases = [access for _path, access in assessed]
    report = AuditReport(cases, key_names(ws))
    if history:
        report.history = _past_access(ws, assessed, report.names, progress)
    return report


def _audited_files(ws: Workspace) -> Iterator[tuple[str, Path, list[str], str]]:
    """(label, path, recused, text) of each case file and each of its evidence files."""
    for case_id in ws.store.ids():
        text = ws.store.read(case_id)
        recused = _recused(text)
        yield case_id, ws.store.path(case_id), recused, text
        for path in ws.store.evidence_files(case_id):
            yield (f"{case_id}/{path.name}", path, recused,
                   path.read_text(encoding="utf-8"))


def _past_access(ws: Workspace, files: list[tuple[Path, Assessment]], names: dict[str, str],
                 progress: Any) -> list[PastAccess]:
    """Which departed or recused members' keys open which committed versions of each file.

    The whole history in one pass: one `git log --raw` lists every version of every file,
    one `git cat-file --batch` streams them; `progress` follows the versions read.
    """
    history = git_history.versions(ws.git, CASES_DIR)
    root = ws.root.resolve()
    wanted = {path: history.get(str(path.resolve().relative_to(root)), []) for path, _ in files}
    blobs = list(dict.fromkeys(blob for found in wanted.values() for _commit, blob in found))
    if progress is not None:
        progress.start(len(blobs))
    recipients: dict[str, list[str]] = {}
    for blob, content in git_history.read_blobs(ws.git, blobs):
        text = content.decode("utf-8", "replace")
        recipients[blob] = list(dict.fromkeys(sops_recipients.recipients_of(text)))
        if progress is not None:
            progress.tick()
    roster, found = ws.roster, []
    for path, access in files:
        versions: dict[str, list[str]] = {}
        for commit, blob in wanted[path]:
            for key in recipients.get(blob, []):
                if key_status(roster, key, access.recused):
                    versions.setdefault(key, []).append(commit[:12])
        found += [PastAccess(access.case_id, key, names.get(key),
                             key_status(roster, key, access.recused) or "", tuple(commits))
                  for key, commits in versions.items()]
    return found


def key_names(ws: Workspace) -> dict[str, str]:
    """Every key ever in team.yaml mapped to its holder's handle (or `escrow`); today wins."""
    names: dict[str, str] = {}
    blobs = [blob for _commit, blob in git_history.versions(ws.git, TEAM_FILE).get(TEAM_FILE, [])]
    texts = dict(git_history.read_blobs(ws.git, blobs))
    for blob in reversed(blobs):
        names.update(_names_in(texts.get(blob, b"").decode("utf-8", "replace")))
    for member in ws.roster.members:
        names.update(dict.fromkeys(member.keys, member.handle))
    names.update(dict.fromkeys(ws.roster.escrow, "escrow"))
    return names


def _names_in(team_text: str) -> dict[str, str]:
    try:
        document = yamlio.load(team_text)
        names = {key: m["handle"] for m in document.get("members") or [] for key in m["keys"]}
        names.update(dict.fromkeys(document.get("escrow") or [], "escrow"))
    except (AttributeError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return {}  # an old, malformed team.yaml names nobody
    return names


def _recused(text: str) -> list[str]:
    """The recused handles in a case's plaintext meta; malformed meta (`check` flags it) is []."""
    try:
        return list(recused_handles(read_meta(text)) or ())
    except (CocflowError, yaml.YAMLError):
        return []


@dataclass(frozen=True)
class LocalAccess:
    """What `doctor` says about access, from the assessment `audit` renders: the files that
    break the policy, and the cases the local key cannot open (not shared with it yet, which
    breaks nothing, or recused)."""

    broken: tuple[str, ...]
    not_shared: tuple[str, ...]
    recused: tuple[str, ...]


def local_access(ws: Workspace, local_keys: Iterable[str]) -> LocalAccess:
    """Assess every case and evidence file as `audit` does, and place the local key (keyless)."""
    mine = set(local_keys)
    handle = next((h for h in map(ws.roster.handle_for_key, mine) if h), None)
    broken: list[str] = []
    not_shared: list[str] = []
    recused: list[str] = []
    for label, _path, excluded, text in _audited_files(ws):
        found = assess(ws.roster, label, excluded, sops.recipients_of(text))
        if not found.ok:
            broken.append(label)
        if "/" in label or mine & set(found.current):
            continue  # evidence follows its case; a case the key opens is fine
        (recused if handle in found.recused else not_shared).append(label)
    return LocalAccess(tuple(broken), tuple(not_shared), tuple(recused))
