"""`migrate`: format-1 cases built with sops as format 1 wrote them, converted by two members
in turn, each able to read only some; equal content afterwards, one commit per run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cocflow.adapters.sops import recipients_of
from tests.conftest import SENTINEL, assert_no_leak, git
from tests.legacy import format1_case, write_format1_case, write_format1_evidence

EVIDENCE = f"evidence bytes {SENTINEL}\x00\xff".encode("latin-1")
DECISION = {"outcomes": ["warning"], "rationale": f"because {SENTINEL}",
            "decided_at": "2026-03-10T10:00:00Z", "decided_by": "carol",
            "reporter_named": False, "contact_skipped_reason": "safety"}


@pytest.fixture
def legacy(repo: Path, keys) -> dict[str, str]:
    """Three format-1 cases: all can read the first (with evidence), bob is recused from the
    second, alice from the third (whose title format 1 stored as a number)."""
    def public(*handles: str) -> list[str]:
        return [keys[h].public for h in handles]

    import hashlib

    record = {"number": 1, "original_name": f"shot {SENTINEL}.png", "media_type": "image/png",
              "size": len(EVIDENCE), "sha256": hashlib.sha256(EVIDENCE).hexdigest(),
              "note": None, "added_at": "2026-03-02T10:00:00Z", "added_by": "carol"}
    everyone = format1_case("2026-0001", f"Shared {SENTINEL}", decision=DECISION,
                            evidence=(record,))
    write_format1_case(repo, everyone, public("alice", "bob", "carol"))
    write_format1_evidence(repo, "2026-0001", 1, EVIDENCE, public("alice", "bob", "carol"))
    write_format1_case(repo, format1_case("2026-0002", f"Not bob {SENTINEL}", recused=("bob",)),
                       public("alice", "carol"))
    write_format1_case(repo, format1_case("2026-0003", "1e3", recused=("alice",)),
                       public("bob", "carol"))
    git(repo, "add", "cases")
    git(repo, "commit", "--no-verify", "--quiet", "-m", "cases written by cocflow format 1")
    return {"all": "2026-0001", "not_bob": "2026-0002", "not_alice": "2026-0003"}


def show(run, repo: Path, case_id: str, key) -> dict:
    result = run("-C", str(repo), "show", case_id, "--json", as_member=key)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def migrate(run, repo: Path, key, *extra: str) -> tuple[int, dict]:
    result = run("-C", str(repo), "migrate", "--json", *extra, as_member=key)
    assert "Traceback" not in result.stderr
    return result.exit_code, json.loads(result.stdout)


def commits(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def stored_format(repo: Path, case_id: str) -> tuple[int, int]:
    meta = yaml.safe_load((repo / "cases" / f"{case_id}.yaml").read_text())["meta"]
    return meta.get("format", meta.get("schema")), meta.get("revision", 0)


def without_version(document: dict) -> dict:
    """The content, without what format 2 adds (version, triage flag, recused keys)."""
    added = ("format", "revision", "recused_keys", "triage")
    meta = {k: v for k, v in document["meta"].items() if k not in added}
    recusals = [{k: v for k, v in r.items() if k != "keys"} for r in document["recusals"]]
    return {**document, "meta": meta, "recusals": recusals}


def test_two_members_in_turn_migrate_every_case_with_equal_content(repo, run, keys, legacy,
                                                                   tmp_path):
    carol = keys["carol"]  # recused from nothing: reads every version
    before = {case_id: show(run, repo, case_id, carol) for case_id in legacy.values()}
    assert {d["meta"]["format"] for d in before.values()} == {1}
    assert before[legacy["all"]]["decisions"] == [DECISION]

    start = commits(repo)
    code, first = migrate(run, repo, keys["alice"])
    assert code == 1
    assert first["migrated"] == [legacy["all"], legacy["not_bob"]]
    assert first["need_other_member"] == [legacy["not_alice"]]
    assert commits(repo) == start + 1
    assert git(repo, "log", "-1", "--format=%B").split() == [
        "migrate", "2", "case(s)", "to", "format", "2", legacy["all"], legacy["not_bob"]]

    code, second = migrate(run, repo, keys["bob"])
    assert code == 0, second
    assert second["migrated"] == [legacy["not_alice"]]
    assert second["unchanged"] == [legacy["all"], legacy["not_bob"]]
    assert second["repaired"] == {legacy["not_alice"]: ["report.title"]}
    assert commits(repo) == start + 2

    for case_id in legacy.values():
        assert stored_format(repo, case_id) == (2, 1)
        after = show(run, repo, case_id, carol)
        assert after["meta"]["format"] == 2 and after["meta"]["revision"] == 1
        # Migration records who reads the case (inside the encryption): its recipients.
        assert sorted(after.pop("readers")) == sorted(recipients_of(
            (repo / "cases" / f"{case_id}.yaml").read_text()))
        assert without_version(after) == without_version(before[case_id])
    assert before[legacy["not_alice"]]["report"]["title"] == "1000"  # as sops kept it

    out = tmp_path / "evidence.bin"
    result = run("-C", str(repo), "evidence", legacy["all"], "1", "--out", str(out),
                 as_member=keys["bob"])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == EVIDENCE
    assert run("-C", str(repo), "check").exit_code == 0
    # Migrating is a write of each case: history only grew (format 1 counts as revision 0).
    checked = run("-C", str(repo), "check", "--since", f"HEAD~{commits(repo) - start}")
    assert checked.exit_code == 0, checked.stdout
    assert_no_leak(repo, SENTINEL)


def test_check_and_doctor_point_to_migrate_until_it_is_done(repo, run, keys, legacy):
    result = run("-C", str(repo), "check", "--json")
    assert result.exit_code == 1
    found = {(p["file"], p["code"]) for p in json.loads(result.stdout)["problems"]}
    assert found == {*((f"cases/{c}.yaml", "format-1") for c in legacy.values()),
                     (f"cases/{legacy['all']}/evidence-001.sops.json", "format-1")}
    doctor = run("-C", str(repo), "doctor", "--json", as_member=keys["carol"])
    [line] = [f for f in json.loads(doctor.stdout) if f["check"] == "case format"]
    assert not line["ok"] and "cocflow migrate" in line["detail"]
    assert migrate(run, repo, keys["carol"])[0] == 0
    doctor = run("-C", str(repo), "doctor", "--json", as_member=keys["carol"])
    [line] = [f for f in json.loads(doctor.stdout) if f["check"] == "case format"]
    assert line["ok"]


def test_a_dry_run_lists_and_changes_nothing(repo, run, keys, legacy):
    head = git(repo, "rev-parse", "HEAD")
    code, plan = migrate(run, repo, keys["alice"], "--dry-run")
    assert code == 0 and plan["dry_run"]
    assert plan["migrated"] == [legacy["all"], legacy["not_bob"]]
    assert plan["need_other_member"] == [legacy["not_alice"]]
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_a_second_run_with_nothing_left_commits_nothing(repo, run, keys, legacy):
    assert migrate(run, repo, keys["carol"])[0] == 0
    head = git(repo, "rev-parse", "HEAD")
    code, again = migrate(run, repo, keys["alice"])
    assert code == 0 and again["migrated"] == [] and len(again["unchanged"]) == 3
    assert git(repo, "rev-parse", "HEAD") == head


def test_any_write_of_a_format_1_case_stores_format_2_with_its_evidence(repo, run, keys,
                                                                        legacy):
    case_id = legacy["all"]
    result = run("-C", str(repo), "note", case_id, "-m", "after the upgrade",
                 as_member=keys["bob"])
    assert result.exit_code == 0, result.stderr
    assert stored_format(repo, case_id) == (2, 1)
    found = json.loads(run("-C", str(repo), "check", "--json").stdout)["problems"]
    assert all(p["case"] != case_id for p in found)  # its evidence was converted too


def test_every_command_reads_format_1(repo, run, keys, legacy):
    case_id = legacy["all"]
    text = run("-C", str(repo), "show", case_id, as_member=keys["alice"])
    assert text.exit_code == 0 and "Decision" in text.stdout
    assert run("-C", str(repo), "verify", as_member=keys["alice"]).exit_code == 0
    listed = json.loads(run("-C", str(repo), "list", "--json").stdout)
    assert [m["id"] for m in listed] == sorted(legacy.values())
    report = run("-C", str(repo), "report", "--year", "2026", "--format", "json",
                 as_member=keys["carol"])
    assert report.exit_code == 0, report.stderr
