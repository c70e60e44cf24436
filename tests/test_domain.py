"""The pure core: access rules, deadlines, the case document, schema defaults, YAML limits."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cocflow.adapters import schema, yamlio
from cocflow.domain import access, deadlines
from cocflow.domain.case import next_case_id, plaintext_leaves, require_case_id
from cocflow.errors import InvalidInput

ROSTER = access.Roster(
    members=(
        access.Member("alice", ("age1a", "ssh-ed25519 AAAA")),
        access.Member("bob", ("age1b",)),
        access.Member("carol", ("age1c",)),
    ),
    escrow=("age1escrow",),
    min_recipients=2,
)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def test_desired_recipients_are_keys_of_members_not_recused_plus_escrow():
    assert access.desired_recipients(ROSTER, ["bob"]) == [
        "age1a", "ssh-ed25519 AAAA", "age1c", "age1escrow"]


def test_escrow_key_shared_with_a_member_is_not_duplicated():
    roster = access.Roster(ROSTER.members, ("age1c",), 2)
    assert access.desired_recipients(roster, []).count("age1c") == 1


def test_enough_readers_guard_counts_members_not_escrow():
    with pytest.raises(InvalidInput, match="min_recipients"):
        access.require_enough_readers(ROSTER, ["bob", "carol"], "2026-0001")
    assert access.require_enough_readers(ROSTER, ["bob"], "2026-0001") == ["alice", "carol"]


def meta(**changes):
    base = {"id": "2026-0001", "status": "received", "received_at": "2026-11-20T12:00:00Z",
            "respond_by": "2026-12-04T12:00:00Z", "responded_at": None}
    return {**base, **changes}


@pytest.mark.parametrize(
    ("now", "within", "expected"),
    [
        (datetime(2026, 11, 25, tzinfo=timezone.utc), 3, []),
        (datetime(2026, 12, 2, tzinfo=timezone.utc), 3, [(2, False)]),
        (datetime(2026, 12, 6, 12, tzinfo=timezone.utc), 3, [(-2, True)]),
        (datetime(2026, 11, 25, tzinfo=timezone.utc), 14, [(9, False)]),
    ],
)
def test_due_cases_window_and_overdue(now, within, expected):
    found = deadlines.due_cases([meta()], now, within)
    assert [(d.days_left, d.overdue) for d in found] == expected


def test_a_responded_or_closed_case_is_never_due():
    late = datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert deadlines.due_cases([meta(responded_at="2026-11-21T00:00:00Z")], late, 3) == []
    assert deadlines.due_cases([meta(status="dismissed")], late, 3) == []


def test_due_is_most_urgent_first():
    metas = [meta(id="2026-0002", respond_by="2026-12-05T00:00:00Z"), meta()]
    found = deadlines.due_cases(metas, datetime(2026, 12, 3, tzinfo=timezone.utc), 3)
    assert [d.id for d in found] == ["2026-0001", "2026-0002"]


ENC = "ENC[AES256_GCM,data:LQ==,iv:YSgjnd3dZcp1yI4xbqtU45NVUcSdPmj05IpjOPJHsQ8=,tag:dMxyg5bO0dBWs3gMCHASYA==,type:str]"  # noqa: E501


def test_plaintext_leaves_finds_every_unencrypted_value():
    document = {"meta": {"status": "x"}, "report": {"t": ENC, "n": 3,
                                                    "l": ["plain"], "e": []}}
    assert sorted(plaintext_leaves(document)) == ["report.e", "report.l[0]", "report.n"]


def test_a_hand_typed_enc_marker_is_still_plaintext():
    document = {"report": {"t": "ENC[the reporter is someone]", "ok": ENC}}
    assert plaintext_leaves(document) == ["report.t"]


def test_next_case_id_counts_within_the_year():
    assert next_case_id(2026, ["2025-0009", "2026-0002", "2026-0001"]) == "2026-0003"
    assert next_case_id(2027, ["2026-0002"]) == "2027-0001"


@pytest.mark.parametrize("bad", ["2026-001", "../x", "2026-0001/..", "2026_0001", None])
def test_case_ids_are_strict(bad):
    with pytest.raises(InvalidInput):
        require_case_id(bad)


def test_schema_defaults_fill_what_a_report_leaves_out():
    document = schema.with_defaults("case", {"meta": {}, "report": {"title": "t"}})
    assert document["report"]["reported"] == [] and document["decisions"] == []
    assert document["report"]["consent"] == {"name_reporter": False, "share_with_reported": False,
                                             "confidentiality_request": None}


def test_schema_errors_never_quote_the_value():
    found = schema.problems("case", {"meta": {}, "report": {"title": 7, "channel": "SECRETVALUE",
                                                           "description": "d"}},)
    assert found and not any("SECRETVALUE" in f for f in found)


def test_yaml_keeps_timestamps_as_strings():
    assert yamlio.load("at: 2026-11-20T10:00:00Z\n") == {"at": "2026-11-20T10:00:00Z"}


def test_yaml_rejects_deep_nesting_and_bad_utf8():
    with pytest.raises(InvalidInput, match="deeper"):
        yamlio.load_untrusted("a: " + "[" * 40 + "]" * 40)
    with pytest.raises(InvalidInput, match="UTF-8"):
        yamlio.load_untrusted(b"a: \xff\xfe")
    with pytest.raises(InvalidInput, match="larger"):
        yamlio.load_untrusted(b"a: " + b"x" * 2_000_000)


@pytest.mark.parametrize(
    "broken",
    [None, [], {"id": 7}, meta(status="limbo"), meta(respond_by="soon"),
     meta(responded_at="yesterday"), {k: v for k, v in meta().items() if k != "respond_by"}],
)
def test_unusable_meta_is_recognised_without_jsonschema(broken):
    assert not deadlines.usable_meta(broken)
    assert deadlines.usable_meta(meta())


@pytest.mark.parametrize(
    "text",
    ["a: " + "- " * 40 + "x", "- " * 40 + "x", "\n".join(" " * i + f"k{i}:" for i in range(40)),
     "a: &x [1]\nb: *x\n"],
)
def test_yaml_limits_hold_on_the_fast_path_too(text):
    with pytest.raises(InvalidInput):
        yamlio.load_untrusted(text)
