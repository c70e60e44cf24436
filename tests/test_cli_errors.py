"""The one error path: every failure is one `Error:` line, never a traceback or case data."""

from __future__ import annotations

import json

from tests.conftest import SENTINEL


def test_an_unexpected_bug_is_one_line_naming_only_the_exception_type(repo, run, monkeypatch):
    import cocflow.operations.cases as cases

    def broken(*_args, **_kwargs):
        raise ValueError(f"case data {SENTINEL}")

    monkeypatch.setattr(cases, "list_cases", broken)
    result = run("-C", str(repo), "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected internal error (ValueError)")
    assert result.stderr.count("\n") == 1 and SENTINEL not in result.stderr


def test_due_skips_a_case_whose_meta_cannot_be_read_and_still_lists_the_others(
        repo, run, open_case, monkeypatch):
    monkeypatch.setenv("COCFLOW_NOW", "2026-11-20T10:00:00Z")
    broken, fine = open_case(), open_case()
    (repo / "cases" / f"{broken}.yaml").write_text("meta: [not, a, mapping\n")
    result = run("-C", str(repo), "due", "--json", env={"COCFLOW_NOW": "2026-12-03T12:00:00Z"})
    assert result.exit_code == 0
    assert [d["id"] for d in json.loads(result.stdout)] == [fine]
    assert broken in result.stderr and "cocflow check" in result.stderr


def test_under_json_a_failure_is_also_a_json_error_object_on_stdout(repo, run):
    result = run("-C", str(repo), "show", "2026-0404", "--json")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    error = json.loads(result.stdout)["error"]
    assert error == {"message": result.stderr[len("Error: "):].strip(), "exit_code": 2}


def test_a_json_usage_error_is_a_json_error_object_too(repo, run):
    result = run("-C", str(repo), "list", "--status", "nonsense", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["exit_code"] == 2


def test_problems_after_a_json_report_add_no_second_document(repo, run):
    (repo / "cases" / "2026-0001.yaml").write_text("meta: {}\n")
    result = run("-C", str(repo), "check", "--json")
    assert result.exit_code == 1
    assert "problems" in json.loads(result.stdout)  # one document: the report itself


def test_without_json_stdout_stays_empty_on_failure(repo, run):
    result = run("-C", str(repo), "show", "2026-0404")
    assert result.exit_code == 2 and result.stdout == ""
