"""Interactive `new`: each answer checked as typed, asked again, nothing typed lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import cocflow.cli.cases

DESCRIBE = """\
import os, stat, sys
path = sys.argv[-1]
open({record!r}, "w").write(path + " " + oct(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)))
open(path, "a").write("He followed me to the hotel.\\n")
"""

ANSWERS = "\n".join([
    "Followed after the meetup",  # title
    "email",                       # channel
    "n",                           # anonymous?
    "Zoe", "zoe@example.org",      # reporter
    "Someone", "", "",             # reported person, contact, handle
    "yesterday evening",           # refused: not a timestamp
    "2026-11-18T20:00:00Z",
    "moon",                        # refused: not a space
    "event",
    "",                            # location
    "stalking,harassment",         # refused: harassment is not a category
    "stalking,intimidation",
    "n", "n",                      # consent
]) + "\n"


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(cocflow.cli.cases, "stdin_is_terminal", lambda: True)


def test_each_answer_is_checked_and_asked_again(repo, run, keys, tmp_path, terminal):
    record = tmp_path / "editor.txt"
    script = tmp_path / "describe.py"
    script.write_text(DESCRIBE.format(record=str(record)))
    result = run("-C", str(repo), "new", input=ANSWERS, as_member=keys["alice"],
                 env={"EDITOR": f"{sys.executable} {script}",
                      "COCFLOW_NOW": "2026-11-20T12:00:00Z"})
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "e.g. 2026-11-18T20:00:00Z" in result.stderr
    assert "one of online, event, social, outside" in result.stderr
    assert "unknown: harassment; choose from offensive-comments" in result.stderr
    shown = json.loads(run("-C", str(repo), "show", "2026-0001", "--json",
                           as_member=keys["alice"]).stdout)
    report = shown["report"]
    assert report["title"] == "Followed after the meetup"
    assert report["occurred_at"] == "2026-11-18T20:00:00Z"
    assert report["space"] == "event"
    assert report["categories"] == ["stalking", "intimidation"]
    assert report["reporter"]["name"] == "Zoe"
    assert report["description"] == "He followed me to the hotel."
    path, mode = record.read_text().split()
    assert mode == "0o700" and not Path(path).parent.exists()
    if Path("/dev/shm").is_dir():
        assert path.startswith("/dev/shm/")


def test_new_recuse_takes_a_reason_and_a_note(repo, run, keys):
    from tests.conftest import report_yaml

    result = run("-C", str(repo), "new", "--from", "-", "--recuse", "carol",
                 "--recuse-reason", "reporter-request", "--recuse-note", "asked by phone", "--json",
                 input=report_yaml(), as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    case_id = json.loads(result.stdout)["id"]
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["alice"]).stdout)
    (recusal,) = shown["recusals"]
    assert recusal["handle"] == "carol" and recusal["reason"] == "reporter-request"
    assert recusal["note"] == "asked by phone"


def test_a_recuse_reason_without_recuse_is_refused(repo, run, keys, unchanged):
    result = run("-C", str(repo), "new", "--from", "-", "--recuse-reason", "other",
                 input="report: {}", as_member=keys["alice"])
    assert result.exit_code == 2 and "go with --recuse" in result.stderr
