"""Reading cases: list from plaintext meta, show decrypted, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SENTINEL


def test_list_reads_meta_without_any_key(repo: Path, open_case, run):
    case_id = open_case()
    result = run("-C", str(repo), "list", env={"SOPS_AGE_KEY_FILE": "/nonexistent"})
    assert result.exit_code == 0, result.stderr
    assert case_id in result.stdout and "received" in result.stdout
    assert SENTINEL not in result.stdout


def test_list_json_is_a_list_of_meta_objects(repo: Path, open_case, run):
    open_case()
    document = json.loads(run("-C", str(repo), "list", "--json").stdout)
    assert document[0]["status"] == "received" and document[0]["closed_at"] is None


def test_list_filters_by_status_and_open(repo: Path, open_case, run):
    open_case()
    assert json.loads(run("-C", str(repo), "list", "--status", "closed", "--json").stdout) == []
    assert len(json.loads(run("-C", str(repo), "list", "--open", "--json").stdout)) == 1


def test_list_of_an_empty_repository_says_so(repo: Path, run):
    assert run("-C", str(repo), "list").stdout.strip() == "No cases."


def test_show_renders_sections_and_the_timeline(repo: Path, open_case, run, keys):
    case_id = open_case()
    out = run("-C", str(repo), "show", case_id, as_member=keys["bob"]).stdout
    for heading in ("Report", "Description", "Timeline"):
        assert f"\n{heading}\n" in out
    assert SENTINEL in out and "respond by" in out


def test_show_json_is_the_whole_document_with_defaults(repo: Path, open_case, run, keys):
    case_id = open_case(witnesses=[])
    document = json.loads(run("-C", str(repo), "show", case_id, "--json",
                              as_member=keys["bob"]).stdout)
    assert document["report"]["witnesses"] == []
    assert document["decisions"] == [] and document["report"]["sent_at"] is None
    assert document["timeline"][0]["event"] == "received"


@pytest.mark.parametrize("bad_id", ["../team", "2026-1", "/etc/passwd", "2026-0001.yaml", ""])
def test_ids_that_are_not_case_ids_are_refused_before_touching_a_path(repo, run, keys, bad_id):
    result = run("-C", str(repo), "show", bad_id, as_member=keys["alice"])
    assert result.exit_code == 2
    assert "not a case id" in result.stderr


def test_unknown_case_is_exit_2(repo: Path, run, keys):
    result = run("-C", str(repo), "show", "2026-0999", as_member=keys["alice"])
    assert result.exit_code == 2
    assert "cocflow list" in result.stderr


def test_a_case_file_copied_over_another_is_an_integrity_failure(repo, open_case, run, keys):
    first, second = open_case(), open_case()
    (repo / "cases" / f"{second}.yaml").write_text((repo / "cases" / f"{first}.yaml").read_text())
    result = run("-C", str(repo), "show", second, as_member=keys["alice"])
    assert result.exit_code == 1
    assert "another case" in result.stderr


def test_meta_edited_without_the_key_is_an_integrity_failure(repo, open_case, run, keys):
    case_id = open_case()
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text().replace("status: received", "status: closed", 1))
    result = run("-C", str(repo), "show", case_id, as_member=keys["alice"])
    assert result.exit_code == 1
    assert "integrity" in result.stderr and SENTINEL not in result.stderr + result.stdout
