"""The keyless history check: every commit of a range against the rules of domain/history.py.

Run by `check --since REF` (CI passes the pushed range) and by `sync` on the commits it is
about to accept. Each commit is compared with its parents: the case files and evidence it
changes, and cocflow.yaml. Messages name the commit, files, case ids and codes; never a value
of a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from cocflow.adapters import yamlio
from cocflow.adapters.git import GitRepo
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.adapters.store import CASES_DIR
from cocflow.domain.history import (
    CaseVersion,
    case_findings,
    evidence_findings,
    merged_parent,
    settings_findings,
)
from cocflow.domain.layout import tree_findings
from cocflow.domain.rules import Problem
from cocflow.errors import CocflowError, InvalidInput


def history_problems(repo: GitRepo, since: str, until: str = "HEAD") -> list[Problem]:
    """Every break of "history only grows" in the commits `since..until`, oldest first."""
    for ref in (since, until):
        if not repo.attempt("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").ok:
            raise InvalidInput(f"{ref!r} is not a commit in this repository")
    reader = _Reader(repo)
    # A file the range's tip allows is allowed all along: a branch begun before `allow` was
    # set is no finding once merged (any change to `allow` is a finding of its own).
    allowed_at_tip = reader.allow(until)
    problems: list[Problem] = []
    for commit, parents in repo.commits_between(since, until):
        problems += [Problem(p.file, p.case, p.code, f"commit {commit[:12]}: {p.message}")
                     for p in _commit_problems(reader, commit, parents, allowed_at_tip)]
    return problems


def staged_history_problems(repo: GitRepo, paths: set[str]) -> list[Problem]:
    """The history rules for the case files among `paths`, from HEAD to their staged
    version (the pre-commit check: only the cases the next commit changes)."""
    head = repo.head()
    cases = sorted(p for p in paths if _is_case(p))
    if head is None or not cases or (repo.git_dir() / "MERGE_HEAD").exists():
        return []  # a first commit has no history; a merge is checked as a commit (CI, sync)
    reader = _Reader(repo)
    before, staged = reader.entries(head, cases), repo.index_entries(*cases)
    earlier = repo.blobs_in_history([head], cases)
    response_days = reader.response_days_staged()
    problems = []
    for path in cases:
        old = _version(reader, head, path, before[path], earlier[path]) \
            if path in before else None
        new = None
        if path in staged:
            meta, mac = reader.parsed(staged[path])
            new = CaseVersion(path, staged[path], meta, response_days,
                              frozenset(earlier[path]), mac)
        problems += case_findings(old, new)
    return problems


class _Reader:
    """Reads versions of files at commits, each blob and each cocflow.yaml once."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self._configs: dict[str, Mapping[str, Any] | None] = {}

    def entries(self, commit: str, paths: list[str]) -> dict[str, str]:
        return self.repo.tree_entries(commit, *paths) if paths else {}

    def parsed(self, blob: str) -> tuple[Mapping[str, Any] | None, str | None]:
        """The plaintext meta of a case version, and its sops MAC (ciphertext)."""
        try:
            document = yamlio.load_untrusted(self.repo.blob(blob), "a case file")
        except Exception:  # an unreadable file is the business of the file check
            return None, None
        if not isinstance(document, Mapping):
            return None, None
        meta, block = document.get("meta"), document.get("sops")
        mac = block.get("mac") if isinstance(block, Mapping) else None
        return (meta if isinstance(meta, Mapping) else None,
                mac if isinstance(mac, str) else None)

    def allow(self, commit: str) -> list[str]:
        value = (self.config(commit) or {}).get("allow") or []
        return [p for p in value if isinstance(p, str)] if isinstance(value, list) else []

    def config(self, commit: str) -> Mapping[str, Any] | None:
        if commit not in self._configs:
            blob = self.repo.tree_entries(commit, CONFIG_FILE).get(CONFIG_FILE)
            document = None
            if blob is not None:
                try:
                    document = yamlio.load_untrusted(self.repo.blob(blob), CONFIG_FILE)
                except CocflowError:
                    document = None
            self._configs[commit] = document if isinstance(document, Mapping) else None
        return self._configs[commit]

    def response_days_staged(self) -> int | None:
        blob = self.repo.index_entries(CONFIG_FILE).get(CONFIG_FILE)
        try:
            document = yamlio.load_untrusted(self.repo.blob(blob), CONFIG_FILE) if blob else None
        except CocflowError:
            document = None
        value = document.get("response_days", 14) if isinstance(document, Mapping) else None
        return value if type(value) is int else None

    def response_days(self, commit: str) -> int | None:
        value = (self.config(commit) or {}).get("response_days", 14)
        return value if type(value) is int else None


def _commit_problems(reader: _Reader, commit: str, parents: list[str],
                     allowed_at_tip: list[str]) -> list[Problem]:
    bases: list[str | None] = list(parents) or [None]
    everything = set().union(*(reader.repo.changed_paths(p, commit) for p in bases))
    changed = {p for p in everything if p == CONFIG_FILE or p.startswith(f"{CASES_DIR}/")}
    paths = sorted(changed - {CONFIG_FILE})
    now = reader.entries(commit, paths)
    before = [reader.entries(p, paths) for p in parents]
    # Taken from one parent unchanged (a merge), a file is not this commit's write.
    written = {path for path in paths
               if not any(now.get(path) == entries.get(path) for entries in before)}
    cases = [p for p in written if _is_case(p)]
    earlier = reader.repo.blobs_in_history(parents, cases)
    problems: list[Problem] = []
    for path in cases:
        olds = [_version(reader, p, path, entries[path], earlier[path])
                for p, entries in zip(parents, before, strict=True) if path in entries]
        new = (_version(reader, commit, path, now[path], earlier[path])
               if path in now else None)
        problems += case_findings(merged_parent(olds) if olds else None, new)
    problems += evidence_findings(sorted(written - set(cases)), set(cases))
    outside = sorted(everything - changed)
    present = reader.entries(commit, outside)
    problems += tree_findings([p for p in outside if p in present],
                              [*reader.allow(commit), *allowed_at_tip])
    if CONFIG_FILE in changed:
        after = reader.config(commit)
        per_parent = [settings_findings(reader.config(p), after) for p in parents]
        if per_parent and all(per_parent):
            problems += per_parent[0]
    return problems


def _version(reader: _Reader, commit: str, path: str, blob: str,
             earlier: set[str]) -> CaseVersion:
    meta, mac = reader.parsed(blob)
    return CaseVersion(path, blob, meta, reader.response_days(commit), frozenset(earlier), mac)


def _is_case(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) == 2 and parts[0] == CASES_DIR and parts[1].endswith(".yaml") \
        and parts[1] != "README.md"
