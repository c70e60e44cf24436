"""`recuse`: a member loses access to a case now, and is told what history still holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SENTINEL, assert_no_leak, git, snapshot
from tests.keyaccess import case_file, data_key, raw_sops_decrypt, recipients


def recuse(run, repo: Path, *args: str, key):  # type: ignore[no-untyped-def]
    return run("-C", str(repo), "recuse", *args, as_member=key)


@pytest.fixture
def case_id(open_case) -> str:
    return open_case()


def test_recused_member_cannot_open_the_case_through_cocflow(repo, run, keys, case_id):
    assert recuse(run, repo, case_id, "bob", "--reason", "conflict-of-interest",
                  key=keys["alice"]).exit_code == 0
    assert run("-C", str(repo), "show", case_id, as_member=keys["bob"]).exit_code == 3


def test_recused_member_cannot_open_the_case_with_sops_itself(repo, run, keys, case_id):
    recuse(run, repo, case_id, "bob", "--reason", "other", key=keys["alice"])
    assert keys["bob"].public not in recipients(repo, case_id)
    assert raw_sops_decrypt(case_file(repo, case_id), keys["bob"]).returncode == 128


def test_recuse_records_reason_note_and_event(repo, run, keys, case_id):
    recuse(run, repo, case_id, "bob", "--reason", "reporter-request", "-m", "asked by phone",
           key=keys["alice"])
    case = json.loads(run("-C", str(repo), "show", case_id, "--json",
                          as_member=keys["carol"]).stdout)
    assert case["meta"]["recused"] == ["bob"]
    assert {k: case["recusals"][-1][k] for k in ("handle", "reason", "note", "by")} == {
        "handle": "bob", "reason": "reporter-request", "note": "asked by phone", "by": "alice"}
    assert case["timeline"][-1] | {"at": None} == {"at": None, "by": "alice", "event": "recused",
                                                   "note": "bob"}


def test_recuse_gives_the_case_a_new_data_key(repo, run, keys, case_id):
    before = data_key(case_file(repo, case_id).read_text(), keys["alice"])
    recuse(run, repo, case_id, "bob", "--reason", "other", key=keys["alice"])
    assert data_key(case_file(repo, case_id).read_text(), keys["alice"]) != before


def test_recuse_says_earlier_commits_stay_readable(repo, run, keys, case_id):
    result = recuse(run, repo, case_id, "bob", "--reason", "other", key=keys["alice"])
    assert "Earlier commits stay readable with bob's key" in result.stdout
    assert "clone this repository" in result.stdout


def test_earlier_commit_is_indeed_still_readable_with_the_recused_key(repo, run, keys, case_id,
                                                                     tmp_path):
    recuse(run, repo, case_id, "bob", "--reason", "other", key=keys["alice"])
    old = tmp_path / "old.yaml"
    old.write_text(git(repo, "show", f"HEAD~1:cases/{case_id}.yaml"))
    assert raw_sops_decrypt(old, keys["bob"]).returncode == 0


def test_recuse_makes_one_commit_naming_only_the_case_and_the_handle(repo, run, keys, case_id):
    head = git(repo, "rev-parse", "HEAD").strip()
    recuse(run, repo, case_id, "bob", "--reason", "other", "-m", SENTINEL, key=keys["alice"])
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "log", "-1", "--format=%B").strip() == f"recuse bob in {case_id}"


def test_a_member_may_recuse_themselves(repo, run, keys, case_id):
    result = recuse(run, repo, case_id, "alice", "--reason", "conflict-of-interest", "--json",
                    key=keys["alice"])
    assert json.loads(result.stdout) == {"id": case_id, "recused": "alice",
                                         "readers": ["bob", "carol"]}
    assert run("-C", str(repo), "show", case_id, as_member=keys["alice"]).exit_code == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mallory", "--reason", "other"], "unknown handle"),
        (["carol", "--reason", "other"], "already recused"),
        (["bob", "--reason", "grudge"], "'grudge' is not one of"),
        (["bob", "--reason", "other"], "min_recipients"),
    ],
)
def test_bad_recusal_is_exit_2_and_changes_nothing(repo, run, keys, open_case, args, message):
    case_id = open_case("--recuse", "carol")
    before = snapshot(repo)
    result = recuse(run, repo, case_id, *args, key=keys["alice"])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert snapshot(repo) == before


def test_recuse_of_an_unknown_case_is_exit_2(repo, run, keys, unchanged):
    result = recuse(run, repo, "2026-0099", "bob", "--reason", "other", key=keys["alice"])
    assert result.exit_code == 2 and "no case 2026-0099" in result.stderr


def test_a_member_who_cannot_read_the_case_cannot_recuse_others(repo, run, keys, open_case):
    case_id = open_case("--recuse", "bob")
    run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    before = snapshot(repo)
    result = recuse(run, repo, case_id, "carol", "--reason", "other", key=keys["bob"])
    assert result.exit_code == 3
    assert snapshot(repo) == before


def test_recuse_never_leaks_case_content_or_the_note(repo, run, keys, case_id):
    result = recuse(run, repo, case_id, "bob", "--reason", "other", "-m", f"note {SENTINEL}",
                    key=keys["alice"])
    assert result.exit_code == 0
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr)
