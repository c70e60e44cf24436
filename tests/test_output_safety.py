"""Output that cannot be hijacked: report text and pushed meta never drive the terminal."""

from __future__ import annotations

import json

import pytest

from cocflow.domain.deadlines import DueCase
from cocflow.domain.display import INVALID, neutralise, shown_meta
from cocflow.operations.notify import issue_body, summary
from tests.conftest import git

# OSC title write, OSC 52 clipboard write, clear-screen, CSI as one C1 byte, a carriage
# return that overwrites the line, hidden text, a right-to-left override.
HOSTILE = ("\x1b]0;pwned\x07\x1b]52;c;Y3VybCBldmls\x07\x1b[2J\x9b31m\rfake line\x1b[8mhidden"
           "\u202eevil\u2066")
DANGEROUS = ("\x1b", "\x07", "\x9b", "\r", "\u202e", "\u2066")


def assert_inert(text: str) -> None:
    for char in DANGEROUS:
        assert char not in text, repr(char)


def test_neutralise_shows_every_control_and_bidi_character_escaped():
    shown = neutralise(HOSTILE)
    assert_inert(shown)
    assert "\\x1b]0;pwned\\x07" in shown and "\\u202eevil" in shown and "\\x9b" in shown
    assert neutralise("line one\n\tline two") == "line one\n\tline two"
    assert neutralise("a\nb", lines=False) == "a\\x0ab"
    assert neutralise("Zoë Ünal 日本") == "Zoë Ünal 日本"


def test_meta_values_off_their_pattern_are_never_shown():
    meta = {"id": "2026-0001\x1b[2J", "status": "closed\u202e", "received_at": "x",
            "respond_by": "2026-11-20T10:00:00Z", "recused": ["bob", "ev\x1bil"]}
    shown = shown_meta(meta)
    assert shown["id"] == shown["status"] == shown["received_at"] == INVALID
    assert shown["respond_by"] == "2026-11-20T10:00:00Z"
    assert shown["recused"] == ["bob", INVALID]


def test_show_neutralises_report_text(repo, run, keys, open_case):
    case_id = open_case(title=f"Title {HOSTILE}", description=f"Text\n{HOSTILE}\nmore",
                        location=HOSTILE)
    shown = run("-C", str(repo), "show", case_id, as_member=keys["alice"])
    assert shown.exit_code == 0, shown.stderr
    assert_inert(shown.stdout)
    assert "\\x1b]0;pwned" in shown.stdout
    first = shown.stdout.splitlines()[0]
    assert first.startswith(f"Case {case_id}: Title ") and "fake line" in first


def test_json_output_escapes_c1_and_bidi_and_keeps_the_value(repo, run, keys, open_case):
    case_id = open_case(title=f"Title {HOSTILE}")
    shown = run("-C", str(repo), "show", case_id, "--json", as_member=keys["alice"])
    assert_inert(shown.stdout)
    assert json.loads(shown.stdout)["report"]["title"] == f"Title {HOSTILE}"


def test_list_and_due_never_print_pushed_meta_raw(repo, run, keys, open_case):
    case_id = open_case()
    path = repo / "cases" / f"{case_id}.yaml"
    text = path.read_text()
    forged = text.replace("status: received", 'status: "received\\e]0;pwned\\a"', 1)
    forged = forged.replace("recused: []", 'recused: ["x\\e[2J"]', 1)
    assert forged != text
    path.write_text(forged)
    git(repo, "commit", "-qnam", "pushed by someone")
    listed = run("-C", str(repo), "list")
    assert listed.exit_code == 0, listed.stderr
    assert_inert(listed.stdout + listed.stderr)
    assert INVALID in listed.stdout
    due = run("-C", str(repo), "due", "--within", "400")
    assert_inert(due.stdout + due.stderr)


def test_a_pushed_case_id_is_not_listed_by_due(repo, run, keys, open_case):
    case_id = open_case()
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text().replace(f"id: {case_id}", 'id: "2026-0001\\e[2J"', 1))
    due = run("-C", str(repo), "due", "--within", "400", "--json")
    assert json.loads(due.stdout) == []
    assert case_id in due.stderr and "\x1b" not in due.stderr


def test_error_messages_are_neutralised(repo, run, keys):
    result = run("-C", str(repo), "show", f"2026-0001{HOSTILE}", as_member=keys["alice"])
    assert result.exit_code != 0 and result.stderr.startswith("Error: ")
    assert_inert(result.stderr)


@pytest.mark.parametrize("bad", ["2026-0001 | *x* [a](http://e)", f"2026-0001{HOSTILE}"])
def test_notify_bodies_escape_markdown_slack_and_controls(bad):
    due = [DueCase(bad, "received_<b>", "2026-11-20T10:00:00Z", -2, True)]
    body, text = issue_body(due), summary(due)
    assert_inert(body + text)
    row = body.splitlines()[-3]
    assert row.count(" | ") == 3  # no cell split by a pushed `|`
    assert "[a](" not in body and "*x*" not in body
    assert "<b>" not in text and "*x*" not in text


def test_next_hints_go_to_stderr(repo, run, keys):
    from tests.conftest import report_yaml

    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(),
                 as_member=keys["alice"])
    assert result.exit_code == 0
    assert "next:" not in result.stdout and "next: " in result.stderr
