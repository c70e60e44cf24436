"""`rekey` after the yearly change of team: dave joins (and is given the open cases with
`share`), carol leaves (and `rekey` takes her off every case). rekey only ever removes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cocflow.adapters.sops import sops_binary
from tests.conftest import SENTINEL, assert_no_leak, git, snapshot
from tests.keyaccess import case_file, data_key, raw_sops_decrypt, recipients, rekey


@pytest.fixture
def cases(repo: Path, run, keys, open_case) -> dict[str, str]:
    """Three cases opened by alice; dave joins and is given the open cases; carol leaves (not
    yet re-keyed)."""
    made = {"plain": open_case(), "bob_recused": open_case("--recuse", "bob")}
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    made["dave_recused"] = open_case("--recuse", "dave")
    shared = run("-C", str(repo), "share", "--open", "dave", "--yes", as_member=keys["alice"])
    assert shared.exit_code == 0, shared.stderr
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0
    return made


@pytest.fixture
def rekeyed(repo: Path, run, keys, cases) -> dict[str, str]:
    result, _ = rekey(run, repo, keys["alice"])
    assert result.exit_code == 0, result.stderr
    return cases


def commit_file(repo: Path, path: Path, text: str, message: str = "by hand") -> None:
    path.write_text(text)
    git(repo, "commit", "--no-verify", "-qam", message)  # the pre-commit hook would refuse it


def test_departed_key_opens_no_current_case_through_cocflow(repo, run, keys, rekeyed):
    for case_id in rekeyed.values():
        assert run("-C", str(repo), "show", case_id, as_member=keys["carol"]).exit_code == 3


def test_departed_key_opens_no_current_case_with_sops_itself(repo, keys, rekeyed):
    for case_id in rekeyed.values():
        done = raw_sops_decrypt(case_file(repo, case_id), keys["carol"])
        assert done.returncode == 128 and SENTINEL not in done.stdout


def test_new_member_reads_every_case_they_are_not_recused_from(repo, run, keys, rekeyed):
    for name, case_id in rekeyed.items():
        expected = 3 if name == "dave_recused" else 0
        assert run("-C", str(repo), "show", case_id, as_member=keys["dave"]).exit_code == expected


def test_recused_member_is_never_readded_by_rekey(repo, keys, rekeyed):
    assert keys["bob"].public not in recipients(repo, rekeyed["bob_recused"])
    assert keys["dave"].public not in recipients(repo, rekeyed["dave_recused"])


def test_rekeyed_cases_list_each_recipient_once(repo, rekeyed):
    for case_id in rekeyed.values():
        listed = recipients(repo, case_id)
        assert len(listed) == len(set(listed))


def test_data_key_changes_when_a_member_leaves(repo, run, keys, cases):
    before = {c: data_key(case_file(repo, c).read_text(), keys["alice"]) for c in cases.values()}
    assert rekey(run, repo, keys["alice"])[0].exit_code == 0
    for case_id, old in before.items():
        assert data_key(case_file(repo, case_id).read_text(), keys["alice"]) != old


def test_rekey_makes_one_commit_whose_message_holds_only_ids(repo, run, keys, cases):
    head = git(repo, "rev-parse", "HEAD").strip()
    result, done = rekey(run, repo, keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    message = git(repo, "log", "-1", "--format=%B").split()
    assert set(message) - set(cases.values()) <= {"rekey", "3", "case(s)", "to", "team.yaml"}
    assert sorted(done["rekeyed"]) == sorted(cases.values())


def test_second_rekey_changes_nothing_and_commits_nothing(repo, run, keys, rekeyed):
    before = snapshot(repo)
    result, done = rekey(run, repo, keys["bob"])
    assert result.exit_code == 0, result.stderr
    assert done == {"rekeyed": [], "unchanged": sorted(rekeyed.values()),
                    "need_other_member": [], "warnings": [], "dry_run": False}
    assert snapshot(repo) == before


def test_case_the_acting_member_is_recused_from_is_left_for_another_member(
        repo, run, keys, open_case):
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    theirs = open_case("--recuse", "alice", as_member=keys["bob"])
    mine = open_case()
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0
    result, done = rekey(run, repo, keys["alice"])
    assert result.exit_code == 1
    assert (done["rekeyed"], done["need_other_member"]) == ([mine], [theirs])
    assert "another member" in result.stderr and "cocflow rekey" in result.stderr
    assert keys["carol"].public not in recipients(repo, mine)
    assert git(repo, "status", "--porcelain") == ""
    result, done = rekey(run, repo, keys["bob"])
    assert result.exit_code == 0 and done["rekeyed"] == [theirs]
    assert run("-C", str(repo), "show", theirs, as_member=keys["carol"]).exit_code == 3


def test_a_member_who_cannot_read_a_case_is_told_another_member_must_rekey(repo, run, keys,
                                                                          cases):
    result, done = rekey(run, repo, keys["dave"])
    assert result.exit_code == 1
    assert done["need_other_member"] == [cases["dave_recused"]]
    assert sorted(done["rekeyed"]) == sorted([cases["plain"], cases["bob_recused"]])


def write_failing_sops(tmp_path: Path) -> Path:
    """A sops that lets exactly one `encrypt` (rekey seals each case anew) through and fails
    every later one."""
    wrapper = tmp_path / "flaky-sops"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = encrypt ] && ! mkdir "$0.first" 2>/dev/null; then exit 1; fi\n'
        f'exec "{sops_binary()}" "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper


def test_a_sops_failure_midway_leaves_head_and_tree_unchanged(repo, run, keys, cases, tmp_path):
    before = snapshot(repo)
    sops = write_failing_sops(tmp_path)
    result, _ = rekey(run, repo, keys["alice"], env={"COCFLOW_SOPS": str(sops)})
    assert result.exit_code == 4  # sops broken: the environment
    assert "no case file was changed" in result.stderr
    assert snapshot(repo) == before


def test_a_refused_commit_restores_every_case_file(repo, run, keys, cases):
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(repo)
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 4
    assert snapshot(repo) == before


def test_a_tampered_case_stops_rekey_and_changes_nothing(repo, run, keys, cases):
    path = case_file(repo, cases["plain"])
    commit_file(repo, path, path.read_text().replace("status: received", "status: closed"))
    before = snapshot(repo)
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 1
    assert "integrity" in result.stderr and cases["plain"] in result.stderr
    assert snapshot(repo) == before


def test_a_case_whose_meta_cannot_be_read_stops_rekey_before_any_sops_call(repo, run, keys,
                                                                           cases):
    path = case_file(repo, cases["bob_recused"])
    commit_file(repo, path, "meta: [not, a, mapping\n" + path.read_text())
    before = snapshot(repo)
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 1 and cases["bob_recused"] in result.stderr
    assert snapshot(repo) == before


def test_rekey_below_min_recipients_is_refused_naming_the_case(repo, run, keys, cases):
    team = repo / "team.yaml"
    commit_file(repo, team, team.read_text().replace("min_recipients: 2", "min_recipients: 3"))
    before = snapshot(repo)
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 2
    assert cases["bob_recused"] in result.stderr and "min_recipients" in result.stderr
    assert snapshot(repo) == before


def test_rekey_refuses_an_uncommitted_team_yaml(repo, run, keys, cases):
    team = repo / "team.yaml"
    team.write_text(team.read_text() + "# edited by hand\n")
    before = snapshot(repo)
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 4 and "team.yaml" in result.stderr
    assert snapshot(repo) == before


def test_dry_run_reports_the_plan_and_changes_nothing(repo, run, keys, cases):
    before = snapshot(repo)
    result, done = rekey(run, repo, keys["alice"], "--dry-run")
    assert result.exit_code == 0
    assert done["dry_run"] and sorted(done["rekeyed"]) == sorted(cases.values())
    assert snapshot(repo) == before


def test_dry_run_names_who_is_removed_and_never_adds_anyone(repo, run, keys, cases):
    result = run("-C", str(repo), "rekey", "--dry-run", as_member=keys["alice"])
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("2026-")]
    assert [row[2:4] for row in rows] == [["-", "carol"], ["-", "carol"], ["-", "carol"]]


def test_rekey_warns_when_one_member_is_the_only_reader(repo, run, keys, open_case):
    team = repo / "team.yaml"
    commit_file(repo, team, team.read_text().replace("min_recipients: 2", "min_recipients: 1"))
    assert run("-C", str(repo), "team", "accept", "--yes").exit_code == 0  # a weaker setting
    case_id = open_case("--recuse", "bob", "--recuse", "carol")
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert result.exit_code == 0
    assert f"Warning: alice is the only member who can read case {case_id}" in result.stderr


def test_rekey_in_one_job_gives_the_same_recipients(repo, run, keys, cases):
    result, done = rekey(run, repo, keys["alice"], "--jobs", "1")
    assert result.exit_code == 0 and len(done["rekeyed"]) == 3
    assert set(recipients(repo, cases["plain"])) == {keys["alice"].public, keys["bob"].public,
                                                     keys["dave"].public}


def test_rekey_draws_no_progress_bar_off_a_terminal(repo, run, keys, cases):
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert "re-keying" not in result.stderr and result.stderr == ""


def test_rekey_says_removed_keys_still_open_history(repo, run, keys, cases):
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    assert "Earlier commits stay readable" in result.stdout


def test_rekey_never_leaks_case_content(repo, run, keys, cases):
    result = run("-C", str(repo), "rekey", as_member=keys["alice"])
    dry = run("-C", str(repo), "rekey", "--dry-run", as_member=keys["alice"])
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr, dry.stdout, dry.stderr)
    assert not any(".tmp" in p.name for p in (repo / "cases").iterdir())


def test_rekey_of_an_empty_repository_commits_nothing(repo, run, keys, unchanged):
    result, done = rekey(run, repo, keys["alice"])
    assert result.exit_code == 0 and done["rekeyed"] == done["unchanged"] == []



def test_an_error_after_rekeys_commit_says_the_change_was_committed(repo, run, keys, cases,
                                                                    monkeypatch):
    import cocflow.cli.access

    def broken(_value):
        raise KeyError("x")

    monkeypatch.setattr(cocflow.cli.access, "emit_json", broken)
    head = git(repo, "rev-parse", "HEAD").strip()
    result = run("-C", str(repo), "rekey", "--json", as_member=keys["alice"])
    assert git(repo, "rev-parse", "HEAD~1").strip() == head  # the rekey is in
    assert result.exit_code == 1
    assert "nothing was changed" not in result.stderr
    assert "the change was committed (`rekey" in result.stderr
