"""`audit` (who can read what, now and in history) and the doctor's case-access check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from cocflow.adapters.sops import sops_binary
from tests.conftest import SENTINEL, git
from tests.keyaccess import case_file, rekey


def audit(run, repo: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run("-C", str(repo), "audit", "--json", *args)
    return result, json.loads(result.stdout)


def team_change(run, repo: Path, keys) -> None:  # type: ignore[no-untyped-def]
    """dave joins, carol leaves."""
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0


def test_audit_of_a_repository_that_matches_the_policy_exits_0(repo, run, open_case):
    case_id = open_case("--recuse", "carol")
    result, report = audit(run, repo)
    assert result.exit_code == 0 and report["ok"]
    assert report["cases"] == [{"id": case_id, "readers": ["alice", "bob"], "recused": ["carol"],
                                "departed": [], "recused_recipients": [], "missing": [],
                                "missing_escrow": [], "problems": [], "codes": []}]


def test_audit_needs_no_key(repo, run, open_case):
    open_case()
    result = run("-C", str(repo), "audit")  # no SOPS_AGE_KEY_FILE at all
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == ["CASE", "READERS"]


def test_audit_before_rekey_names_the_departed_and_the_missing_member(repo, run, keys,
                                                                      open_case):
    case_id = open_case()
    team_change(run, repo, keys)
    result, report = audit(run, repo)
    assert result.exit_code == 1 and case_id in result.stderr and "rekey" in result.stderr
    entry = report["cases"][0]
    assert entry["departed"] == [{"key": keys["carol"].public, "handle": "carol"}]
    assert entry["missing"] == ["dave"] and entry["readers"] == ["alice", "bob"]


def test_audit_flags_a_recused_member_who_is_still_a_recipient(repo, run, keys, open_case):
    case_id = open_case("--recuse", "bob")
    path = case_file(repo, case_id)
    done = subprocess.run(  # someone re-adds bob with sops by hand
        [sops_binary(), "rotate", "--add-age", keys["bob"].public, "--in-place", str(path)],
        env={"SOPS_AGE_KEY_FILE": str(keys["alice"].file), "PATH": "/usr/bin:/bin"},
        capture_output=True, check=False)
    assert done.returncode == 0
    git(repo, "commit", "--no-verify", "-qam", "by hand")  # past the pre-commit hook
    result, report = audit(run, repo)
    assert result.exit_code == 1
    assert report["cases"][0]["recused_recipients"] == ["bob"]


def test_audit_history_names_the_departed_member(repo, run, keys, open_case):
    case_id = open_case()
    team_change(run, repo, keys)
    assert rekey(run, repo, keys["alice"])[0].exit_code == 0
    result, report = audit(run, repo, "--history")
    assert result.exit_code == 0, "history alone does not break the current policy"
    [past] = report["history"]
    assert (past["case"], past["handle"], past["why"]) == (case_id, "carol", "departed")
    opened = git(repo, "log", "--format=%H", "--", f"cases/{case_id}.yaml").split()[-1]
    assert past["commits"] == [opened[:12]]


def test_audit_history_table_names_the_departed_member(repo, run, keys, open_case):
    open_case()
    team_change(run, repo, keys)
    rekey(run, repo, keys["alice"])
    result = run("-C", str(repo), "audit", "--history")
    history = result.stdout.split("History:")[1]
    assert "carol" in history and "departed" in history


def test_audit_history_names_a_recused_member_for_versions_before_the_recusal(repo, run, keys,
                                                                            open_case):
    case_id = open_case()
    run("-C", str(repo), "recuse", case_id, "bob", "--reason", "other", as_member=keys["alice"])
    _, report = audit(run, repo, "--history")
    [past] = report["history"]
    assert (past["handle"], past["why"], len(past["commits"])) == ("bob", "recused", 1)


def test_audit_history_of_a_clean_repository_is_empty(repo, run, open_case):
    open_case()
    result, report = audit(run, repo, "--history")
    assert result.exit_code == 0 and report["history"] == []


def test_audit_output_carries_no_case_content(repo, run, keys, open_case):
    open_case()
    team_change(run, repo, keys)
    for args in ([], ["--history"], ["--json", "--history"]):
        result = run("-C", str(repo), "audit", *args)
        assert SENTINEL not in result.stdout + result.stderr


def doctor_access(run, repo: Path, key):  # type: ignore[no-untyped-def]
    result = run("-C", str(repo), "doctor", "--json", as_member=key)
    return result, {f["check"]: f for f in json.loads(result.stdout)}["case access"]


def test_doctor_agrees_with_audit_that_a_new_member_waits_for_share(repo, run, keys, open_case):
    """A case not shared with a new member breaks no policy (only `share` adds a reader):
    doctor says so, names the case and `share`, and sends nobody to `rekey`, which would do
    nothing."""
    case_id = open_case()
    run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    assert audit(run, repo)[0].exit_code == 0
    result, finding = doctor_access(run, repo, keys["dave"])
    assert result.exit_code == 0, finding
    assert finding["ok"] and case_id in finding["detail"] and "share" in finding["detail"]
    assert "rekey" not in finding["detail"]


def test_doctor_fails_where_audit_fails_and_points_to_rekey(repo, run, keys, open_case):
    case_id = open_case()
    team = repo / "team.yaml"  # carol taken off by hand, no rekey yet: a departed recipient
    document = yaml.safe_load(team.read_text())
    document["members"] = [m for m in document["members"] if m["handle"] != "carol"]
    team.write_text(yaml.safe_dump(document))
    git(repo, "commit", "-qam", "carol leaves")
    assert audit(run, repo)[0].exit_code == 1
    result, finding = doctor_access(run, repo, keys["alice"])
    assert result.exit_code == 1
    assert not finding["ok"] and case_id in finding["detail"] and "rekey" in finding["detail"]


def test_doctor_accepts_cases_the_member_is_recused_from(repo, run, keys, open_case):
    open_case("--recuse", "bob")
    _result, finding = doctor_access(run, repo, keys["bob"])
    assert finding["ok"] and "recused from 1" in finding["detail"]


def test_an_escrow_key_added_after_a_case_is_one_answer_for_audit_check_and_rekey(
        repo, run, keys, open_case):
    """One recipient policy: audit, check and rekey --dry-run agree on a new escrow key.

    It is an addition, so none of them adds it: the case is not broken, the key is listed
    as not yet a reader, and only `share` could give it the case.
    """
    case_id = open_case()
    team = repo / "team.yaml"
    team.write_text(team.read_text().replace("escrow: []", f"escrow: [{keys['dave'].public}]"))
    git(repo, "commit", "-qam", "escrow key")
    assert run("-C", str(repo), "team", "accept", "--yes").exit_code == 0
    audited, report = audit(run, repo)
    assert audited.exit_code == 0, audited.stderr
    assert report["cases"][0]["missing_escrow"] == [keys["dave"].public]
    assert report["cases"][0]["codes"] == []
    assert run("-C", str(repo), "check").exit_code == 0
    planned = run("-C", str(repo), "rekey", "--dry-run", "--json", as_member=keys["alice"])
    assert json.loads(planned.stdout)["rekeyed"] == []
    assert json.loads(planned.stdout)["unchanged"] == [case_id]
