"""The check before a commit: what the commit changes, and what that depends on.

A write costs what the change costs, not what the repository holds. The check reads each
changed file (as staged, or as a rewritten commit holds it), `team.yaml` and `cocflow.yaml`,
and the few case files a changed file points at (the case of changed evidence, the file of
the id a changed case claims). Only a changed `team.yaml` makes it read every case's meta,
one at a time, for the roster rules (`recusal_findings`). Each changed case also goes to the
history rules with its committed version (`operations/history.staged_history_problems`),
and every path the commit adds or changes to the allow-list of a case repository.

Findings that need every file stay in the full `check` (CI): a case id held by two files
neither of which the commit changes, or by an unchanged file misnamed after a changed one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from cocflow.adapters.config import TEAM_FILE
from cocflow.adapters.git import GitRepo
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.adapters.store import CASES_DIR, case_file
from cocflow.domain.access import Roster
from cocflow.domain.layout import tree_findings
from cocflow.domain.rules import CaseInfo, CheckReport, duplicates, recusal_findings
from cocflow.errors import InvalidInput, ProblemsFound
from cocflow.operations.check import (
    WorkingTree,
    check_case,
    check_config,
    check_other,
    is_case_file,
    light_info,
    load_team,
    run_checks,
)

CHECKED = (f"{CASES_DIR}/", TEAM_FILE, CONFIG_FILE)


class ChangedFiles:
    """Files as the next commit (or a rewritten one) holds them, and what it changes."""

    def __init__(self, repo: GitRepo, entries: dict[str, str],
                 changes: dict[str, tuple[str | None, str | None]]) -> None:
        self.repo = repo
        self.entries = entries  # path -> blob of every checked file the commit holds
        # every path the commit adds or changes, checked or not
        self.written = sorted(path for path, (_old, new) in changes.items() if new is not None)
        # path -> (old blob, new blob) of each checked file the commit changes
        self.changes = {path: blobs for path, blobs in changes.items() if _checked(path)}

    def paths(self) -> list[str]:
        return sorted(self.entries)

    def read(self, path: str) -> bytes:
        return self.repo.blob(self.entries[path])

    def every_case(self) -> Iterator[tuple[str, bytes]]:
        """(path, content) of each case file the commit holds, one at a time."""
        for path in self.paths():
            if is_case_file(path):
                yield path, self.read(path)


class StagedFiles(ChangedFiles):
    """The index: a file git knows to be unchanged in the working tree is read from disk,
    which spares git unpacking thousands of blobs when the roster changes."""

    def every_case(self) -> Iterator[tuple[str, bytes]]:
        modified = self.repo.unstaged_paths(f"{CASES_DIR}/")
        for path in self.paths():
            if not is_case_file(path):
                continue
            if path in modified:
                yield path, self.read(path)
                continue
            try:
                yield path, (self.repo.root / path).read_bytes()
            except OSError:
                yield path, self.read(path)


def check_staged(repo: GitRepo) -> CheckReport:
    """The pre-commit check: the changes staged in the index, as staged."""
    from cocflow.operations.history import staged_history_problems

    files = StagedFiles(repo, repo.index_entries(*CHECKED), repo.changed_blobs())
    report = check_changes(files)
    found = staged_history_problems(repo, set(files.changes))
    return CheckReport(report.cases, (*report.problems, *found), True, report.files_in_scope,
                       report.triage)


def check_commit(repo: GitRepo, commit: str, paths: set[str],
                 base: str | None = None) -> CheckReport:
    """The same check for `paths` of a commit made with plumbing (against `base` if given)."""
    changes = repo.changed_blobs(base, commit) if base else {}
    entries = repo.tree_entries(commit, *CHECKED)
    return check_changes(ChangedFiles(repo, entries, {
        path: changes.get(path, (None, entries.get(path))) for path in paths}))


def require_clean_commit(repo: GitRepo, commit: str, paths: set[str],
                         base: str | None = None) -> None:
    """The pre-commit check, for a commit made with plumbing: `paths` of `commit` must pass
    (against `base`, the commit it replaces, when given: the history rules see both)."""
    report = check_commit(repo, commit, paths, base)
    if not report.ok:
        first = report.problems[0]
        raise ProblemsFound(f"refusing the rewritten commit: {first.file} {first.code}: "
                            f"{first.message} ({len(report.problems)} problem(s))")


def check_repository(root: Path, staged: bool = False, since: str | None = None,
                     until: str = "HEAD") -> CheckReport:
    """Check the working tree, or (staged) the files the next commit changes, as staged.

    With `since` (the commit a push or pull request starts from, in CI), every commit of
    since..until is checked against the history rules, and team.yaml as it was at `since` is
    compared too: a change to a recused member's keys is a finding.
    """
    if since is not None:
        from cocflow.operations.history import history_problems

        repo = GitRepo(root)
        base = _roster_at(repo, since)
        report = run_checks(WorkingTree(root), base=base)
        # Only git's all-zero "no commit" (a new branch) has no history to walk: a team.yaml
        # that was broken at `since` must not switch the history rules off.
        found = history_problems(repo, since, until) if set(since) != {"0"} else []
        return CheckReport(report.cases, (*report.problems, *found), False,
                           report.files_in_scope, report.triage)
    if not staged:
        return run_checks(WorkingTree(root))
    return check_staged(GitRepo(root))


def _roster_at(repo: GitRepo, revision: str) -> Roster | None:
    """team.yaml at `revision`; None for git's all-zero "no commit" (a new branch)."""
    if set(revision) == {"0"}:
        return None
    found = repo.attempt("rev-parse", "--verify", "--quiet", "--end-of-options",
                         f"{revision}^{{commit}}")
    if not found.ok:
        raise InvalidInput(f"--since {revision!r} is not a commit in this clone: fetch the "
                           "history it names (actions/checkout: fetch-depth: 0)")
    entries = repo.tree_entries(found.out, TEAM_FILE)
    tree = ChangedFiles(repo, entries, {})
    roster, _problems = load_team(tree, tree.paths())
    return roster


def check_changes(files: ChangedFiles) -> CheckReport:
    """Every problem of the changed files, and of team.yaml when the roster changed."""
    paths = files.paths()
    scope = set(files.changes)
    roster, problems = load_team(files, paths)
    config_problems, allow = check_config(files, paths)
    problems += config_problems
    problems += tree_findings(files.written, allow)
    changed: dict[str, CaseInfo] = {}
    for path in sorted(scope & set(files.entries)):
        if is_case_file(path):
            data = files.read(path)
            changed[path], found = check_case(path, data, roster)
            problems += found
    infos = {**_neighbours(files, changed), **changed}
    problems += duplicates(infos)
    if TEAM_FILE in scope and roster is not None:
        for path, data in files.every_case():  # one at a time: only its meta is kept
            problems += recusal_findings(changed.get(path) or light_info(path, data), roster)
    by_id = {info.meta_id: info for info in infos.values() if info.meta_id}
    for path in sorted(scope & set(files.entries)):
        if path.startswith(f"{CASES_DIR}/") and not is_case_file(path):
            problems += check_other(path, files, by_id, roster)
    kept = tuple(problem for problem in problems
                 if problem.file in scope or problem.file in files.written)
    cases = sum(1 for path in paths if is_case_file(path))
    return CheckReport(cases, kept, True, len(scope & set(files.entries)))


def _neighbours(files: ChangedFiles, changed: dict[str, CaseInfo]) -> dict[str, CaseInfo]:
    """Id and recusals of the unchanged case files a changed file points at: the case of
    changed evidence, and the file named after the id a changed case holds."""
    wanted = {case_file(info.meta_id) for info in changed.values() if info.meta_id}
    for path in files.changes:
        parts = PurePosixPath(path).parts
        if len(parts) >= 3 and parts[0] == CASES_DIR:
            wanted.add(f"{CASES_DIR}/{parts[1]}.yaml")
    return {path: light_info(path, files.read(path))
            for path in sorted(wanted - set(changed)) if path in files.entries}


def _checked(path: str) -> bool:
    return path.startswith(f"{CASES_DIR}/") or path in (TEAM_FILE, CONFIG_FILE)
