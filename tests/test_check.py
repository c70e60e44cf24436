"""`cocflow check`: hand-broken repositories, one fault each; every problem, no case text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cocflow.adapters import sops
from cocflow.adapters.sops import Keyring
from cocflow.domain import sealed
from cocflow.domain.rules import CODES
from tests.conftest import SENTINEL, git, report_yaml
from tests.keyaccess import case_file


def padded(text: str) -> bytes:
    """Evidence plaintext in format 2 (a header, the bytes, padding to a bucket)."""
    return sealed.seal_evidence(text.encode(), 1, "0" * 64)


def check(repo: Path, run, *extra: str) -> tuple[int, dict, str]:
    """Run check twice (JSON and text); both outputs must be free of case text."""
    as_json = run("-C", str(repo), "check", "--json", *extra)
    as_text = run("-C", str(repo), "check", *extra)
    assert as_json.exit_code == as_text.exit_code
    for output in (as_json.stdout, as_json.stderr, as_text.stdout, as_text.stderr):
        assert SENTINEL not in output
        assert "ENC[" not in output and "-----BEGIN AGE" not in output
    return as_json.exit_code, json.loads(as_json.stdout), as_text.stdout + as_text.stderr


def codes(report: dict) -> set[str]:
    return {problem["code"] for problem in report["problems"]}



def replace_line(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.M)
    assert count == 1, pattern
    path.write_text(text)


def test_a_healthy_repository_is_clean(repo, open_case, run):
    open_case()
    open_case("--recuse", "bob")
    code, report, text = check(repo, run)
    assert (code, report) == (0, {"ok": True, "cases": 2, "problems": [], "triage": []})
    assert "OK: 2 case(s)" in text


def test_a_fresh_repository_without_members_is_clean(tmp_path, run):
    assert run("init", str(tmp_path / "coc"), "--ci", "none").exit_code == 0
    assert check(tmp_path / "coc", run)[0] == 0


def test_a_plaintext_value_outside_meta_is_named_by_path_not_value(repo, open_case, run):
    case_id = open_case()
    replace_line(case_file(repo, case_id), r"^body: ENC\[.*$", f"body: {SENTINEL}")
    code, report, text = check(repo, run)
    assert code == 1
    [problem] = [p for p in report["problems"] if p["code"] == "plaintext"]
    assert problem == {"file": f"cases/{case_id}.yaml", "case": case_id, "code": "plaintext",
                       "message": "body is not encrypted (only meta may be plaintext)"}
    assert "Error: " in text


def test_a_hand_typed_enc_marker_is_plaintext(repo, open_case, run):
    case_id = open_case()
    replace_line(case_file(repo, case_id), r"^body: ENC\[.*$", f"body: ENC[{SENTINEL}]")
    assert "plaintext" in codes(check(repo, run)[1])


def test_a_plain_yaml_file_in_cases_is_not_a_sops_document(repo, open_case, run):
    open_case()
    (repo / "cases" / "2026-0002.yaml").write_text(report_yaml())
    code, report, _ = check(repo, run)
    assert code == 1
    assert report["problems"] == [{
        "file": "cases/2026-0002.yaml", "case": "2026-0002", "code": "not-sops",
        "message": report["problems"][0]["message"]}]
    assert report["cases"] == 2


def test_a_file_that_is_not_yaml_at_all_is_reported(repo, run):
    (repo / "cases" / "2026-0001.yaml").write_text(f"{SENTINEL}: [unclosed\n")
    assert codes(check(repo, run)[1]) == {"not-sops"}


def test_a_plaintext_comment_is_reported_by_line(repo, open_case, run):
    case_id = open_case()
    path = case_file(repo, case_id)
    path.write_text(path.read_text().replace("\nbody: ", f"\n# {SENTINEL}\nbody: ", 1))
    report = check(repo, run)[1]
    assert codes(report) == {"plaintext-comment"}
    line = path.read_text().splitlines().index(f"# {SENTINEL}") + 1
    assert report["problems"][0]["message"].startswith(f"line {line} ")


def test_a_recused_member_added_with_raw_sops_is_caught(repo, open_case, run, keys):
    case_id = open_case("--recuse", "bob")
    path = case_file(repo, case_id)
    path.write_text(sops.rotate(path.read_text(), "test", add=[keys["bob"].public],
                                keyring=Keyring(keys["alice"].file)))
    code, report, _ = check(repo, run)
    assert code == 1
    [problem] = report["problems"]
    assert problem["code"] == "recipient-recused"
    assert problem["message"].startswith("bob is recused")


def test_an_extra_meta_key_is_named_although_the_mac_no_longer_matches(repo, open_case, run):
    case_id = open_case()
    replace_line(case_file(repo, case_id), r"^    recused: \[\]$",
                 f"    recused: []\n    reporter_name: {SENTINEL}")
    report = check(repo, run)[1]
    assert codes(report) == {"meta-invalid"}
    assert "reporter_name" in report["problems"][0]["message"]


@pytest.mark.parametrize(
    ("pattern", "replacement", "fragment"),
    [
        (r"^    received_at: .*$", '    received_at: "yesterday"', "meta.received_at"),
        (r"^    status: .*$", "    status: forgotten", "meta.status: must be one of"),
        (r"^    closed_at: null\n", "", "meta: missing closed_at"),
    ],
)
def test_meta_must_match_its_schema(repo, open_case, run, pattern, replacement, fragment):
    case_id = open_case()
    replace_line(case_file(repo, case_id), pattern, replacement)
    [problem] = check(repo, run)[1]["problems"]
    assert problem["code"] == "meta-invalid" and fragment in problem["message"]


def test_a_file_named_for_another_id_is_a_mismatch(repo, open_case, run):
    case_id = open_case()
    case_file(repo, case_id).rename(case_file(repo, "2026-0042"))
    [problem] = check(repo, run)[1]["problems"]
    assert (problem["code"], problem["file"], problem["case"]) == (
        "id-mismatch", "cases/2026-0042.yaml", case_id)


def test_a_copied_case_is_a_duplicate_id_in_both_files(repo, open_case, run):
    case_id = open_case()
    copy = case_file(repo, "2026-0099")
    copy.write_text(case_file(repo, case_id).read_text())
    report = check(repo, run)[1]
    duplicates = sorted(p["file"] for p in report["problems"] if p["code"] == "duplicate-id")
    assert duplicates == [f"cases/{case_id}.yaml", "cases/2026-0099.yaml"]
    assert codes(report) == {"duplicate-id", "id-mismatch"}


def test_a_departed_member_still_a_recipient_is_caught(repo, open_case, run):
    open_case()
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0
    [problem] = check(repo, run)[1]["problems"]
    assert problem["code"] == "recipient-unknown"
    assert "departed" in problem["message"] and "cocflow rekey" in problem["message"]


def test_a_new_member_not_yet_shared_with_is_no_problem(repo, open_case, run, keys):
    open_case()
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    code, report, _text = check(repo, run)
    assert code == 0 and report["problems"] == []  # only `share` adds readers


def test_too_few_readers_is_reported(repo, open_case, run):
    open_case("--recuse", "bob")
    team = repo / "team.yaml"
    team.write_text(team.read_text().replace("min_recipients: 2", "min_recipients: 3"))
    [problem] = check(repo, run)[1]["problems"]
    assert problem["code"] == "too-few-recipients"


def test_a_duplicated_recipient_is_reported(repo, open_case, run, keys):
    case_id = open_case()
    path = case_file(repo, case_id)
    path.write_text(sops.rotate(path.read_text(), "test", add=[keys["alice"].public],
                                keyring=Keyring(keys["alice"].file)))
    assert codes(check(repo, run)[1]) == {"recipient-duplicate"}


def test_a_broken_team_yaml_is_reported_and_recipients_are_not_guessed(repo, open_case, run):
    open_case()
    (repo / "team.yaml").write_text("members:\n  - {handle: Not A Handle, keys: []}\n")
    report = check(repo, run)[1]
    assert codes(report) == {"team-invalid"}
    assert {p["file"] for p in report["problems"]} == {"team.yaml"}
    assert len(report["problems"]) == 2  # every schema problem, not only the first


def test_a_broken_cocflow_yaml_is_reported(repo, run):
    (repo / "cocflow.yaml").write_text("warn_days: -1\nmystery: 1\n")
    report = check(repo, run)[1]
    assert codes(report) == {"config-invalid"}
    assert len(report["problems"]) == 2


def test_missing_mac_and_unknown_sops_version_are_reported(repo, open_case, run):
    case_id = open_case()
    path = case_file(repo, case_id)
    replace_line(path, r"^    mac: .*\n", "")
    replace_line(path, r"^    version: .*$", "    version: 4.0.0")
    assert codes(check(repo, run)[1]) == {"sops-no-mac", "sops-version"}


def test_other_sops_settings_are_reported(repo, open_case, run):
    case_id = open_case()
    replace_line(case_file(repo, case_id), r"^    unencrypted_regex: .*$",
                 "    unencrypted_regex: ^(meta|report)$")
    assert codes(check(repo, run)[1]) == {"sops-settings"}


def test_every_problem_is_reported_not_only_the_first(repo, open_case, run):
    first, second = open_case(), open_case()
    replace_line(case_file(repo, first), r"^body: ENC\[.*$", f"body: {SENTINEL}")
    replace_line(case_file(repo, second), r"^    status: .*$", "    status: lost")
    (repo / "cases" / "notes.txt").write_text(SENTINEL)
    report = check(repo, run)[1]
    assert codes(report) == {"plaintext", "meta-invalid", "unexpected-file"}
    assert {p["case"] for p in report["problems"]} == {first, second, None}


def test_evidence_keyed_like_its_case_is_clean(repo, open_case, run, keys):
    case_id = open_case("--recuse", "bob")
    recipients = [keys["alice"].public, keys["carol"].public]
    (repo / "cases" / case_id).mkdir()
    (repo / "cases" / case_id / "1.json").write_text(sops.encrypt_bytes(padded(SENTINEL),
                                                                        recipients))
    assert check(repo, run)[0] == 0


def test_evidence_readable_by_a_recused_member_is_caught(repo, open_case, run, keys):
    case_id = open_case("--recuse", "bob")
    recipients = [keys[h].public for h in ("alice", "bob", "carol")]
    (repo / "cases" / case_id).mkdir()
    (repo / "cases" / case_id / "1.json").write_text(sops.encrypt_bytes(padded(SENTINEL),
                                                                        recipients))
    [problem] = check(repo, run)[1]["problems"]
    assert (problem["code"], problem["file"], problem["case"]) == (
        "recipient-recused", f"cases/{case_id}/1.json", case_id)


def test_plaintext_or_orphaned_evidence_is_caught(repo, open_case, run):
    case_id = open_case()
    (repo / "cases" / case_id).mkdir()
    (repo / "cases" / case_id / "1.json").write_text(SENTINEL)
    (repo / "cases" / "2026-0777").mkdir()
    (repo / "cases" / "2026-0777" / "1.json").write_text(SENTINEL)
    report = check(repo, run)[1]
    assert {(p["file"], p["code"]) for p in report["problems"]} == {
        (f"cases/{case_id}/1.json", "not-sops"),
        ("cases/2026-0777/1.json", "evidence-orphan"),
        ("cases/2026-0777/1.json", "not-sops"),
    }


HAND_EDIT = {"history-revision", "history-meta-edited"}


def test_staged_checks_only_what_the_next_commit_changes(repo, open_case, run):
    case_id = open_case()
    replace_line(case_file(repo, case_id), r"^body: ENC\[.*$", f"body: {SENTINEL}")
    assert check(repo, run, "--staged")[0] == 0  # changed on disk, not staged
    git(repo, "add", "cases")
    code, report, text = check(repo, run, "--staged")
    # Changed by hand: a plaintext body, and a new version that is no write (history rules).
    assert code == 1 and codes(report) == {"plaintext", *HAND_EDIT}
    assert "staged" in text


def test_staged_reads_the_index_not_the_working_tree(repo, open_case, run):
    case_id = open_case()
    path = case_file(repo, case_id)
    healthy = path.read_text()
    replace_line(path, r"^body: ENC\[.*$", f"body: {SENTINEL}")
    git(repo, "add", "cases")
    path.write_text(healthy)  # the working tree is fine again; the index is not
    assert codes(check(repo, run, "--staged")[1]) == {"plaintext", *HAND_EDIT}
    assert check(repo, run)[0] == 0


def test_check_outside_a_case_repository_is_exit_4(tmp_path, run):
    assert run("-C", str(tmp_path), "check").exit_code == 4


def test_every_code_is_documented_in_the_readme():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for code in CODES:
        assert f"`{code}`" in readme, code
