"""The web intake's pure rules: envelopes, decrypted payloads, the page and its recipients."""

from __future__ import annotations

import json

import pyrage
import pytest

from cocflow.domain.access import Member, Roster
from cocflow.domain.intake import (
    CSP,
    check_envelope,
    form_config,
    lookup_id,
    parse_submission,
    record_reply,
    render_page,
)
from cocflow.errors import InvalidInput


def key() -> str:
    return str(pyrage.x25519.Identity.generate().to_public())


ROSTER = Roster((Member("alice", (key(),), "Alice Liddell"),
                 Member("bob", (key(), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"), None),
                 Member("carol", ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC",), "Carol")),
                escrow=(key(),), min_recipients=2)


def payload(**changes: object) -> bytes:
    document: dict[str, object] = {
        "cocflow_intake": 1, "exclude": [], "reply_to": key(),
        "report": {"title": "t", "channel": "form", "description": "d",
                   "reported": [{"name": "Someone", "contact": None}]}}
    document.update(changes)
    return json.dumps(document).encode()


def test_an_age_file_passes_armored_or_binary():
    for armored in (True, False):
        check_envelope(bytes(pyrage.encrypt(b"x", [pyrage.x25519.Recipient.from_str(key())],
                                            armored=armored)))


@pytest.mark.parametrize("data", [
    b"", b"hello", b"age-encryption.org/v1\n", b"age-encryption.org/v1\n--- " + b"A" * 43,
    b"age-encryption.org/v1\n-> X25519 abc\n!!!\n--- " + b"A" * 43 + b"\n",  # body not base64
    b"age-encryption.org/v1\n->  X25519\n\n--- " + b"A" * 43 + b"\n",  # empty argument
    b"-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n",
])
def test_anything_else_is_refused(data):
    with pytest.raises(InvalidInput):
        check_envelope(data)


def test_the_lookup_id_depends_only_on_the_reply_key():
    first, second = key(), key()
    assert lookup_id(first) == lookup_id(first) != lookup_id(second)
    assert len(lookup_id(first)) == 32


def test_a_valid_payload_becomes_an_intake_with_reporter_requested_recusals():
    found = parse_submission(payload(exclude=["bob"]), ROSTER)
    assert found.excluded == ("bob",)
    assert found.intake["recusals"][0]["reason"] == "reporter-request"
    assert found.lookup == lookup_id(found.reply_to)


def test_a_reported_name_that_matches_a_member_recuses_them():
    report = {"title": "t", "channel": "form", "description": "d",
              "reported": [{"name": "Alice Liddell", "contact": None}]}
    found = parse_submission(payload(report=report), ROSTER)
    assert [(r["handle"], r["reason"]) for r in found.intake["recusals"]] == [
        ("alice", "conflict-of-interest")]


@pytest.mark.parametrize("data", [
    b"\xff\xfe", b"[]", payload(cocflow_intake=2), payload(extra=1),
    payload(reply_to="AGE-SECRET-KEY-1XYZ"), payload(exclude="bob"),
    payload(exclude=["mallory"]), payload(report={"channel": "email"}),
    payload(report={"channel": "form", "reported": [{"team_handle": "bob"}]}),
])
def test_a_payload_that_is_not_a_form_report_is_refused(data):
    with pytest.raises(InvalidInput):
        parse_submission(data, ROSTER)


def test_the_page_encrypts_to_triage_readers_age_keys_and_escrow():
    config = form_config(ROSTER, ["alice", "bob"])
    assert [r["handle"] for r in config["readers"]] == ["alice", "bob"]
    assert all(k.startswith("age1") for r in config["readers"] for k in r["keys"])
    assert config["escrow"] == list(ROSTER.escrow)
    assert [m["handle"] for m in config["members"]] == ["alice", "bob", "carol"]
    with pytest.raises(InvalidInput, match="triage_readers"):
        form_config(ROSTER, [])
    with pytest.raises(InvalidInput, match="no age key"):
        form_config(ROSTER, ["carol"])


def test_team_yaml_values_are_escaped_in_the_page():
    hostile = Roster((Member("alice", (key(),), '</script><script>alert(1)</script>'),),
                     min_recipients=1)
    config = form_config(hostile, ["alice"])
    page = render_page("{{csp}}|{{config}}|{{exclude}}", config, ["other"], "sha384-x",
                       "sha384-y")
    assert "<script>" not in page and "</script>" not in page
    assert page.startswith(CSP.replace("'", "&#x27;"))


def test_a_reply_is_recorded_only_on_a_form_case():
    from datetime import datetime, timezone

    now = datetime(2026, 11, 20, tzinfo=timezone.utc)
    case = {"meta": {"id": "2026-0001"}, "timeline": []}
    with pytest.raises(InvalidInput, match="no web form"):
        record_reply(case, "hi", "alice", now)
    replied = record_reply({**case, "followup": {"reply_to": key(), "lookup": "0" * 32}},
                           "hi", "alice", now)
    assert replied["timeline"][-1]["event"] == "replied" and case["timeline"] == []
