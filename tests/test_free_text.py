"""Free text never has to go on the command line: `-` reads stdin, the editor opens otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import SENTINEL, assert_no_leak

WRITER = """\
import os, stat, sys
path = sys.argv[-1]
mode = [oct(stat.S_IMODE(os.stat(p).st_mode)) for p in (path, os.path.dirname(path))]
open({record!r}, "a").write(path + " " + " ".join(mode) + "\\n")
with open(path, "a") as handle:
    handle.write({text!r})
"""


def writer(tmp_path: Path, text: str) -> tuple[str, Path]:
    record = tmp_path / "calls.txt"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(record=str(record), text=text))
    return f"{sys.executable} {script}", record


def timeline(run, repo, keys, case_id):
    shown = run("-C", str(repo), "show", case_id, "--json", as_member=keys["alice"])
    return json.loads(shown.stdout)


@pytest.fixture
def case_id(open_case) -> str:
    return open_case()


def test_note_reads_stdin(repo, run, keys, case_id):
    result = run("-C", str(repo), "note", case_id, "-m", "-", input=f"long words {SENTINEL}\n",
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert timeline(run, repo, keys, case_id)["timeline"][-1]["note"] == f"long words {SENTINEL}"


def test_note_without_text_opens_the_editor_on_a_private_copy(repo, run, keys, case_id,
                                                              tmp_path):
    editor, record = writer(tmp_path, f"said on the phone {SENTINEL}\n")
    result = run("-C", str(repo), "note", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert timeline(run, repo, keys, case_id)["timeline"][-1]["note"] == (
        f"said on the phone {SENTINEL}")
    path, file_mode, dir_mode = record.read_text().split()
    assert (file_mode, dir_mode) == ("0o600", "0o700")
    assert not Path(path).parent.exists()
    if Path("/dev/shm").is_dir():
        assert path.startswith("/dev/shm/")
    assert_no_leak(repo)


def test_note_without_text_nor_terminal_nor_editor_says_how(repo, run, keys, case_id):
    result = run("-C", str(repo), "note", case_id, as_member=keys["alice"])
    assert result.exit_code == 2
    assert "- to read it from stdin" in result.stderr


def test_an_empty_editor_text_cancels(repo, run, keys, case_id, tmp_path):
    editor, _ = writer(tmp_path, "")
    result = run("-C", str(repo), "note", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 2 and "nothing was changed" in result.stderr


def test_decision_rationale_and_skip_contact_in_the_editor(repo, run, keys, open_case,
                                                          tmp_path, monkeypatch):
    case_id = open_case()
    for args in (("acknowledged", "-m", "-"), ("investigating",)):
        assert run("-C", str(repo), "move", case_id, *args, input="replied",
                   as_member=keys["alice"]).exit_code == 0
    import cocflow.cli.common

    monkeypatch.setattr(cocflow.cli.common, "stdin_is_terminal", lambda: True)
    editor, record = writer(tmp_path, "written in the editor\n")
    result = run("-C", str(repo), "move", case_id, "decided", "--outcome", "warning",
                 "--skip-contact", "-", as_member=keys["alice"], env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert len(record.read_text().splitlines()) == 2  # the reason, then the rationale
    decision = timeline(run, repo, keys, case_id)["decisions"][-1]
    assert decision["rationale"] == "written in the editor"
    assert decision["contact_skipped_reason"] == "written in the editor"


def test_recuse_and_attach_notes_from_stdin_or_editor(repo, run, keys, case_id, tmp_path,
                                                      monkeypatch):
    result = run("-C", str(repo), "recuse", case_id, "carol", "--reason", "other", "-m", "-",
                 input="asked by phone", as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert timeline(run, repo, keys, case_id)["recusals"][-1]["note"] == "asked by phone"
    import cocflow.cli.common

    monkeypatch.setattr(cocflow.cli.common, "stdin_is_terminal", lambda: True)
    editor, _ = writer(tmp_path, "the message of 18 Nov\n")
    evidence = tmp_path / "shot.png"
    evidence.write_bytes(b"png")
    result = run("-C", str(repo), "attach", case_id, str(evidence), "-m", "-",
                 as_member=keys["alice"], env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert timeline(run, repo, keys, case_id)["evidence"][-1]["note"] == "the message of 18 Nov"


def test_void_without_reason_opens_the_editor(repo, run, keys, case_id, tmp_path):
    editor, _ = writer(tmp_path, "a duplicate\n")
    result = run("-C", str(repo), "void", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert timeline(run, repo, keys, case_id)["timeline"][-1]["note"] == "a duplicate"
