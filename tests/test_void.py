"""`cocflow void`: a case opened by mistake leaves due and the report, and stays in history."""

from __future__ import annotations

import json

from tests.conftest import git, snapshot

ENV = {"COCFLOW_NOW": "2026-11-20T12:00:00Z"}


def test_a_voided_case_leaves_due_and_the_report_and_stays_in_history(repo, run, keys,
                                                                       open_case):
    kept, mistake = open_case(), open_case()
    result = run("-C", str(repo), "void", mistake, "--reason", "duplicate of the first",
                 "--json", as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": mistake, "status": "voided"}
    assert git(repo, "log", "-1", "--format=%s").strip() == f"void {mistake} (opened by mistake)"
    due = json.loads(run("-C", str(repo), "due", "--within", "400", "--json").stdout)
    assert [d["id"] for d in due] == [kept]
    listed = run("-C", str(repo), "list").stdout
    assert mistake in listed and "voided" in listed
    assert mistake not in run("-C", str(repo), "list", "--open").stdout
    report = json.loads(run("-C", str(repo), "report", "--year", kept[:4], "--json",
                            as_member=keys["alice"]).stdout)
    assert "voided" not in report["by_status"]
    shown = json.loads(run("-C", str(repo), "show", mistake, "--json",
                           as_member=keys["bob"]).stdout)
    assert shown["timeline"][-1]["event"] == "voided"
    assert shown["timeline"][-1]["note"] == "duplicate of the first"
    assert run("-C", str(repo), "check").exit_code == 0


def test_the_reason_can_come_from_stdin(repo, run, keys, open_case):
    case_id = open_case()
    result = run("-C", str(repo), "void", case_id, "--reason", "-", input="wrong message\n",
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["alice"]).stdout)
    assert shown["timeline"][-1]["note"] == "wrong message"


def test_a_voided_case_cannot_be_moved_or_voided_again(repo, run, keys, open_case):
    case_id = open_case()
    assert run("-C", str(repo), "void", case_id, "--reason", "mistake",
               as_member=keys["alice"]).exit_code == 0
    moved = run("-C", str(repo), "move", case_id, "investigating", "-m", "x",
                as_member=keys["alice"])
    assert moved.exit_code == 2 and "legal next states: none" in moved.stderr
    again = run("-C", str(repo), "void", case_id, "--reason", "mistake", as_member=keys["alice"])
    assert again.exit_code == 2 and "already voided" in again.stderr


def test_move_to_voided_points_to_void(repo, run, keys, open_case):
    case_id = open_case()
    before = snapshot(repo)
    with_move = run("-C", str(repo), "move", case_id, "voided", as_member=keys["alice"])
    assert with_move.exit_code == 2 and f"cocflow void {case_id}" in with_move.stderr
    assert snapshot(repo) == before


def test_voiding_needs_a_reason(repo, run, keys, open_case):
    case_id = open_case()
    result = run("-C", str(repo), "void", case_id, "--reason", " ", as_member=keys["alice"])
    assert result.exit_code == 2 and "needs --reason" in result.stderr


def test_the_report_counts_no_voided_case():
    from cocflow.domain.transparency import received_in

    meta = {"status": "voided", "received_at": "2026-11-20T12:00:00Z"}
    assert not received_in(meta, 2026)
    assert received_in({**meta, "status": "closed"}, 2026)
