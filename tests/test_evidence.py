"""Evidence: attach, list, extract with a verified sha256, and re-encryption on recusal."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from cocflow.adapters import sops
from cocflow.adapters.sops import Keyring, recipients_of
from cocflow.adapters.store import CaseStore
from cocflow.operations.access import recuse
from cocflow.operations.workspace import Workspace, decrypt_case, reencrypt
from tests.conftest import SENTINEL, assert_no_leak, git, report_yaml, snapshot
from tests.keyaccess import raw_sops_decrypt
from tests.shared_repo import cli, module_repo

CONTENT = b"chat log PIXEL-SENTINEL-4412 " + bytes(range(256))
NAME = "chat-NAME-SENTINEL-9921.txt"


@pytest.fixture
def evidence_file(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / NAME
    path.parent.mkdir()
    path.write_bytes(CONTENT)
    return path


def attach(run, repo: Path, keys, case_id: str, path: Path, *extra: str) -> None:
    result = run("-C", str(repo), "attach", case_id, str(path), *extra, as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr


@pytest.fixture
def attached(repo, open_case, run, keys, evidence_file) -> str:
    """A case with one piece of evidence attached by alice (for tests that change things)."""
    case_id = open_case()
    attach(run, repo, keys, case_id, evidence_file, "-m", f"the log {SENTINEL}")
    return case_id


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    """Read-only: 2026-0001 with two pieces of evidence; 2026-0002, carol recused, with one."""
    base = tmp_path_factory.mktemp("evidence")
    source = base / "outside" / NAME
    source.parent.mkdir()
    source.write_bytes(CONTENT)
    other = source.parent / "other.txt"
    other.write_bytes(b"other")
    with module_repo(base) as (root, keys):
        for extra in ((), ("--recuse", "carol")):
            assert cli("-C", str(root), "new", "--from", "-", *extra, input=report_yaml(),
                       key=keys["alice"]).exit_code == 0
        for case_id, path, note in (("2026-0001", source, f"the log {SENTINEL}"),
                                    ("2026-0001", other, "second"),
                                    ("2026-0002", source, "third")):
            result = cli("-C", str(root), "attach", case_id, str(path), "-m", note,
                         key=keys["alice"])
            assert result.exit_code == 0, result.stderr
        yield root, keys


def evidence_path(repo: Path, case_id: str, number: int = 1) -> Path:
    return repo / "cases" / case_id / f"evidence-{number:03d}.sops.json"



def test_attach_commits_the_case_and_a_neutrally_named_file_together(shared):
    root, _ = shared
    commit = git(root, "log", "--format=%H", "--", "cases/2026-0001/evidence-001.sops.json")
    changed = git(root, "show", "--name-only", "--format=%s", commit.strip()).split("\n")
    assert changed[0] == "attach evidence to 2026-0001"
    assert [c for c in changed[1:] if c] == ["cases/2026-0001.yaml",
                                             "cases/2026-0001/evidence-001.sops.json"]


def test_attach_records_name_size_hash_note_and_a_timeline_event(shared):
    root, keys = shared
    listed = json.loads(cli("-C", str(root), "evidence", "2026-0001", "--json",
                            key=keys["bob"]).stdout)
    assert listed[0] == {
        "number": 1, "original_name": NAME, "media_type": "text/plain", "size": len(CONTENT),
        "sha256": hashlib.sha256(CONTENT).hexdigest(), "note": f"the log {SENTINEL}",
        "added_at": listed[0]["added_at"], "added_by": "alice",
    }
    assert [item["number"] for item in listed] == [1, 2]
    case = json.loads(cli("-C", str(root), "show", "2026-0001", "--json", key=keys["bob"]).stdout)
    assert [e["event"] for e in case["timeline"]] == ["received", "attached", "attached"]


def test_evidence_lists_as_a_table(shared):
    root, keys = shared
    result = cli("-C", str(root), "evidence", "2026-0001", key=keys["alice"])
    assert result.exit_code == 0 and NAME in result.stdout


def test_attached_evidence_leaks_nothing(shared):
    root, _ = shared
    listing = cli("-C", str(root), "list")
    for secret in (SENTINEL, "PIXEL-SENTINEL-4412", "NAME-SENTINEL-9921"):
        assert_no_leak(root, secret, listing.stdout)


def test_evidence_files_lists_neutral_paths_in_number_order(shared):
    root, _ = shared
    expected = [evidence_path(root, "2026-0001", 1), evidence_path(root, "2026-0001", 2)]
    assert CaseStore(root).evidence_files("2026-0001") == expected
    assert CaseStore(root).evidence_files("2026-0099") == []


def test_extraction_round_trips_the_sha256_and_writes_0600(shared, tmp_path):
    root, keys = shared
    out = tmp_path / "extracted.bin"
    result = cli("-C", str(root), "evidence", "2026-0001", "1", "--out", str(out),
                 key=keys["carol"])
    assert result.exit_code == 0, result.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(CONTENT).hexdigest()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert str(out) not in result.stdout


def test_extraction_never_overwrites(shared, tmp_path):
    root, keys = shared
    out = tmp_path / "existing.bin"
    out.write_bytes(b"keep me")
    result = cli("-C", str(root), "evidence", "2026-0001", "1", "--out", str(out),
                 key=keys["alice"])
    assert result.exit_code == 2 and "never overwrites" in result.stderr
    assert out.read_bytes() == b"keep me"


def test_extraction_into_the_repository_is_refused(shared):
    root, keys = shared
    before = snapshot(root)
    result = cli("-C", str(root), "evidence", "2026-0001", "1", "--out", str(root / "x.bin"),
                 key=keys["alice"])
    assert result.exit_code == 2 and "inside the case repository" in result.stderr
    assert snapshot(root) == before


def test_unknown_evidence_number_is_refused(shared, tmp_path):
    root, keys = shared
    result = cli("-C", str(root), "evidence", "2026-0001", "7", "--out", str(tmp_path / "o"),
                 key=keys["alice"])
    assert result.exit_code == 2 and "no evidence 7" in result.stderr


def test_n_without_out_is_a_usage_error(shared):
    root, keys = shared
    result = cli("-C", str(root), "evidence", "2026-0001", "1", key=keys["alice"])
    assert result.exit_code == 2 and "--out" in result.stderr


def test_a_recused_member_cannot_read_the_evidence(shared, tmp_path):
    root, keys = shared
    result = cli("-C", str(root), "evidence", "2026-0002", "1", "--out", str(tmp_path / "o"),
                 key=keys["carol"])
    assert result.exit_code == 3 and not (tmp_path / "o").exists()
    assert raw_sops_decrypt(evidence_path(root, "2026-0002"), keys["carol"]).returncode == 128


def test_evidence_swapped_for_another_valid_file_fails_the_hash(repo, attached, run, keys,
                                                               tmp_path):
    other = tmp_path / "outside" / "other.txt"
    other.write_bytes(b"something else")
    attach(run, repo, keys, attached, other)
    first, second = evidence_path(repo, attached, 1), evidence_path(repo, attached, 2)
    first.write_text(second.read_text())
    out = tmp_path / "o.bin"
    result = run("-C", str(repo), "evidence", attached, "1", "--out", str(out),
                 as_member=keys["alice"])
    assert result.exit_code == 1 and "binding names another evidence number" in result.stderr
    assert not out.exists()


def test_evidence_with_a_changed_ciphertext_is_an_integrity_failure(repo, attached, run, keys,
                                                                    tmp_path):
    path = evidence_path(repo, attached)
    document = json.loads(path.read_text())
    data = document["data"]
    at = data.index("data:") + 6
    document["data"] = data[:at] + ("A" if data[at] != "A" else "B") + data[at + 1:]
    path.write_text(json.dumps(document))
    out = tmp_path / "o.bin"
    result = run("-C", str(repo), "evidence", attached, "1", "--out", str(out),
                 as_member=keys["alice"])
    assert result.exit_code == 1 and "integrity" in result.stderr
    assert not out.exists()


def test_missing_evidence_file_is_an_integrity_failure(repo, attached, run, keys, tmp_path):
    evidence_path(repo, attached).unlink()
    result = run("-C", str(repo), "evidence", attached, "1", "--out", str(tmp_path / "o"),
                 as_member=keys["alice"])
    assert result.exit_code == 1 and "missing" in result.stderr


def test_attaching_a_missing_file_names_no_file(repo, open_case, run, keys, tmp_path):
    case_id = open_case()
    before = snapshot(repo)
    result = run("-C", str(repo), "attach", case_id, str(tmp_path / NAME),
                 as_member=keys["alice"])
    assert result.exit_code == 2 and "NAME-SENTINEL" not in result.stderr
    assert snapshot(repo) == before


def test_attaching_a_file_inside_the_repository_is_refused(repo, open_case, run, keys):
    case_id = open_case()
    inside = repo / NAME
    inside.write_bytes(CONTENT)
    try:
        result = run("-C", str(repo), "attach", case_id, str(inside), as_member=keys["alice"])
    finally:
        inside.unlink()
    assert result.exit_code == 2 and "inside the case repository" in result.stderr


def test_attaching_over_the_size_limit_changes_nothing(repo, open_case, run, keys,
                                                       evidence_file):
    case_id = open_case()
    with (repo / "cocflow.yaml").open("a") as config:
        config.write("attachment_max_bytes: 10\n")
    git(repo, "commit", "-qam", "tiny attachments")
    before = snapshot(repo)
    result = run("-C", str(repo), "attach", case_id, str(evidence_file), as_member=keys["alice"])
    assert result.exit_code == 2 and "attachment_max_bytes" in result.stderr
    assert snapshot(repo) == before


def test_a_refused_commit_leaves_no_evidence_and_no_folder(repo, open_case, run, keys,
                                                          evidence_file):
    case_id = open_case()
    hook = Path(git(repo, "rev-parse", "--absolute-git-dir").strip()) / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(repo)
    result = run("-C", str(repo), "attach", case_id, str(evidence_file), as_member=keys["alice"])
    assert result.exit_code == 4
    assert snapshot(repo) == before and not (repo / "cases" / case_id).exists()


# --- recusal re-encrypts evidence (save_case rotates it with the case) ------------------------

def recuse_through_helper(repo: Path, case_id: str, handle: str, actor_key) -> None:
    """`recuse` as a member runs it: new meta.recused, evidence rotated, one commit."""
    recuse(Workspace.open(repo, Keyring(actor_key.file)), case_id, handle,
           "conflict-of-interest")


def test_after_recusal_the_member_can_no_longer_decrypt_the_evidence(repo, attached, keys, run,
                                                                     tmp_path):
    path = evidence_path(repo, attached)
    assert raw_sops_decrypt(path, keys["carol"]).returncode == 0
    recuse_through_helper(repo, attached, "carol", keys["alice"])
    assert raw_sops_decrypt(path, keys["carol"]).returncode == 128
    assert keys["carol"].public not in path.read_text()
    result = run("-C", str(repo), "evidence", attached, "1", "--out", str(tmp_path / "c"),
                 as_member=keys["carol"])
    assert result.exit_code == 3
    assert run("-C", str(repo), "evidence", attached, "1", "--out", str(tmp_path / "b"),
               as_member=keys["bob"]).exit_code == 0
    assert (tmp_path / "b").read_bytes() == CONTENT


def test_recusal_rotates_the_evidence_data_key_in_the_same_commit(repo, attached, keys):
    path = evidence_path(repo, attached)
    before = json.loads(path.read_text())
    recuse_through_helper(repo, attached, "carol", keys["alice"])
    after = json.loads(path.read_text())
    assert after["data"] != before["data"]
    assert sorted(recipients_of(path.read_text())) == sorted([keys["alice"].public,
                                                              keys["bob"].public])
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert changed == [f"cases/{attached}.yaml", f"cases/{attached}/evidence-001.sops.json"]
    assert git(repo, "status", "--porcelain") == ""


def test_reencrypt_leaves_evidence_already_right_alone(repo, attached, keys):
    ws = Workspace.open(repo, Keyring(keys["alice"].file))
    writes = reencrypt(ws, decrypt_case(ws, attached))
    assert [path for path, _ in writes] == [ws.store.path(attached)]  # the case alone


# --- rekey and audit cover evidence files like case files -------------------------------------

def test_rekey_moves_evidence_to_the_new_team(repo, attached, run, keys):
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    assert run("-C", str(repo), "share", attached, "dave", "--yes",
               as_member=keys["alice"]).exit_code == 0  # the case and its evidence
    assert raw_sops_decrypt(evidence_path(repo, attached), keys["dave"]).returncode == 0
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0
    result = run("-C", str(repo), "rekey", "--json", as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rekeyed"] == [attached]
    path = evidence_path(repo, attached)
    assert raw_sops_decrypt(path, keys["carol"]).returncode == 128
    assert raw_sops_decrypt(path, keys["dave"]).returncode == 0
    assert git(repo, "status", "--porcelain") == ""
    second = run("-C", str(repo), "rekey", "--json", as_member=keys["alice"])
    assert json.loads(second.stdout)["rekeyed"] == []


def test_audit_flags_evidence_still_open_to_a_recused_member(repo, attached, run, keys):
    path = evidence_path(repo, attached)
    recuse_through_helper(repo, attached, "carol", keys["alice"])
    path.write_text(sops.rotate(path.read_text(), "evidence", add=[keys["carol"].public],
                                input_type="json", keyring=Keyring(keys["alice"].file)))
    git(repo, "commit", "--no-verify", "-qam", "by hand")  # past the pre-commit hook
    result = run("-C", str(repo), "audit", "--json")
    assert result.exit_code == 1
    flagged = [c for c in json.loads(result.stdout)["cases"] if c["problems"]]
    assert [c["id"] for c in flagged] == [f"{attached}/evidence-001.sops.json"]
    assert flagged[0]["recused_recipients"] == ["carol"]
