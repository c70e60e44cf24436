"""`edit` never loses work: an invalid edit reopens with every problem listed on top."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import git, snapshot

# Each call of the editor is one round: the script keeps what it saw and does the round's
# change. Round 1 makes two mistakes; round 2 does what the list of problems says.
EDITOR = """\
import json, sys
path, rounds, seen = sys.argv[1], {rounds!r}, {seen!r}
saw = json.load(open(seen)) if __import__("os").path.exists(seen) else []
text = open(path).read()
saw.append(text)
json.dump(saw, open(seen, "w"))
old, new = rounds[len(saw) - 1]
open(path, "w").write(new if old is None else text.replace(old, new))
"""


def editor(tmp_path: Path, rounds: list[tuple[str | None, str]]) -> tuple[str, Path]:
    seen = tmp_path / "seen.json"
    script = tmp_path / "editor.py"
    script.write_text(EDITOR.format(rounds=rounds, seen=str(seen)))
    return f"{sys.executable} {script}", seen


def edit(run, repo, keys, case_id, command):
    return run("-C", str(repo), "edit", case_id, "--json", as_member=keys["alice"],
               env={"EDITOR": command})


def test_an_invalid_edit_reopens_with_every_problem_on_top_until_fixed(repo, run, keys,
                                                                        open_case, tmp_path):
    case_id = open_case()
    command, seen = editor(tmp_path, [
        ("space: online", "space: moon\n  channel: pigeon"),
        ("space: moon\n  channel: pigeon", "space: event\n  channel: chat"),
    ])
    result = edit(run, repo, keys, case_id, command)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": case_id, "changed": True}
    first, second = json.loads(seen.read_text())
    assert not first.startswith("# This edit could not be saved")
    top = second.split("\n# Fix the case below")[0]
    assert top.startswith("# This edit could not be saved:")
    assert "channel: must be one of" in top and "space: " in top
    assert "more)" not in top
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["bob"]).stdout)
    assert shown["report"]["channel"] == "chat"


def test_emptying_the_file_cancels_and_changes_nothing(repo, run, keys, open_case, tmp_path):
    case_id = open_case()
    before = snapshot(repo)
    command, seen = editor(tmp_path, [("channel: email", "channel: pigeon"), (None, "")])
    result = edit(run, repo, keys, case_id, command)
    assert result.exit_code == 2 and "cancelled" in result.stderr
    assert len(json.loads(seen.read_text())) == 2
    assert snapshot(repo) == before


def test_a_broken_yaml_edit_keeps_what_was_typed(repo, run, keys, open_case, tmp_path):
    case_id = open_case()
    command, seen = editor(tmp_path, [
        ("location: null", "location: my own words here\n  witnesses: [unclosed"),
        ("\n  witnesses: [unclosed", ""),
    ])
    result = edit(run, repo, keys, case_id, command)
    assert result.exit_code == 0, result.stderr
    second = json.loads(seen.read_text())[1]
    assert "not valid YAML" in second and "my own words here" in second
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["bob"]).stdout)
    assert shown["report"]["location"] == "my own words here"
    assert git(repo, "status", "--porcelain") == ""


def test_long_text_is_shown_as_a_block_scalar(repo, run, keys, open_case, tmp_path):
    case_id = open_case(description="First line.\n\nSecond paragraph, 'quoted'.\n")
    command, seen = editor(tmp_path, [(None, "")])
    edit(run, repo, keys, case_id, command)
    (text,) = json.loads(seen.read_text())
    assert "description: |" in text
    assert "    First line.\n\n    Second paragraph, 'quoted'.\n" in text
