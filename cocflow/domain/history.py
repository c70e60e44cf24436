"""History only grows: the keyless rules for one case between two of its versions.

The sops MAC proves one version of one file intact to whoever holds its data key; it cannot
tell an old version pushed again, a file moved, or a plaintext edit by a member who is
recused from the case. These rules can, without a key, from the plaintext `meta` that every
version carries. They are pure: `case_findings(old, new)` compares two versions of one case
(the one before a commit and the one the commit holds), so the CI range check, `sync` and the
staged check call it for the cases a change touches and nothing else.

`operations/history.py` walks the commits and reads the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any

from cocflow.domain import sealed
from cocflow.domain.case import CASE_ID
from cocflow.domain.rules import Problem
from cocflow.domain.timestamps import parse_timestamp
from cocflow.errors import InvalidInput

FIXED_FIELDS = ("id", "received_at", "respond_by")
WATCHED_SETTINGS = ("response_days", "warn_days", "allow")


@dataclass(frozen=True)
class CaseVersion:
    """One committed version of a case file, as a keyless reader sees it."""

    path: str
    blob: str
    meta: Mapping[str, Any] | None  # None: the file's meta cannot be read
    # response_days of cocflow.yaml in the commit that holds this version
    response_days: int | None = None
    # every blob this path held before (a rollback returns to one of them)
    earlier: frozenset[str] = field(default_factory=frozenset)
    mac: str | None = None  # sops.mac: every write makes a new one


    @property
    def case(self) -> str | None:
        name = PurePosixPath(self.path).name.removesuffix(".yaml")
        return name if CASE_ID.fullmatch(name) else None


def revision_of(meta: Mapping[str, Any]) -> int | None:
    """The write count of a version: its revision in format 2, 0 in format 1."""
    found = sealed.format_of(meta)
    if found == sealed.LEGACY_FORMAT:
        return 0
    revision = meta.get("revision")
    return revision if type(revision) is int else None


def case_findings(old: CaseVersion | None, new: CaseVersion | None) -> list[Problem]:
    """What breaks "history only grows" from `old` to `new` (None: the file is absent)."""
    if new is None:
        if old is None:
            return []
        return [_problem(old, "history-deleted", "the case file was deleted or renamed: a "
                         "case is never removed from the repository; restore it from history")]
    if old is not None and new.blob == old.blob:
        return []
    if not isinstance(new.meta, Mapping):
        return []  # the file check reports meta it cannot read
    found = []
    if new.blob in new.earlier:  # callers give both versions the case's earlier blobs
        found.append(_problem(new, "history-rollback", "the case file is a version it held "
                              "before: an older version was pushed again"))
    if old is None:
        return found + _deadline_findings(new)
    if not isinstance(old.meta, Mapping):
        return found
    if new.mac is not None and new.mac == old.mac:
        found.append(_problem(new, "history-meta-edited", "the file changed but kept its sops "
                              "MAC: its plaintext was edited without the key"))
    return found + _change_findings(old, new, old.meta, new.meta)


def _change_findings(old: CaseVersion, new: CaseVersion, before: Mapping[str, Any],
                     after: Mapping[str, Any]) -> list[Problem]:
    found = []
    changed = [name for name in FIXED_FIELDS if before.get(name) != after.get(name)]
    if changed:
        found.append(_problem(new, "history-fixed-field",
                              f"meta.{', meta.'.join(changed)} changed: they never change "
                              "once a case is opened"))
    was, now = revision_of(before), revision_of(after)
    if was is not None and now != was + 1:
        shown = "none" if now is None else str(now)
        found.append(_problem(new, "history-revision",
                              f"meta.revision went from {was} to {shown}: every write adds "
                              "exactly one; an older version was pushed again, or meta was "
                              "edited without the key"))
    dropped = sorted(_strings(before.get("recused")) - _strings(after.get("recused")))
    if dropped:
        found.append(_problem(new, "history-recusal-dropped",
                              f"recused handle(s) {', '.join(dropped)} left meta.recused: a "
                              "recusal is never undone"))
    keys = _strings(before.get("recused_keys")) - _strings(after.get("recused_keys"))
    if keys:
        found.append(_problem(new, "history-recusal-dropped",
                              f"{len(keys)} recused key fingerprint(s) left meta.recused_keys"))
    return found


def _deadline_findings(new: CaseVersion) -> list[Problem]:
    """A new case promises received_at + response_days, as configured when it was received."""
    meta = new.meta or {}
    if new.response_days is None:
        return []
    try:
        received = parse_timestamp(str(meta.get("received_at")))
        promised = parse_timestamp(str(meta.get("respond_by")))
    except (InvalidInput, TypeError, ValueError):
        return []  # the file check reports dates it cannot read
    if promised != received + timedelta(days=new.response_days):
        return [_problem(new, "history-deadline",
                         f"respond_by is not received_at + response_days "
                         f"({new.response_days}) of cocflow.yaml in the same commit")]
    return []


def merged_parent(versions: Sequence[CaseVersion]) -> CaseVersion:
    """What a merge commit's case is compared with: the parents' versions as one.

    The merge driver writes the higher revision plus one, and keeps every recusal of both
    sides; fixed fields are the same on both sides of a legitimate history.
    """
    first = versions[0]
    metas = [v.meta for v in versions if isinstance(v.meta, Mapping)]
    if len(metas) < 2:
        return first
    meta = dict(metas[0])
    revisions = [r for m in metas if (r := revision_of(m)) is not None]
    if revisions:
        meta["revision"] = max(revisions)
        meta.setdefault("format", sealed.FORMAT)
    for key in ("recused", "recused_keys"):
        meta[key] = sorted(set().union(*(_strings(m.get(key)) for m in metas)))
    earlier = frozenset().union(*(v.earlier for v in versions))
    return CaseVersion(first.path, first.blob, meta, first.response_days, earlier, first.mac)


def evidence_findings(commit_paths: Iterable[str], changed_cases: set[str]) -> list[Problem]:
    """Evidence changes only in the commit that writes its case (which lists it, encrypted)."""
    found = []
    for path in commit_paths:
        parts = PurePosixPath(path).parts
        if len(parts) == 3 and parts[0] == "cases" and CASE_ID.fullmatch(parts[1]) and \
                f"cases/{parts[1]}.yaml" not in changed_cases:
            found.append(Problem(path, parts[1], "history-evidence",
                                 "an evidence file changed in a commit that did not write its "
                                 "case: it may have been copied from another case"))
    return found


def settings_findings(before: Mapping[str, Any] | None,
                      after: Mapping[str, Any] | None) -> list[Problem]:
    """Settings whose change a reviewer must see: response_days, warn_days, allow."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    return [Problem("cocflow.yaml", None, "setting-changed",
                    f"{name} changed from {_shown(before.get(name))} to "
                    f"{_shown(after.get(name))}")
            for name in WATCHED_SETTINGS if before.get(name) != after.get(name)]


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return str(value) if isinstance(value, int) else "unset" if value is None else "a value"


def _strings(value: Any) -> set[str]:
    return {item for item in value if isinstance(item, str)} if isinstance(value, list) else set()


def _problem(version: CaseVersion, code: str, message: str) -> Problem:
    return Problem(version.path, version.case, code, message)
