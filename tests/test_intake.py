"""Opening cases: the encrypted file's shape, recusal at intake, refusals that change nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from cocflow.adapters.sops import sops_binary
from cocflow.domain.case import META_KEYS, plaintext_leaves
from tests.conftest import SENTINEL, assert_no_leak, git, report_yaml


def test_case_file_keeps_meta_plain_and_encrypts_every_other_leaf(repo, open_case):
    case_id = open_case()
    document = yaml.safe_load((repo / "cases" / f"{case_id}.yaml").read_text())
    assert tuple(document["meta"]) == META_KEYS
    assert document["meta"]["status"] == "received"
    assert plaintext_leaves(document) == []
    assert "sops" in document and document["sops"]["mac"].startswith("ENC[")


def test_outside_meta_the_file_holds_one_encrypted_body_and_no_key_names(repo, open_case):
    case_id = open_case(witnesses=[], location=None, reporter={"anonymous": True})
    text = (repo / "cases" / f"{case_id}.yaml").read_text()
    document = yaml.safe_load(text)
    assert list(document) == ["meta", "body", "sops"]
    for name in ("report", "witnesses", "location", "reporter", "timeline", "null", "[]"):
        assert name not in text.split("\nsops:\n")[0].split("\nbody: ")[1]


def test_ids_count_up_within_the_year_of_receipt(repo, open_case, run, keys):
    first = open_case()
    second = open_case()
    assert (first, second) == ("2026-0001", "2026-0002")
    assert run("-C", str(repo), "list", "--json").stdout.count('"id"') == 2


def test_new_sets_respond_by_from_response_days(repo, run, keys):
    text = report_yaml().replace("report:", 'received_at: "2026-03-01T12:00:00+02:00"\nreport:', 1)
    result = run("-C", str(repo), "new", "--from", "-", "--json", input=text,
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    meta = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]
    assert meta["id"] == "2026-0001"
    assert meta["received_at"] == "2026-03-01T10:00:00Z"
    assert meta["respond_by"] == "2026-03-15T10:00:00Z"


def test_reported_team_member_is_recused_automatically(repo, open_case, run, keys):
    case_id = open_case(reported=[{"name": "Bob", "team_handle": "bob"}])
    meta = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]
    assert meta["recused"] == ["bob"]
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["alice"]).stdout)
    assert shown["recusals"][0]["reason"] == "reported-person"


def test_recused_member_cannot_decrypt_through_cocflow(repo, open_case, run, keys):
    case_id = open_case("--recuse", "carol")
    result = run("-C", str(repo), "show", case_id, as_member=keys["carol"])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and SENTINEL not in result.stderr + result.stdout


def test_recused_member_cannot_decrypt_with_sops_directly(repo, open_case, keys):
    case_id = open_case(reported=[{"name": "Bob", "team_handle": "bob"}])
    done = subprocess.run(
        [sops_binary(), "decrypt", str(repo / "cases" / f"{case_id}.yaml")],
        env={"SOPS_AGE_KEY_FILE": str(keys["bob"].file), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 128
    assert SENTINEL not in done.stdout


def test_recused_key_is_not_a_recipient_even_of_the_first_commit(repo, open_case, keys):
    case_id = open_case("--recuse", "carol")
    first = git(repo, "show", f"HEAD:cases/{case_id}.yaml")
    assert keys["carol"].public not in first
    assert keys["alice"].public in first and keys["bob"].public in first


def test_a_non_member_gets_exit_3(repo, open_case, run, keys):
    case_id = open_case()
    result = run("-C", str(repo), "show", case_id, as_member=keys["outsider"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1


def test_a_non_member_cannot_open_a_case(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(),
                 as_member=keys["outsider"])
    assert result.exit_code == 3
    assert "not in team.yaml" in result.stderr


def test_sentinel_reaches_no_file_no_git_object_and_no_commit_message(repo, open_case, run, keys):
    case_id = open_case()
    listing = run("-C", str(repo), "list")
    assert_no_leak(repo, SENTINEL, listing.stdout, listing.stderr)
    assert git(repo, "log", "-1", "--format=%s").strip() == f"open {case_id} (received)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channel": "pigeon"}, "report.channel"),
        ({"categories": ["rudeness"]}, "report.categories"),
        ({"title": ""}, "report.title"),
        ({"reporter": {"name": "x", "shoe_size": 44}}, "unknown key"),
        ({"occurred_at": f"at the flat of {SENTINEL}"}, "report.occurred_at: not an RFC 3339"),
    ],
)
def test_schema_violations_are_refused_and_change_nothing(repo, run, keys, unchanged, changes,
                                                          message):
    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(**changes),
                 as_member=keys["alice"])
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert SENTINEL not in result.stderr


def test_unknown_handle_to_recuse_is_refused(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", "--from", "-", "--recuse", "mallory",
                 input=report_yaml(), as_member=keys["alice"])
    assert result.exit_code == 2
    assert "mallory" in result.stderr and "alice" in result.stderr


def test_too_few_readers_is_refused(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", "--from", "-", "--recuse", "bob", "--recuse", "carol",
                 input=report_yaml(), as_member=keys["alice"])
    assert result.exit_code == 2
    assert "min_recipients" in result.stderr


def test_extra_top_level_keys_in_the_input_are_refused(repo, run, keys, unchanged):
    text = report_yaml() + "meta: {status: closed}\n"
    result = run("-C", str(repo), "new", "--from", "-", input=text, as_member=keys["alice"])
    assert result.exit_code == 2
    assert "unknown key" in result.stderr


def test_input_that_is_not_yaml_is_refused(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", "--from", "-", input="report: [unclosed\n",
                 as_member=keys["alice"])
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr


def test_yaml_aliases_are_refused(repo, run, keys, unchanged):
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nreport: *b\n'
    result = run("-C", str(repo), "new", "--from", "-", input=bomb, as_member=keys["alice"])
    assert result.exit_code == 2
    assert "aliases" in result.stderr


def test_new_without_a_report_and_without_a_terminal_is_a_usage_error(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", input="", as_member=keys["alice"])
    assert result.exit_code == 2
    assert "--from" in result.stderr


def test_recusals_in_the_input_file_are_honoured(repo, run, keys):
    text = report_yaml() + "recusals: [{handle: carol, reason: reporter-request}]\n"
    result = run("-C", str(repo), "new", "--from", "-", "--json", input=text,
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    case_id = json.loads(result.stdout)["id"]
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["bob"]).stdout)
    assert shown["recusals"][0] == {**shown["recusals"][0], "handle": "carol",
                                    "reason": "reporter-request"}


def test_new_from_a_file_path(repo, run, keys, tmp_path: Path):
    source = tmp_path / "report.yaml"
    source.write_text(report_yaml())
    result = run("-C", str(repo), "new", "--from", str(source), as_member=keys["alice"])
    assert result.exit_code == 0
    assert "Opened case 2026-0001" in result.stdout and "next:" in result.stderr


def test_a_reported_team_handle_that_is_not_a_member_is_refused(repo, run, keys, unchanged):
    text = report_yaml(reported=[{"name": "Bob", "team_handle": "bobb"}])
    result = run("-C", str(repo), "new", "--from", "-", input=text, as_member=keys["alice"])
    assert result.exit_code == 2
    assert "team_handle is not a member" in result.stderr and "bobb" not in result.stderr
