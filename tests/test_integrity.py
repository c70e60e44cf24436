"""Tampering: any change made without the key is an integrity failure, never data; `verify`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SENTINEL, assert_no_leak, git


def commit_tampered(repo: Path, case_id: str, change: Callable[[str], str]) -> Path:
    """Change a case file as someone without the key would, and commit it (as if pushed)."""
    path = repo / "cases" / f"{case_id}.yaml"
    text = path.read_text()
    changed = change(text)
    assert changed != text, "the tampering did not apply"
    path.write_text(changed)
    git(repo, "commit", "--no-verify", "--quiet", "-am", "tampered")  # past the pre-commit hook
    return path


def flip_inside(text: str, marker: str) -> str:
    """Change one base64 character of the ciphertext that follows `marker`."""
    start = text.index(marker) + len(marker)
    old = text[start]
    return text[:start] + ("B" if old != "B" else "C") + text[start + 1:]


TAMPERING: dict[str, Callable[[str], str]] = {
    "meta status": lambda t: t.replace("status: received", "status: closed", 1),
    "meta recused": lambda t: t.replace("recused: []", "recused: [carol]", 1),
    "meta deadline": lambda t: re.sub(r"respond_by: \"?(\d{4})",
                                      lambda m: f'respond_by: "{int(m[1]) + 1}', t, count=1),
    "ciphertext": lambda t: flip_inside(t, "body: ENC[AES256_GCM,data:"),
    "ciphertext tag": lambda t: flip_inside(t, t[t.index("body: ENC"):].split(",tag:")[0]
                                            + ",tag:"),
    "renamed key": lambda t: t.replace("\nbody: ENC", "\nheadline: ENC", 1),
    "mac": lambda t: flip_inside(t, "mac: ENC[AES256_GCM,data:"),
    "mac removed": lambda t: re.sub(r"(?m)^    mac: .*\n", "", t),
    "sops block removed": lambda t: t.split("\nsops:\n")[0] + "\n",
    "truncated": lambda t: t[: len(t) // 2],
    "not yaml": lambda t: "meta: [unclosed\n" + t,
    "lastmodified": lambda t: re.sub(r"lastmodified: \"[^\"]+\"",
                                     'lastmodified: "2020-01-01T00:00:00Z"', t),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_tampering_is_an_integrity_failure_naming_the_file(repo, run, keys, case_id, kind):
    commit_tampered(repo, case_id, TAMPERING[kind])
    result = run("-C", str(repo), "show", case_id, as_member=keys["alice"])
    assert result.exit_code == 1, result.stderr
    assert f"cases/{case_id}.yaml" in result.stderr and "integrity" in result.stderr
    assert "git log" in result.stderr and "git checkout" in result.stderr
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr)


@pytest.mark.parametrize(
    "command",
    [("show",), ("note", "-m", "x"), ("move", "acknowledged"), ("edit",)],
    ids=lambda c: c[0],
)
def test_every_command_that_decrypts_refuses_a_tampered_meta(repo, run, keys, case_id,
                                                              command, tmp_path):
    commit_tampered(repo, case_id, TAMPERING["meta status"])
    head = git(repo, "rev-parse", "HEAD")
    editor = tmp_path / "never.sh"
    editor.write_text("#!/bin/sh\ntouch " + str(tmp_path / "editor-ran") + "\n")
    editor.chmod(0o755)
    result = run("-C", str(repo), command[0], case_id, *command[1:], as_member=keys["alice"],
                 env={"EDITOR": str(editor)})
    assert result.exit_code == 1 and "integrity" in result.stderr
    assert not (tmp_path / "editor-ran").exists()
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_a_damaged_key_slot_of_my_own_key_is_integrity_not_access(repo, run, keys, case_id):
    alice = keys["alice"].public

    def damage_alices_slot(text: str) -> str:
        slot = text.index(f"recipient: {alice}")
        body = text.index("-----BEGIN AGE ENCRYPTED FILE-----\n", slot)
        first_line = text.index("\n", body) + 1
        return flip_inside(text, text[first_line:first_line + 50])  # inside the X25519 share

    commit_tampered(repo, case_id, damage_alices_slot)
    result = run("-C", str(repo), "show", case_id, as_member=keys["alice"])
    assert result.exit_code == 1 and "key slot" in result.stderr
    assert run("-C", str(repo), "show", case_id, as_member=keys["bob"]).exit_code == 0


def test_a_member_who_is_not_a_recipient_still_gets_exit_3(repo, run, keys, open_case):
    case_id = open_case("--recuse", "carol")
    result = run("-C", str(repo), "show", case_id, as_member=keys["carol"])
    assert result.exit_code == 3 and "integrity" not in result.stderr


def test_list_refuses_a_meta_block_that_does_not_parse_without_a_traceback(repo, run,
                                                                           case_id):
    commit_tampered(repo, case_id, lambda t: t.replace("meta:\n", "meta: &a [*a\n", 1))
    result = run("-C", str(repo), "list")
    assert result.exit_code == 1 and f"cases/{case_id}.yaml" in result.stderr
    assert "Traceback" not in result.stderr


# --- verify ---------------------------------------------------------------------------------


def verify(run, repo: Path, key, *extra: str):  # type: ignore[no-untyped-def]
    result = run("-C", str(repo), "verify", "--json", *extra, as_member=key)
    return result, json.loads(result.stdout) if result.stdout else None


def test_verify_passes_on_intact_cases(repo, run, keys, open_case):
    ids = [open_case(), open_case()]
    result, report = verify(run, repo, keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert report == {"ok": True, "verified": ids, "unreadable": [], "failed": []}


def test_verify_lists_unreadable_cases_apart_from_failures(repo, run, keys, open_case):
    readable, recused, tampered = open_case(), open_case("--recuse", "carol"), open_case()
    commit_tampered(repo, tampered, TAMPERING["ciphertext"])
    result, report = verify(run, repo, keys["carol"])
    assert result.exit_code == 1
    assert report["verified"] == [readable]
    assert [(f["case"], f["code"]) for f in report["unreadable"]] == [(recused, "recused")]
    assert [(f["case"], f["code"]) for f in report["failed"]] == [(tampered, "integrity")]
    assert report["failed"][0]["file"] == f"cases/{tampered}.yaml"
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr)


def test_verify_catches_a_copied_file_and_a_file_that_is_not_a_case(repo, run, keys,
                                                                     open_case):
    first, second = open_case(), open_case()
    cases = repo / "cases"
    (cases / f"{second}.yaml").write_text((cases / f"{first}.yaml").read_text())
    (cases / "notes.yaml").write_text("hello: world\n")
    result, report = verify(run, repo, keys["alice"])
    assert result.exit_code == 1
    failed = {f["file"]: f for f in report["failed"]}
    assert "another case" in failed[f"cases/{second}.yaml"]["message"]
    assert failed["cases/notes.yaml"]["code"] == "file-name"
    assert report["verified"] == [first]


def test_verify_text_output_and_jobs(repo, run, keys, open_case):
    open_case()
    result = run("-C", str(repo), "verify", "--jobs", "1", as_member=keys["alice"])
    assert result.exit_code == 0 and "Verified 1 case(s)" in result.stdout
    assert "verifying" not in result.stderr  # no progress bar without a terminal


def test_verify_by_an_outsider_is_exit_3(repo, run, keys, open_case):
    open_case()
    result, report = verify(run, repo, keys["outsider"])
    assert result.exit_code == 3
    assert report["unreadable"][0]["code"] == "not-a-recipient"


def test_verify_of_an_empty_repository_is_fine(repo, run, keys):
    result, report = verify(run, repo, keys["alice"])
    assert result.exit_code == 0 and report["verified"] == []


def test_verify_reads_in_process_and_without_sops_where_it_must_ask_sops_exits_4(
        repo, run, keys, open_case):
    case_id = open_case()
    missing = {"COCFLOW_SOPS": "/nonexistent/sops"}
    result = run("-C", str(repo), "verify", "--json", as_member=keys["alice"], env=missing)
    assert result.exit_code == 0 and json.loads(result.stdout)["verified"] == [case_id]
    # A key command: only sops can load such keys, so every file goes to sops, which is gone.
    result = run("-C", str(repo), "verify", as_member=keys["alice"],
                 env={**missing, "SOPS_AGE_KEY_CMD": "false"})
    assert result.exit_code == 4 and "sops" in result.stderr


def test_verify_tells_a_new_member_that_cases_are_shared_not_rekeyed(repo, run, keys,
                                                                      open_case):
    open_case()
    run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    _result, report = verify(run, repo, keys["dave"])
    [finding] = report["unreadable"]
    assert finding["code"] == "not-a-recipient" and "share" in finding["message"]
    assert "rekey" not in finding["message"]
