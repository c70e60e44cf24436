"""The check before a commit reads what the commit changes, not every case in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocflow.adapters.git import GitRepo
from cocflow.operations.check_changes import check_staged
from tests.conftest import git


class CountingRepo(GitRepo):
    """The real git adapter, counting the blobs the check reads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.read: list[str] = []

    def blob(self, blob_id: str) -> bytes:
        self.read.append(blob_id)
        return super().blob(blob_id)


@pytest.fixture
def five_cases(repo: Path, open_case) -> list[str]:
    return [open_case() for _ in range(5)]


def stage_a_note(repo: Path, run, keys, case_id: str) -> None:
    """A real write of one case, staged but not committed (as one_commit stages it)."""
    before = git(repo, "rev-parse", "HEAD").strip()
    assert run("-C", str(repo), "note", case_id, "-m", "checked",
               as_member=keys["alice"]).exit_code == 0
    git(repo, "reset", "--soft", before)  # the new version staged, HEAD as before


def test_a_changed_case_reads_itself_its_old_version_and_the_roster(repo, five_cases, run,
                                                                    keys):
    stage_a_note(repo, run, keys, five_cases[2])
    counting = CountingRepo(repo)
    report = check_staged(counting)
    assert report.ok and report.cases == 5 and report.files_in_scope == 1
    # team.yaml, cocflow.yaml, the staged case and its committed version: not the other four
    # (the history rules read some of them again: the number of distinct blobs is what counts)
    wanted = {git(repo, "rev-parse", f"{side}{path}").strip()
              for side in ("HEAD:", ":") for path in
              ("team.yaml", "cocflow.yaml", f"cases/{five_cases[2]}.yaml")}
    assert set(counting.read) <= wanted and len(set(counting.read)) == 4


def test_a_roster_change_reads_every_case_from_disk_unless_it_differs_from_the_index(
        repo, five_cases, run, keys):
    team = repo / "team.yaml"
    team.write_text(team.read_text() + "# a comment\n")
    git(repo, "add", "team.yaml")
    counting = CountingRepo(repo)
    report = check_staged(counting)
    assert report.ok and report.files_in_scope == 1
    assert len(counting.read) == 2  # team.yaml and cocflow.yaml; the cases from disk
    edited = repo / "cases" / f"{five_cases[1]}.yaml"
    edited.write_text("not what the index holds\n")  # unstaged: the index version counts
    counting = CountingRepo(repo)
    assert check_staged(counting).ok
    assert len(counting.read) == 3


def test_a_roster_change_still_finds_a_recused_key_given_to_someone_else(repo, open_case,
                                                                       keys):
    open_case("--recuse", "bob")
    team = repo / "team.yaml"
    text = team.read_text()
    team.write_text(text.replace(keys["carol"].public, keys["bob"].public, 1))
    git(repo, "add", "team.yaml")
    codes = {problem.code for problem in check_staged(GitRepo(repo)).problems}
    assert "recused-key-returned" in codes or "roster-key-shared" in codes


def test_a_case_claiming_another_cases_id_is_still_a_duplicate(repo, five_cases):
    first, second = five_cases[0], five_cases[1]
    source = repo / "cases" / f"{first}.yaml"
    (repo / "cases" / f"{second}.yaml").write_text(source.read_text())
    git(repo, "add", "cases")
    codes = {(p.file, p.code) for p in check_staged(GitRepo(repo)).problems}
    assert (f"cases/{second}.yaml", "id-mismatch") in codes
    assert (f"cases/{second}.yaml", "duplicate-id") in codes


def test_changed_evidence_is_checked_against_its_case(repo, open_case, run, keys, tmp_path):
    attachment = tmp_path / "photo.jpg"
    attachment.write_bytes(b"evidence bytes")
    case_id = open_case()
    assert run("-C", str(repo), "attach", case_id, str(attachment),
               as_member=keys["alice"]).exit_code == 0
    evidence = next((repo / "cases" / case_id).iterdir())
    evidence.write_text(evidence.read_text() + "\n")  # the same document, a changed file
    git(repo, "rm", "--quiet", "--cached", f"cases/{case_id}.yaml")
    git(repo, "add", str(evidence))
    report = check_staged(GitRepo(repo))
    assert {p.code for p in report.problems} >= {"evidence-orphan"}


def test_the_history_rules_see_a_staged_case_against_its_committed_version(repo, five_cases,
                                                                          run, keys):
    case_id = five_cases[3]
    path = repo / "cases" / f"{case_id}.yaml"
    committed = path.read_bytes()
    assert run("-C", str(repo), "note", case_id, "-m", "checked",
               as_member=keys["alice"]).exit_code == 0
    path.write_bytes(committed)  # the version before the note: a rollback
    git(repo, "add", str(path))
    codes = {p.code for p in check_staged(GitRepo(repo)).problems}
    assert {"history-rollback", "history-revision"} & codes


def test_a_new_case_has_no_history_finding(repo, five_cases, run, keys):
    stage_a_note(repo, run, keys, five_cases[0])
    assert check_staged(GitRepo(repo)).ok


def test_a_staged_file_outside_the_allow_list_is_a_finding(repo, five_cases):
    (repo / "report.yaml").write_text("report: {title: kept out}\n")
    git(repo, "add", "--force", "report.yaml")
    problems = check_staged(GitRepo(repo)).problems
    assert [(p.file, p.code) for p in problems] == [("report.yaml", "file-not-allowed")]
