"""Whole cases through the CLI with real sops and git: moves, notes, edit, due."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import SENTINEL, assert_no_leak, git


@pytest.fixture
def case_id(open_case, monkeypatch) -> str:
    monkeypatch.setenv("COCFLOW_NOW", "2026-11-20T10:00:00Z")
    return open_case()


def show(run, repo, case_id, key) -> dict:
    result = run("-C", str(repo), "show", case_id, "--json", as_member=key)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def step(run, repo, key, *args: str):
    result = run("-C", str(repo), *args, as_member=key)
    assert result.exit_code == 0, result.stderr
    return result


def test_a_whole_case_from_received_to_reopened(repo, run, keys, case_id):
    alice = keys["alice"]
    moved = step(run, repo, alice, "move", case_id, "acknowledged", "-m", "replied")
    assert "next: investigating, or dismissed" in moved.stderr
    assert "clock has stopped" in moved.stdout
    step(run, repo, alice, "move", case_id, "investigating")
    step(run, repo, keys["bob"], "note", case_id, "--event", "contacted-reported", "-m",
         f"emailed {SENTINEL}")
    step(run, repo, alice, "move", case_id, "decided", "--outcome", "warning", "--outcome",
         "correction", "--rationale", f"repeated {SENTINEL}")
    step(run, repo, alice, "move", case_id, "closed")
    step(run, repo, alice, "move", case_id, "investigating", "-m", "new information")
    case = show(run, repo, case_id, keys["carol"])
    events = [e["event"] for e in case["timeline"]]
    assert events == ["received", "acknowledged", "investigating", "contacted-reported",
                      "decided", "closed", "reopened"]
    assert [d["outcomes"] for d in case["decisions"]] == [["warning", "correction"]]
    assert case["meta"]["status"] == "investigating" and case["meta"]["closed_at"] is None
    messages = git(repo, "log", "--format=%s").splitlines()
    assert messages[0] == f"move {case_id}: closed -> investigating"
    # The event kind is encrypted content (the reported person was contacted): a keyless
    # reader of the history must not learn it from the commit message either.
    assert f"note on {case_id}" in messages
    assert not any("contacted" in message for message in messages)
    assert_no_leak(repo)


def test_the_first_response_time_comes_from_cocflow_now(repo, run, keys, case_id):
    run("-C", str(repo), "move", case_id, "acknowledged", as_member=keys["alice"],
        env={"COCFLOW_NOW": "2026-11-22T08:00:00Z"})
    meta = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]
    assert meta["responded_at"] == "2026-11-22T08:00:00Z"


def test_a_dismissal_records_the_reason_and_the_response(repo, run, keys, case_id):
    step(run, repo, keys["alice"], "move", case_id, "dismissed", "--reason", "reverse-ism",
         "-m", "not acted on under the CoC")
    case = show(run, repo, case_id, keys["bob"])
    assert case["dismissal"]["reason"] == "reverse-ism"
    assert case["meta"]["responded_at"] is not None


def test_deciding_with_skip_contact(repo, run, keys, case_id):
    for target in ("acknowledged", "investigating"):
        step(run, repo, keys["alice"], "move", case_id, target)
    step(run, repo, keys["alice"], "move", case_id, "decided", "--outcome", "permanent-ban",
         "--rationale", "r", "--skip-contact", "safety")
    [decision] = show(run, repo, case_id, keys["bob"])["decisions"]
    assert decision["contact_skipped_reason"] == "safety"


def test_naming_the_reporter_without_consent_is_refused_and_changes_nothing(repo, run, keys,
                                                                            case_id):
    for target in ("acknowledged", "investigating"):
        step(run, repo, keys["alice"], "move", case_id, target)
    step(run, repo, keys["alice"], "note", case_id, "--event", "contacted-reported", "-m", "x")
    head = git(repo, "rev-parse", "HEAD")
    result = run("-C", str(repo), "move", case_id, "decided", "--outcome", "warning",
                 "--rationale", "r", "--reporter-named", as_member=keys["alice"])
    assert result.exit_code == 2 and "consent" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head


def test_an_illegal_move_names_the_legal_ones_and_commits_nothing(repo, run, keys, case_id):
    head = git(repo, "rev-parse", "HEAD")
    result = run("-C", str(repo), "move", case_id, "closed", as_member=keys["alice"])
    assert result.exit_code == 2
    assert "acknowledged" in result.stderr and "dismissed" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head


def test_an_unknown_state_or_reason_lists_the_valid_ones(repo, run, keys, case_id):
    result = run("-C", str(repo), "move", case_id, "limbo", as_member=keys["alice"])
    assert result.exit_code == 2 and "acknowledged" in result.stderr
    result = run("-C", str(repo), "move", case_id, "dismissed", "--reason", "meh",
                 as_member=keys["alice"])
    assert result.exit_code == 2 and "boundary-setting" in result.stderr


def test_a_case_changed_on_disk_is_refused_with_exit_4(repo, run, keys, case_id):
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text() + "# local change\n")
    result = run("-C", str(repo), "note", case_id, "-m", "x", as_member=keys["alice"])
    assert result.exit_code == 4
    assert "uncommitted" in result.stderr
    assert path.read_text().endswith("# local change\n")


def test_a_recused_member_cannot_move_the_case(repo, run, keys, open_case):
    case_id = open_case("--recuse", "carol")
    result = run("-C", str(repo), "move", case_id, "acknowledged", as_member=keys["carol"])
    assert result.exit_code == 3


def write_editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import sys, os, stat\npath = sys.argv[1]\n{body}\n")
    return f"{sys.executable} {script}"


def test_edit_changes_the_report_and_commits_once(repo, run, keys, case_id, tmp_path):
    record = tmp_path / "seen.txt"
    editor = write_editor(tmp_path, (
        "text = open(path).read()\n"
        f"open({str(record)!r}, 'w').write(oct(stat.S_IMODE(os.stat(path).st_mode)) + ' ' + "
        "oct(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)) + ' ' + path)\n"
        "open(path, 'w').write(text.replace('space: online', 'space: event'))"
    ))
    before = int(git(repo, "rev-list", "--count", "HEAD"))
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert int(git(repo, "rev-list", "--count", "HEAD")) == before + 1
    assert show(run, repo, case_id, keys["bob"])["report"]["space"] == "event"
    file_mode, dir_mode, path = record.read_text().split()
    assert (file_mode, dir_mode) == ("0o600", "0o700")
    assert not Path(path).exists() and not Path(path).parent.exists()
    if Path("/dev/shm").is_dir():
        assert path.startswith("/dev/shm/")
    assert_no_leak(repo)


def test_edit_that_adds_a_reported_member_recuses_them(repo, run, keys, case_id, tmp_path):
    editor = write_editor(tmp_path, (
        "text = open(path).read()\n"
        "open(path, 'w').write(text.replace('team_handle: null', 'team_handle: carol'))"
    ))
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert "carol" in result.stdout
    assert run("-C", str(repo), "show", case_id, as_member=keys["carol"]).exit_code == 3


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("status: received", "status: closed"), "meta"),
        (("channel: email", "channel: pigeon"), "channel: must be one of"),
        (("space: online", "space: [unclosed"), "YAML"),
    ],
)
def test_an_invalid_edit_without_a_terminal_is_exit_2_and_changes_nothing(
        repo, run, keys, case_id, tmp_path, replace, message):
    editor = write_editor(tmp_path, (
        f"text = open(path).read()\nopen(path, 'w').write(text.replace{replace!r})"
    ))
    head = git(repo, "rev-parse", "HEAD")
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and SENTINEL not in result.stderr
    assert result.stderr.count("\n") == 1
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_an_edit_with_no_change_commits_nothing(repo, run, keys, case_id, tmp_path):
    editor = write_editor(tmp_path, "pass")
    head = git(repo, "rev-parse", "HEAD")
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0 and "No changes" in result.stdout
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_failing_editor_removes_the_private_copy(repo, run, keys, case_id, tmp_path):
    record = tmp_path / "path.txt"
    editor = write_editor(tmp_path, f"open({str(record)!r}, 'w').write(path)\nsys.exit(3)")
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 2
    assert not Path(record.read_text()).parent.exists()


def test_an_interrupted_editor_removes_the_private_copy(repo, run, keys, case_id, tmp_path):
    record = tmp_path / "path.txt"
    editor = write_editor(tmp_path, (
        f"open({str(record)!r}, 'w').write(path)\n"
        "import signal\nos.kill(os.getppid(), signal.SIGINT)\nimport time\ntime.sleep(0.5)"
    ))
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 130
    assert not Path(record.read_text()).parent.exists()
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-25T10:00:00Z", []),                       # before the warning window
        ("2026-12-02T10:00:00Z", [(2, False)]),             # inside it
        ("2026-12-06T10:00:00Z", [(-2, True)]),             # overdue
    ],
)
def test_due_around_the_deadline(repo, run, case_id, now, expected):
    result = run("-C", str(repo), "due", "--json", env={"COCFLOW_NOW": now})
    found = json.loads(result.stdout)
    assert [(d["days_left"], d["overdue"]) for d in found] == expected
    assert all(d["id"] == case_id and d["respond_by"] == "2026-12-04T10:00:00Z" for d in found)


def test_due_after_acknowledgement_is_empty(repo, run, keys, case_id):
    step(run, repo, keys["alice"], "move", case_id, "acknowledged")
    result = run("-C", str(repo), "due", "--json", env={"COCFLOW_NOW": "2026-12-06T10:00:00Z"})
    # Answered: off the response list (only the acknowledge_days stage deadline remains).
    assert [i for i in json.loads(result.stdout) if "stage" not in i] == []


def test_due_table_flags_overdue_and_needs_no_key(repo, run, case_id):
    result = run("-C", str(repo), "due", env={"COCFLOW_NOW": "2026-12-06T10:00:00Z",
                                              "SOPS_AGE_KEY_FILE": "/nonexistent"})
    assert result.exit_code == 0
    assert "OVERDUE" in result.stdout and SENTINEL not in result.stdout


def test_due_within_widens_the_window(repo, run, case_id):
    result = run("-C", str(repo), "due", "--within", "14", "--json",
                 env={"COCFLOW_NOW": "2026-11-21T10:00:00Z"})
    assert [d["days_left"] for d in json.loads(result.stdout)] == [13]


def test_show_has_a_status_line_with_the_deadline(repo, run, keys, case_id):
    out = run("-C", str(repo), "show", case_id, as_member=keys["alice"],
              env={"COCFLOW_NOW": "2026-12-06T10:00:00Z"}).stdout
    assert "received 16 day(s) ago" in out and "OVERDUE by 2 day(s)" in out


def test_file_modes_unchanged_for_committed_cases(repo, case_id):
    mode = stat.S_IMODE((repo / "cases" / f"{case_id}.yaml").stat().st_mode)
    assert mode & 0o077 in (0o044, 0o004, 0o040, 0)
    assert os.access(repo / "cases" / f"{case_id}.yaml", os.R_OK)
