"""History only grows: a recused member with push access rewrites history; CI (`check
--since`) flags the push, `sync` in an honest clone refuses it and changes nothing, and the
attacker reads nothing written after the recusal.

Each scenario: a bare remote, the attacker's clone (bob, recused from the case after reading
it) and an honest clone (alice). Real sops, real age keys, real git.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import SENTINEL, git, snapshot
from tests.keyaccess import raw_sops_decrypt
from tests.shared_repo import attacker_and_honest_clones


@pytest.fixture
def world(repo: Path, run, keys, open_case, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(case id, attacker clone, honest clone): bob read the case, then alice recused him."""
    case_id = open_case()
    attacker, honest = attacker_and_honest_clones(repo, tmp_path, run, keys)
    ok(run("-C", str(honest), "recuse", case_id, "bob", "--reason", "conflict-of-interest",
           as_member=keys["alice"]))
    ok(run("-C", str(honest), "sync", as_member=keys["alice"]))
    git(attacker, "pull", "--quiet", "--ff-only")
    return case_id, attacker, honest


def ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stderr
    return result


def push(clone: Path, message: str) -> str:
    """Commit everything as the attacker (no hook) and push; returns the remote's tip before."""
    before = git(clone, "rev-parse", "HEAD").strip()
    git(clone, "add", "--all")
    git(clone, "commit", "--no-verify", "-qm", message)
    git(clone, "push", "--quiet", "origin", "HEAD")
    return before


def codes(run, clone: Path, since: str) -> set[str]:  # type: ignore[no-untyped-def]
    """`check --since` as CI runs it on the pushed range: exit 1 and the codes found."""
    git(clone, "pull", "--quiet", "--ff-only")
    result = run("-C", str(clone), "check", "--since", since, "--json")
    assert result.exit_code == 1, result.stdout
    return {p["code"] for p in json.loads(result.stdout)["problems"]}


def refused_by_sync(run, honest: Path, keys, code: str) -> None:  # type: ignore[no-untyped-def]
    """The honest member's sync names the break, and the clone is exactly as it was."""
    before, tracking = snapshot(honest), git(honest, "rev-parse", "origin/main")
    result = run("-C", str(honest), "sync", as_member=keys["alice"])
    assert result.exit_code == 1, result.stdout
    assert code in result.stderr and "changed nothing" in result.stderr
    assert snapshot(honest) == before
    assert git(honest, "rev-parse", "origin/main") == tracking


def locked_out(run, honest: Path, keys, case_id: str) -> None:  # type: ignore[no-untyped-def]
    """After the honest member's routine commands, bob cannot decrypt what they wrote."""
    ok(run("-C", str(honest), "note", case_id, "-m", f"called the reporter {SENTINEL}",
           as_member=keys["alice"]))
    case = honest / "cases" / f"{case_id}.yaml"
    assert raw_sops_decrypt(case, keys["bob"]).returncode == 128
    for evidence in (honest / "cases" / case_id).glob("*.json"):
        assert raw_sops_decrypt(evidence, keys["bob"]).returncode == 128


def meta_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["meta"]


def edit_plaintext(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Edit the plaintext meta lines of a sops file as a text editor would."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(change(line) for line in lines))


# --- 1. rollback ------------------------------------------------------------------------


def test_a_rollback_pushed_as_a_note_is_flagged_refused_and_locks_nobody_in(world, run, keys):
    case_id, attacker, honest = world
    file = f"cases/{case_id}.yaml"
    (attacker / file).write_bytes(subprocess.run(
        ["git", "-C", str(attacker), "show", f"HEAD~1:{file}"], capture_output=True,
        check=True).stdout)
    since = push(attacker, f"note on {case_id}")
    found = codes(run, attacker, since)
    assert {"history-revision", "history-rollback", "history-recusal-dropped"} <= found
    refused_by_sync(run, honest, keys, "history-revision")
    locked_out(run, honest, keys, case_id)


# --- 4. silenced deadlines, skewed report --------------------------------------------------


@pytest.mark.parametrize(("field", "value", "code"), [
    ("respond_by", "2027-12-31T00:00:00Z", "history-fixed-field"),
    ("received_at", "2025-01-01T00:00:00Z", "history-fixed-field"),
    ("status", "dismissed", "history-meta-edited"),
])
def test_a_plaintext_meta_edit_is_flagged_and_refused(world, run, keys, field, value, code):
    case_id, attacker, honest = world
    path = attacker / "cases" / f"{case_id}.yaml"
    revision = meta_of(path)["revision"]

    def change(line: str) -> str:
        if line.startswith(f"    {field}:"):
            return f"    {field}: '{value}'\n"
        if line.startswith("    revision:"):  # the attacker counts the write, as cocflow would
            return f"    revision: {revision + 1}\n"
        return line

    edit_plaintext(path, change)
    assert meta_of(path)[field] == value
    since = push(attacker, f"move {case_id}")
    assert code in codes(run, attacker, since)
    refused_by_sync(run, honest, keys, code)
    locked_out(run, honest, keys, case_id)


def test_a_deleted_case_is_flagged_and_refused(world, run, keys):
    case_id, attacker, honest = world
    git(attacker, "rm", "-q", f"cases/{case_id}.yaml")
    since = push(attacker, f"close {case_id}")
    assert "history-deleted" in codes(run, attacker, since)
    refused_by_sync(run, honest, keys, "history-deleted")


def test_weakened_settings_are_flagged(world, run, keys):
    case_id, attacker, _honest = world
    config = attacker / "cocflow.yaml"
    config.write_text(config.read_text().replace("report_min_count: 3", "report_min_count: 1")
                      .replace("response_days: 14", "response_days: 300"))
    since = push(attacker, "settings")
    assert {"setting-weak", "setting-changed"} <= codes(run, attacker, since)
    result = run("-C", str(attacker), "report", "--year", case_id[:4], as_member=keys["alice"])
    assert result.exit_code == 2 and "--allow-small-counts" in result.stderr


# --- 5. plaintext outside cases/ -------------------------------------------------------------


def test_plaintext_outside_cases_is_flagged_by_check_and_refused_by_sync(world, run, keys):
    _case_id, attacker, honest = world
    (attacker / "report.yaml").write_text(f"report: {SENTINEL}\n")
    git(attacker, "add", "-f", "report.yaml")  # past .gitignore, as an attacker would
    since = push(attacker, "notes")
    assert "file-not-allowed" in codes(run, attacker, since)
    refused_by_sync(run, honest, keys, "file-not-allowed")


def test_a_file_the_tip_allows_is_no_finding_in_commits_made_before_it_was_allowed(
        repo, run):
    since = git(repo, "rev-parse", "HEAD").strip()
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.md").write_text("How we work\n")
    git(repo, "add", "docs")
    git(repo, "commit", "-qm", "a guide", "--no-verify")  # a branch begun before `allow`
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text() + "allow: [docs/]\n")
    git(repo, "commit", "-qam", "allow docs", "--no-verify")
    result = run("-C", str(repo), "check", "--json", "--since", since)
    found = [p["code"] for p in json.loads(result.stdout)["problems"]]
    assert found == ["setting-changed"]  # the change of `allow` is named; the guide is not


def test_a_broken_team_yaml_where_the_range_starts_does_not_switch_history_off(world, run):
    case_id, attacker, _honest = world
    path = f"cases/{case_id}.yaml"
    first = git(attacker, "log", "--format=%H", "--", path).split()[-1]
    (attacker / "team.yaml").write_text("members: [broken\n")
    git(attacker, "commit", "--no-verify", "-qam", "break the roster")
    since = git(attacker, "rev-parse", "HEAD").strip()
    git(attacker, "checkout", "--quiet", first, "--", path)  # the version before the recusal
    git(attacker, "commit", "--no-verify", "-qm", f"note on {case_id}")
    result = run("-C", str(attacker), "check", "--json", "--since", since)
    assert "history-rollback" in {p["code"] for p in json.loads(result.stdout)["problems"]}


def test_the_hook_refuses_a_report_saved_into_the_repository(repo, run, keys):
    (repo / "notes.eml").write_text(f"From: {SENTINEL}\n")
    git(repo, "add", "-f", "notes.eml")
    refused = subprocess.run(["git", "-C", str(repo), "commit", "-qm", "notes"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "file-not-allowed" in refused.stderr + refused.stdout


def test_init_ignores_emails_reports_and_swap_files(repo):
    ignored = (repo / ".gitignore").read_text().splitlines()
    assert {"*.eml", "report*.yaml", "*.swp"} <= set(ignored)


# --- legitimate histories ---------------------------------------------------------------------


def test_notes_from_two_clones_merged_pass_the_history_check(world, run, keys):
    case_id, _attacker, honest = world
    third = honest.parent / "carol-clone"
    subprocess.run(["git", "clone", "--quiet", str(honest.parent / "remote.git"), str(third)],
                   check=True)
    ok(run("-C", str(honest), "sync", as_member=keys["alice"]))
    start = git(honest, "rev-parse", "HEAD").strip()
    git(third, "pull", "--quiet")
    ok(run("-C", str(third), "note", case_id, "-m", "from carol", as_member=keys["carol"]))
    ok(run("-C", str(honest), "note", case_id, "-m", "from alice", as_member=keys["alice"]))
    ok(run("-C", str(third), "sync", as_member=keys["carol"]))
    ok(run("-C", str(honest), "sync", "--merge", as_member=keys["alice"]))
    ok(run("-C", str(honest), "rekey", as_member=keys["alice"]))
    ok(run("-C", str(honest), "check", "--since", start))


# --- 2. evidence moved between cases -----------------------------------------------------------


@pytest.fixture
def moved(world, run, keys, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Bob copies evidence of the case he is recused from into a case he reads, and pushes."""
    case_id, attacker, honest = world
    secret = tmp_path / "screenshot.png"
    secret.write_bytes(f"evidence {SENTINEL}".encode())
    ok(run("-C", str(honest), "attach", case_id, str(secret), as_member=keys["alice"]))
    other = json.loads(ok(run("-C", str(honest), "new", "--from", "-", "--json",
                              input=yaml.safe_dump({"report": _report()}),
                              as_member=keys["alice"])).stdout)["id"]
    ok(run("-C", str(honest), "sync", as_member=keys["alice"]))
    git(attacker, "pull", "--quiet", "--ff-only")
    source = attacker / "cases" / case_id / "evidence-001.sops.json"
    target = attacker / "cases" / other / "evidence-001.sops.json"
    target.parent.mkdir()
    target.write_bytes(source.read_bytes())
    since = push(attacker, f"attach evidence to {other}")
    return case_id, other, attacker, honest, since


def _report() -> dict:
    return yaml.safe_load(__import__("tests.conftest", fromlist=["report_yaml"])
                          .report_yaml())["report"]


def test_moved_evidence_is_flagged_by_check_and_refused_by_sync(moved, run, keys):
    _case_id, _other, attacker, honest, since = moved
    assert "history-evidence" in codes(run, attacker, since)
    refused_by_sync(run, honest, keys, "history-evidence")


def test_moved_evidence_that_reaches_a_clone_is_never_re_encrypted(moved, run, keys):
    _case_id, other, _attacker, honest, _since = moved
    git(honest, "pull", "--quiet", "--ff-only")  # past sync, as plain git would
    foreign = honest / "cases" / other / "evidence-001.sops.json"
    before = foreign.read_bytes()
    ok(run("-C", str(honest), "note", other, "-m", "routine", as_member=keys["alice"]))
    run("-C", str(honest), "rekey", as_member=keys["alice"])
    assert foreign.read_bytes() == before
    assert raw_sops_decrypt(foreign, keys["bob"]).returncode == 128
    verified = run("-C", str(honest), "verify", "--json", as_member=keys["alice"])
    assert verified.exit_code == 1
    assert "evidence-unlisted" in {p["code"] for p in json.loads(verified.stdout)["failed"]}
    listed = run("-C", str(honest), "evidence", other, as_member=keys["alice"])
    assert listed.exit_code == 1 and "evidence-001.sops.json" in listed.stderr
    assert "No evidence" in listed.stdout


def test_evidence_replaced_by_another_cases_file_is_refused_on_read_and_write(
        world, run, keys, tmp_path):
    case_id, _attacker, honest = world
    for n, name in enumerate(("a.png", "b.png")):
        (tmp_path / name).write_bytes(f"{n} {SENTINEL}".encode())
    ok(run("-C", str(honest), "attach", case_id, str(tmp_path / "a.png"),
           as_member=keys["alice"]))
    other = json.loads(ok(run("-C", str(honest), "new", "--from", "-", "--json",
                              input=yaml.safe_dump({"report": _report()}),
                              as_member=keys["alice"])).stdout)["id"]
    ok(run("-C", str(honest), "attach", other, str(tmp_path / "b.png"),
           as_member=keys["alice"]))
    mine = honest / "cases" / other / "evidence-001.sops.json"
    mine.write_bytes((honest / "cases" / case_id / "evidence-001.sops.json").read_bytes())
    git(honest, "commit", "--no-verify", "-qam", "swap")
    out = tmp_path / "out.png"
    read = run("-C", str(honest), "evidence", other, "1", "--out", str(out),
               as_member=keys["alice"])
    assert read.exit_code == 1 and "another case" in read.stderr and not out.exists()
    head = git(honest, "rev-parse", "HEAD")
    recused = run("-C", str(honest), "recuse", other, "carol", "--reason", "other",
                  as_member=keys["alice"])
    assert recused.exit_code == 1 and "another case" in recused.stderr
    assert git(honest, "rev-parse", "HEAD") == head


# --- 3. forged meta and a fake recipient stanza ------------------------------------------------


def test_forged_meta_and_recipient_stanza_are_flagged_and_steer_nothing(world, run, keys,
                                                                        tmp_path):
    case_id, attacker, honest = world
    (tmp_path / "x.png").write_bytes(SENTINEL.encode())
    ok(run("-C", str(honest), "attach", case_id, str(tmp_path / "x.png"),
           as_member=keys["alice"]))
    ok(run("-C", str(honest), "sync", as_member=keys["alice"]))
    git(attacker, "pull", "--quiet", "--ff-only")
    path = attacker / "cases" / f"{case_id}.yaml"
    document = yaml.safe_load(path.read_text())
    document["meta"]["recused"] = []
    document["meta"]["revision"] += 1
    stanza = dict(document["sops"]["age"][0])
    document["sops"]["age"].append({**stanza, "recipient": keys["bob"].public})
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    since = push(attacker, f"note on {case_id}")
    assert {"history-recusal-dropped", "history-meta-edited"} <= codes(run, attacker, since)
    refused_by_sync(run, honest, keys, "history-recusal-dropped")
    git(honest, "pull", "--quiet", "--ff-only")  # past sync, as plain git would
    head = git(honest, "rev-parse", "HEAD")
    # rekey plans nothing from the forged plaintext; a write decrypts first and stops.
    assert run("-C", str(honest), "rekey", as_member=keys["alice"]).exit_code in (0, 1)
    noted = run("-C", str(honest), "note", case_id, "-m", "routine", as_member=keys["alice"])
    assert noted.exit_code == 1 and "integrity check" in noted.stderr
    assert git(honest, "rev-parse", "HEAD") == head
    for evidence in (honest / "cases" / case_id).glob("*.json"):
        assert raw_sops_decrypt(evidence, keys["bob"]).returncode == 128


def test_a_new_member_shared_in_and_a_rekey_pass_the_history_check(repo, run, keys,
                                                                   open_case, tmp_path):
    case_id = open_case()
    (tmp_path / "shot.png").write_bytes(SENTINEL.encode())
    ok(run("-C", str(repo), "attach", case_id, str(tmp_path / "shot.png"),
           as_member=keys["alice"]))
    start = git(repo, "rev-parse", "HEAD").strip()
    ok(run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public))
    ok(run("-C", str(repo), "share", case_id, "dave", "--yes", as_member=keys["alice"]))
    ok(run("-C", str(repo), "team", "remove", "carol"))
    ok(run("-C", str(repo), "rekey", as_member=keys["alice"]))
    for evidence in (repo / "cases" / case_id).glob("*.json"):
        assert raw_sops_decrypt(evidence, keys["dave"]).returncode == 0
        assert raw_sops_decrypt(evidence, keys["carol"]).returncode == 128
    checked = run("-C", str(repo), "check", "--since", start)
    assert checked.exit_code == 0, checked.stdout


def test_the_hook_refuses_a_rollback_before_it_is_committed(repo, run, keys, open_case):
    case_id = open_case()
    ok(run("-C", str(repo), "note", case_id, "-m", "one", as_member=keys["alice"]))
    file = f"cases/{case_id}.yaml"
    git(repo, "checkout", "HEAD~1", "--", file)
    refused = subprocess.run(["git", "-C", str(repo), "commit", "-qm", f"note on {case_id}"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "history-revision" in refused.stdout + refused.stderr


@pytest.mark.parametrize("option", ["--from", "--from-email"])
def test_new_refuses_an_input_file_inside_the_repository(repo, run, keys, unchanged, option):
    inside = repo / "cases" / "intake.txt"
    inside.write_text(f"report: {SENTINEL}\n")
    try:
        result = run("-C", str(repo), "new", option, str(inside), as_member=keys["alice"])
    finally:
        inside.unlink()
    assert result.exit_code == 2 and "inside the case repository" in result.stderr
    assert SENTINEL not in result.stdout + result.stderr
