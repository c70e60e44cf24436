"""Case format 2 end to end: every value comes back exactly, a keyless reader learns nothing
but meta, recipients and a bucketed size, bad input changes nothing, the revision counts writes.

Everything real: the sops binary, age keys, git repositories.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocflow.adapters import sops, yamlio
from cocflow.adapters.sops import Keyring
from cocflow.domain import sealed, transparency
from cocflow.domain.transparency import facts_from_case
from cocflow.operations.workspace import Workspace, seal
from tests.conftest import SENTINEL, git, report_yaml, snapshot
from tests.shared_repo import cli, module_repo

# Strings two YAML parsers read differently (1.1 vs 1.2), or that any parser may trim.
AMBIGUOUS = [
    "1e3", "0o17", "0x10", "0b101", ".inf", "-.inf", ".nan", "-.5", "+1", "1_000", "1:20",
    "0", "-0", "00", "1.0", "yes", "no", "on", "off", "y", "n", "Y", "~", "null", "Null", "true",
    "False", "=", "<<", "2026-01-01", "2026-01-01T10:00:00Z", "12:30:00", " lead", "trail ",
    "\ttab", "a\nb", "\n", "line\r\nbreak", "#not a comment", "- item", "key: value", "[1, 2]",
    "{a: 1}", "&anchor", "*alias", "!tag", "%YAML", "@", "`", "'", '"', "\\", "☃", "😀",
    "\u200b", "\u2028", "\ufeff", "\x85", "\x00", "\x7f", "ENC[AES256_GCM,data:x]", "",
]
TEXT = st.one_of(
    st.sampled_from(AMBIGUOUS),
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(AMBIGUOUS), st.text(max_size=5)), min_size=2,
             max_size=5).map("".join),
)
NON_EMPTY = TEXT.filter(lambda s: 0 < len(s) <= 200)
OPTIONAL = st.one_of(st.none(), TEXT)
TIMESTAMP = st.one_of(st.none(), st.sampled_from(
    ["2026-01-01T00:00:00Z", "2025-02-28T23:59:59Z", "2026-11-18T20:00:00Z"]))
REPORTS = st.fixed_dictionaries({
    "title": NON_EMPTY,
    "channel": st.sampled_from(["email", "form", "in-person", "chat", "other"]),
    "reporter": st.fixed_dictionaries({"name": OPTIONAL, "contact": OPTIONAL,
                                       "anonymous": st.booleans()}),
    "reported": st.lists(st.fixed_dictionaries(
        {"name": OPTIONAL, "contact": OPTIONAL, "team_handle": st.none()}), max_size=2),
    "witnesses": st.lists(st.fixed_dictionaries({"name": OPTIONAL, "contact": OPTIONAL}),
                          max_size=2),
    "occurred_at": TIMESTAMP,
    "sent_at": TIMESTAMP,
    "space": st.sampled_from([None, "online", "event", "social", "outside"]),
    "location": OPTIONAL,
    "categories": st.lists(st.sampled_from(["stalking", "doxxing", "other", "outing"]),
                           unique=True, max_size=3),
    "description": NON_EMPTY,
    "consent": st.fixed_dictionaries({"name_reporter": st.booleans(),
                                      "share_with_reported": st.booleans(),
                                      "confidentiality_request": OPTIONAL}),
})
PROPERTY = settings(max_examples=15, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def exact(value: Any) -> str:
    """A rendering that tells `true` from `1` and `"1"` from `1`: equality of JSON texts."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


@pytest.fixture(scope="module")
def team(tmp_path_factory):  # type: ignore[no-untyped-def]
    with module_repo(tmp_path_factory.mktemp("format")) as made:
        yield made


def open_report(root: Path, key, report: dict) -> str:  # type: ignore[no-untyped-def]
    # libyaml's emitter (PyYAML's pure-Python one writes a raw U+0085 that reads back as a space)
    text = yamlio.dump({"report": report})
    result = cli("-C", str(root), "new", "--from", "-", "--json", input=text, key=key)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["id"]


def shown(root: Path, case_id: str, key) -> dict:  # type: ignore[no-untyped-def]
    result = cli("-C", str(root), "show", case_id, "--json", key=key)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# --- (1) every value comes back exactly ----------------------------------------------------


@PROPERTY
@given(report=REPORTS)
def test_any_schema_valid_report_comes_back_exactly_through_new_and_show(team, report):
    root, keys = team
    case_id = open_report(root, keys["alice"], report)
    assert exact(shown(root, case_id, keys["bob"])["report"]) == exact(report)


@pytest.fixture(scope="module")
def noted_case(team) -> str:  # type: ignore[no-untyped-def]
    root, keys = team
    return open_report(root, keys["alice"], yaml.safe_load(report_yaml())["report"])


@PROPERTY
@given(text=TEXT.filter(lambda s: s.strip() != ""))
def test_any_note_comes_back_exactly(team, noted_case, text):
    root, keys = team
    result = cli("-C", str(root), "note", noted_case, f"--message={text}", key=keys["alice"])
    assert result.exit_code == 0, result.stderr
    last = shown(root, noted_case, keys["carol"])["timeline"][-1]
    assert exact(last["note"]) == exact(text)


EDITOR = """\
import json, sys
from cocflow.adapters import yamlio
path = sys.argv[1]
case = yamlio.load(open(path, encoding="utf-8").read())
case["report"].update(json.load(open({values!r}, encoding="utf-8")))
open(path, "w", encoding="utf-8").write(yamlio.dump(case))
"""


@PROPERTY
@given(title=NON_EMPTY, description=NON_EMPTY, location=OPTIONAL, name=OPTIONAL)
def test_any_edit_comes_back_exactly(team, noted_case, tmp_path_factory, title, description,
                                     location, name):
    root, keys = team
    folder = tmp_path_factory.mktemp("editor")
    values = {"title": title, "description": description, "location": location,
              "reporter": {"name": name, "contact": None, "anonymous": False}}
    (folder / "values.json").write_text(json.dumps(values), encoding="utf-8")
    script = folder / "editor.py"
    script.write_text(EDITOR.format(values=str(folder / "values.json")), encoding="utf-8")
    before = shown(root, noted_case, keys["alice"])
    result = invoke_with_editor(root, noted_case, keys["alice"], f"{sys.executable} {script}")
    assert result.exit_code == 0, result.stderr
    after = shown(root, noted_case, keys["alice"])
    expected = {**before["report"], **values}
    assert exact(after["report"]) == exact(expected)


def invoke_with_editor(root: Path, case_id: str, key, editor: str):  # type: ignore[no-untyped-def]
    from tests.conftest import invoke_cli

    return invoke_cli(("-C", str(root), "edit", case_id),
                      {"SOPS_AGE_KEY_FILE": str(key.file), "EDITOR": editor})


# --- (2) a keyless reader learns nothing from the ciphertext -------------------------------


EVENT = {"at": "2026-11-21T10:00:00Z", "by": "alice", "event": "note", "note": "short note"}
DECISION = {"outcomes": ["warning"], "rationale": "r", "decided_at": "2026-11-25T10:00:00Z",
            "decided_by": "alice", "reporter_named": False, "contact_skipped_reason": None}


def baseline() -> dict[str, Any]:
    """A full case: every field set, so that each variant changes exactly one value."""
    return {
        "meta": {"format": 2, "id": "2026-0500", "revision": 0, "status": "decided",
                 "received_at": "2026-11-20T10:00:00Z", "respond_by": "2026-12-04T10:00:00Z",
                 "responded_at": "2026-11-21T10:00:00Z", "closed_at": None, "recused": ["carol"]},
        "report": {
            "title": "A title", "channel": "email",
            "reporter": {"name": "R", "contact": "r@example.org", "anonymous": False},
            "reported": [{"name": "P", "contact": None, "team_handle": None}],
            "witnesses": [], "occurred_at": "2026-11-18T20:00:00Z", "sent_at": None,
            "space": "online", "location": "somewhere", "categories": ["stalking"],
            "description": "What happened.",
            "consent": {"name_reporter": False, "share_with_reported": False,
                        "confidentiality_request": None},
        },
        "recusals": [{"handle": "carol", "reason": "conflict-of-interest", "note": None,
                      "at": "2026-11-20T10:00:00Z", "by": "alice"}],
        "timeline": [{**EVENT, "event": "received", "note": None}, dict(EVENT)],
        "decisions": [dict(DECISION)],
        "dismissal": {"reason": "tone", "note": None, "at": "2026-11-22T10:00:00Z", "by": "alice"},
        "evidence": [],
    }


def variant(path: str, value: Any) -> tuple[str, dict[str, Any]]:
    """The baseline with the value at a dotted path (list indexes as numbers) replaced."""
    document = baseline()
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = document
    for step in parents:
        target = target[step]
    target[last] = value
    return f"{path}={value!r}"[:60], document


def schema_enum(name: str) -> list[Any]:
    """Every value the schema allows there: the variants cover the whole vocabulary."""
    from cocflow.adapters.schema import load_schema

    definitions = load_schema("case")["$defs"]
    node = definitions["report"]["properties"][name] if name == "channel" else definitions[name]
    return list(node["enum"])


SCHEMA_ENUMS = {
    "report.channel": schema_enum("channel"),
    "report.space": [None, *transparency.SPACES],
    "recusals.0.reason": schema_enum("recusal_reason"),
    "dismissal.reason": schema_enum("dismissal_reason"),
    "timeline.1.event": schema_enum("event_kind"),
    "decisions.0.outcomes": [[o] for o in schema_enum("outcome")],
    "report.categories": [*([c] for c in schema_enum("category")),
                          ["stalking", "doxxing", "outing"]],
}
BOOLEANS = ["report.reporter.anonymous", "report.consent.name_reporter",
            "report.consent.share_with_reported", "decisions.0.reporter_named"]
VARIANTS = dict([
    *(variant(path, value) for path, values in SCHEMA_ENUMS.items() for value in values),
    *(variant(path, flag) for path in BOOLEANS for flag in (True, False)),
    variant("report.witnesses", []),
    variant("report.witnesses", [{"name": f"W{n}", "contact": "w@example.org"}
                                 for n in range(4)]),
    variant("timeline", [{**EVENT, "note": f"note {n}"} for n in range(40)]),
    variant("decisions", []),
    variant("decisions", [dict(DECISION), {**DECISION, "outcomes": ["permanent-ban"]}]),
    variant("dismissal", None),
])
# Lengths stay, characters go: ciphertext, ivs, tags, key slots, the MAC and the time.
_MASKS = [re.compile(r"(?<=data:)[^,]*|(?<=iv:)[^,]*|(?<=tag:)[^,]*"),
          re.compile(r"(?m)^( {12})([A-Za-z0-9+/=]+)$"),
          re.compile(r"(?<=lastmodified: \")[^\"]*")]


def keyless_view(ciphertext: str) -> str:
    """What a reader without a key can compare: everything, with each secret byte masked."""
    text = _MASKS[0].sub(lambda m: "x" * len(m.group(0)), ciphertext)
    text = _MASKS[1].sub(lambda m: m.group(1) + "x" * len(m.group(2)), text)
    return _MASKS[2].sub(lambda m: "x" * len(m.group(0)), text)


def test_cases_differing_in_one_encrypted_value_look_the_same_without_a_key(team):
    root, keys = team
    ws = Workspace(root, Keyring(keys["alice"].file))
    views = {name: keyless_view(seal(ws, document)) for name, document in VARIANTS.items()}
    reference = keyless_view(seal(ws, baseline()))
    assert "body: ENC[AES256_GCM,data:xxx" in reference and "recipient: age1" in reference
    differing = [name for name, view in views.items() if view != reference]
    assert differing == []
    assert {len(view) for view in views.values()} == {len(reference)}


def test_a_case_file_shows_no_key_name_no_list_length_and_no_value(team):
    root, keys = team
    ws = Workspace(root, Keyring(keys["alice"].file))
    _, document = variant("report.witnesses", [{"name": "W-0", "contact": "w@example.org"}])
    text = seal(ws, document)
    body = text.split("\nbody: ", 1)[1].split("\nsops:\n")[0]
    # ":", "-", "@" and "." never occur in base64: no key name, no value can hide in there
    for word in ("report:", "witnesses:", "timeline:", "W-0", "w@example.org", "stalking"):
        assert word not in body
    assert list(yaml.safe_load(text)) == ["meta", "body", "sops"]


# --- bad input: one line, the right exit code, nothing changed -----------------------------


def refused(result, code: int) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and SENTINEL not in result.stderr


def test_text_sops_cannot_carry_is_refused_with_exit_2(repo, run, keys, case_id, unchanged):
    result = run("-C", str(repo), "note", case_id, "-m", f"{SENTINEL} \udcff",
                 as_member=keys["alice"])
    refused(result, 2)
    assert "not valid Unicode" in result.stderr


def test_a_case_over_the_size_limit_is_refused_with_exit_2(repo, run, keys, case_id, unchanged,
                                                          monkeypatch):
    monkeypatch.setattr(sealed, "MAX_BODY_BYTES", 20_000)
    result = run("-C", str(repo), "note", case_id, "-m", "x" * 30_000, as_member=keys["alice"])
    refused(result, 2)
    assert "over the limit" in result.stderr


def test_a_report_over_the_size_limit_opens_no_case(repo, run, keys, monkeypatch, unchanged):
    monkeypatch.setattr(sealed, "MAX_BODY_BYTES", 20_000)
    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(
        description="x" * 30_000), as_member=keys["alice"])
    refused(result, 2)


def test_a_case_of_a_megabyte_is_no_problem_for_the_hook_check_or_edit(repo, run, keys,
                                                                        case_id, tmp_path):
    """Far under the limit of one case: its file (over 1 MB once past 512 KiB of text) is read
    with the case file limit, and so is its text in the editor (over 1 MB after 11 long
    notes), not with the limit of a report file typed by a person."""
    note = "x" * 99_000  # the longest a note may be is 100,000 characters
    for _ in range(11):
        result = run("-C", str(repo), "note", case_id, "-m", note, as_member=keys["alice"])
        assert result.exit_code == 0, result.stderr
    assert (repo / "cases" / f"{case_id}.yaml").stat().st_size > 1_000_000
    result = run("-C", str(repo), "check")
    assert result.exit_code == 0, result.stdout
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\n"
                      "open(p, 'w').write(t.replace('space: online', 'space: event'))\n")
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.exit_code == 0, result.stderr
    assert shown_document(run, repo, case_id, keys["bob"])["report"]["space"] == "event"


def write_with_key(repo: Path, case_id: str, document: dict, keys) -> None:  # type: ignore[no-untyped-def]
    """What a member could write with sops directly (a valid MAC), committed."""
    recipients = [keys[h].public for h in ("alice", "bob", "carol")]
    text = sops.encrypt(json.dumps(document), recipients, Keyring(keys["alice"].file))
    (repo / "cases" / f"{case_id}.yaml").write_text(text)
    git(repo, "commit", "--no-verify", "--quiet", "-am", "written outside cocflow")


def decrypted(repo: Path, case_id: str, key) -> dict:  # type: ignore[no-untyped-def]
    text = (repo / "cases" / f"{case_id}.yaml").read_text()
    return json.loads(sops.decrypt(text, "test", Keyring(key.file)))


def test_an_unknown_format_is_unreadable_exit_1_never_tampering(repo, run, keys, case_id):
    document = decrypted(repo, case_id, keys["alice"])
    document["meta"]["format"] = 3
    write_with_key(repo, case_id, document, keys)
    before = snapshot(repo)
    for command in (("show",), ("note", "-m", "x"), ("move", "acknowledged")):
        result = run("-C", str(repo), command[0], case_id, *command[1:], as_member=keys["bob"])
        refused(result, 1)
        assert "format 3" in result.stderr and "upgrade cocflow" in result.stderr
        assert "integrity" not in result.stderr
    assert snapshot(repo) == before
    found = json.loads(run("-C", str(repo), "check", "--json").stdout)["problems"]
    assert [p["code"] for p in found] == ["format-unknown"]
    verified = run("-C", str(repo), "verify", as_member=keys["bob"])
    assert verified.exit_code == 1 and "upgrade cocflow" in verified.stdout
    assert "restore" not in verified.stderr and "integrity" not in verified.stderr


@pytest.mark.parametrize(("change", "fragment"), [
    (lambda d: d.update(report=SENTINEL), "keys beside meta and body: report"),
    (lambda d: d.update(body=d["body"].rstrip(" ")), "not padded"),
])
def test_check_flags_a_format_2_body_that_is_not_one_padded_value(repo, run, keys, case_id,
                                                                  change, fragment):
    document = decrypted(repo, case_id, keys["alice"])
    change(document)
    write_with_key(repo, case_id, document, keys)
    result = run("-C", str(repo), "check", "--json")
    assert result.exit_code == 1 and SENTINEL not in result.stdout
    [problem] = [p for p in json.loads(result.stdout)["problems"] if p["code"] == "body-invalid"]
    assert fragment in problem["message"]


def test_a_meta_format_changed_without_the_key_is_tampering(repo, run, keys, case_id):
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text().replace("    format: 2\n", "    format: 3\n", 1))
    result = run("-C", str(repo), "show", case_id, as_member=keys["bob"])
    refused(result, 1)
    assert "integrity" in result.stderr


def test_a_body_written_outside_cocflow_is_unreadable_not_tampering(repo, run, keys, case_id):
    document = decrypted(repo, case_id, keys["alice"])
    document["body"] = f"not json {SENTINEL}"
    write_with_key(repo, case_id, document, keys)
    result = run("-C", str(repo), "show", case_id, as_member=keys["bob"])
    refused(result, 1)
    assert "cannot be read" in result.stderr and "integrity" not in result.stderr
    assert SENTINEL not in result.stdout


def test_output_of_sops_that_does_not_parse_is_sops_failing_not_tampering(repo, run, keys,
                                                                         case_id, tmp_path):
    fake = tmp_path / "fake-sops"
    fake.write_text(f"#!/bin/sh\nif [ \"$1\" = decrypt ]; then echo 'not json'; exit 0; fi\n"
                    f'exec "{sops.sops_binary()}" "$@"\n')
    fake.chmod(0o755)
    # A key command: the in-process reader cannot load such keys and asks sops.
    result = run("-C", str(repo), "show", case_id, as_member=keys["bob"],
                 env={"COCFLOW_SOPS": str(fake), "SOPS_AGE_KEY_CMD": "false"})
    refused(result, 4)
    assert "not a JSON document" in result.stderr and "integrity" not in result.stderr


# --- the revision counts every write -------------------------------------------------------


def revision(repo: Path, case_id: str) -> int:
    return yaml.safe_load((repo / "cases" / f"{case_id}.yaml").read_text())["meta"]["revision"]


def test_every_write_path_adds_one_to_the_revision(repo, run, keys, case_id, tmp_path):
    alice = keys["alice"]
    assert revision(repo, case_id) == 1
    steps = [
        ("note", case_id, "-m", "n"),
        ("move", case_id, "acknowledged"),
        ("recuse", case_id, "carol", "--reason", "other"),
    ]
    for number, args in enumerate(steps, start=2):
        result = run("-C", str(repo), *args, as_member=alice)
        assert result.exit_code == 0, result.stderr
        assert revision(repo, case_id) == number, args
    attachment = tmp_path / "a.txt"
    attachment.write_text("evidence")
    assert run("-C", str(repo), "attach", case_id, str(attachment), as_member=alice).exit_code == 0
    assert revision(repo, case_id) == 5
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\n"
                      "open(p, 'w').write(t.replace('space: online', 'space: event'))\n")
    result = run("-C", str(repo), "edit", case_id, as_member=alice,
                 env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.exit_code == 0, result.stderr
    assert revision(repo, case_id) == 6
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public).exit_code == 0
    assert run("-C", str(repo), "share", case_id, "dave", "--yes", as_member=alice).exit_code == 0
    assert revision(repo, case_id) == 7
    assert run("-C", str(repo), "team", "remove", "bob").exit_code == 0
    assert run("-C", str(repo), "rekey", as_member=alice).exit_code == 0
    assert revision(repo, case_id) == 8  # rekey seals anew: a write
    assert shown_document(run, repo, case_id, keys["dave"])["meta"]["revision"] == 8


def shown_document(run, repo: Path, case_id: str, key) -> dict:  # type: ignore[no-untyped-def]
    result = run("-C", str(repo), "show", case_id, "--json", as_member=key)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_a_merge_is_one_write_after_the_higher_side(repo, run, keys, case_id, tmp_path):
    import subprocess

    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    a, b = (tmp_path / "a", tmp_path / "b")
    for where in (a, b):
        subprocess.run(["git", "clone", "--quiet", str(bare), str(where)], check=True)
    # Values two YAML parsers read differently come through the merge driver exactly.
    assert run("-C", str(a), "note", case_id, "-m", "1e3", as_member=keys["alice"]).exit_code == 0
    for text in ("<<", " no "):
        assert run("-C", str(b), "note", case_id, "-m", text, as_member=keys["bob"]).exit_code == 0
    assert run("-C", str(a), "sync", as_member=keys["alice"]).exit_code == 0
    result = run("-C", str(b), "sync", "--merge", as_member=keys["bob"])
    assert result.exit_code == 0, result.stderr
    assert revision(b, case_id) == 4  # max(2, 3) + 1
    notes = [e["note"] for e in shown_document(run, b, case_id, keys["bob"])["timeline"]]
    assert sorted(notes[-3:]) == [" no ", "1e3", "<<"]


# --- decisions -------------------------------------------------------------------------------


def test_a_reopened_case_decided_again_keeps_both_decisions(repo, run, keys, case_id):
    alice = keys["alice"]

    def step(*args: str) -> None:
        result = run("-C", str(repo), *args, as_member=alice)
        assert result.exit_code == 0, result.stderr

    step("move", case_id, "acknowledged")
    step("move", case_id, "investigating")
    step("note", case_id, "--event", "contacted-reported", "-m", "emailed")
    step("move", case_id, "decided", "--outcome", "warning", "--rationale", "first")
    step("move", case_id, "closed")
    step("move", case_id, "investigating", "-m", "appeal")
    step("note", case_id, "--event", "contacted-reported", "-m", "sent them the appeal")
    step("move", case_id, "decided", "--outcome", "temporary-ban", "--rationale", "second")
    document = shown_document(run, repo, case_id, keys["bob"])
    assert [d["rationale"] for d in document["decisions"]] == ["first", "second"]
    text = run("-C", str(repo), "show", case_id, as_member=keys["bob"]).stdout
    assert "Decision 1 of 2 (superseded)" in text and "Decision 2 of 2 (current)" in text
    assert facts_from_case(document).outcomes == ("temporary-ban",)  # what `report` counts


def test_sent_at_is_kept_apart_from_received_at(repo, run, keys):
    text = report_yaml(sent_at="2026-10-01T08:00:00Z")
    result = run("-C", str(repo), "new", "--from", "-", "--json", input=text,
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    case_id = json.loads(result.stdout)["id"]
    document = shown_document(run, repo, case_id, keys["bob"])
    assert document["report"]["sent_at"] == "2026-10-01T08:00:00Z"
    assert document["meta"]["received_at"] != document["report"]["sent_at"]


def test_the_schema_describes_both_formats_from_one_file():
    from cocflow.adapters import schema

    current = copy.deepcopy(baseline())
    current["meta"]["revision"] = 1
    assert schema.problems("case", current) == []
    legacy = copy.deepcopy(current)
    legacy["meta"] = {"schema": 1, **{k: v for k, v in current["meta"].items()
                                      if k not in ("format", "revision")}}
    legacy["decision"] = legacy.pop("decisions")[0]
    assert schema.problems("case", legacy, "format1") == []
    assert schema.problems("case", legacy) != []
