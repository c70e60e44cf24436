"""The pure three-way merge of decrypted cases: unions, one-sided changes, conflicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cocflow.domain.merge import merge_cases, merge_set, union_by_time


def case(**meta: Any) -> dict[str, Any]:
    """A minimal decrypted case in the shape the schema defaults give."""
    return {
        "meta": {"format": 2, "id": "2026-0001", "revision": 3, "status": "investigating",
                 "received_at": "2026-11-20T10:00:00Z", "respond_by": "2026-12-04T10:00:00Z",
                 "responded_at": "2026-11-21T10:00:00Z", "closed_at": None, "recused": [],
                 **meta},
        "report": {"title": "t", "channel": "email", "description": "d",
                   "categories": ["intimidation"], "consent": {"name_reporter": False}},
        "recusals": [],
        "timeline": [event("2026-11-20T10:00:00Z", "received")],
        "decisions": [],
        "dismissal": None,
    }


def event(at: str, kind: str = "note", by: str = "alice", note: str | None = None) -> dict:
    return {"at": at, "by": by, "event": kind, "note": note}


def changed(document: dict[str, Any], change) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def test_notes_added_on_both_sides_are_both_kept_in_time_order():
    base = case()
    ours = changed(base, lambda d: d["timeline"].append(event("2026-11-22T09:00:00Z", note="o")))
    theirs = changed(base, lambda d: d["timeline"].append(event("2026-11-21T09:00:00Z",
                                                                note="t")))
    result = merge_cases(base, ours, theirs)
    assert result.clean
    assert [e["note"] for e in result.document["timeline"]] == [None, "t", "o"]


def test_the_same_event_on_both_sides_appears_once():
    base = case()
    added = event("2026-11-22T09:00:00Z", note="same")
    ours = changed(base, lambda d: d["timeline"].append(added))
    theirs = changed(base, lambda d: d["timeline"].append(dict(added)))
    assert len(merge_cases(base, ours, theirs).document["timeline"]) == 2


def test_a_recusal_on_either_side_wins():
    base = case()
    record = {"handle": "bob", "reason": "conflict-of-interest", "note": None,
              "at": "2026-11-22T09:00:00Z", "by": "alice"}

    def recuse(d):  # type: ignore[no-untyped-def]
        d["meta"]["recused"].append("bob")
        d["recusals"].append(record)

    ours = changed(base, recuse)
    theirs = changed(base, lambda d: d["timeline"].append(event("2026-11-23T00:00:00Z")))
    for left, right in ((ours, theirs), (theirs, ours)):
        result = merge_cases(base, left, right)
        assert result.clean
        assert result.document["meta"]["recused"] == ["bob"]
        assert result.document["recusals"] == [record]


def test_recusals_of_different_members_on_each_side_are_both_kept():
    base = case()
    ours = changed(base, lambda d: d["meta"]["recused"].append("bob"))
    theirs = changed(base, lambda d: d["meta"]["recused"].append("carol"))
    assert merge_cases(base, ours, theirs).document["meta"]["recused"] == ["bob", "carol"]


def test_a_move_on_one_side_wins_over_notes_on_the_other():
    base = case()
    decision = {"outcomes": ["warning"], "rationale": "r", "decided_at": "2026-11-25T00:00:00Z",
                "decided_by": "alice", "reporter_named": False, "contact_skipped_reason": "x"}

    def decide(d):  # type: ignore[no-untyped-def]
        d["meta"]["status"] = "decided"
        d["decisions"] = [decision]
        d["timeline"].append(event("2026-11-25T00:00:00Z", "decided"))

    ours = changed(base, lambda d: d["timeline"].append(event("2026-11-24T00:00:00Z")))
    theirs = changed(base, decide)
    result = merge_cases(base, ours, theirs)
    assert result.clean
    assert result.document["meta"]["status"] == "decided"
    assert result.document["decisions"] == [decision]
    assert [e["event"] for e in result.document["timeline"]] == ["received", "note", "decided"]


def test_two_different_moves_conflict_and_preference_takes_one_whole_state():
    base = case()
    ours = changed(base, lambda d: d["meta"].update(status="dismissed") or d.update(
        dismissal={"reason": "tone", "note": None, "at": "2026-11-25T00:00:00Z", "by": "a"}))
    theirs = changed(base, lambda d: d["meta"].update(status="decided") or d.update(
        decisions=[{"outcomes": ["warning"], "rationale": "r"}]))
    result = merge_cases(base, ours, theirs)
    assert not result.clean
    assert set(result.conflicts) == {"meta.status", "decisions", "dismissal"}
    preferred = merge_cases(base, ours, theirs, prefer="theirs").document
    assert preferred["meta"]["status"] == "decided"
    assert preferred["dismissal"] is None
    assert [d["outcomes"] for d in preferred["decisions"]] == [["warning"]]


def test_the_same_move_on_both_sides_is_no_conflict_and_keeps_the_first_times():
    base = case(status="decided", responded_at=None)

    def close(at):  # type: ignore[no-untyped-def]
        return lambda d: d["meta"].update(status="closed", closed_at=at, responded_at=at)

    ours = changed(base, close("2026-11-26T00:00:00Z"))
    theirs = changed(base, close("2026-11-25T00:00:00Z"))
    result = merge_cases(base, ours, theirs)
    assert result.clean
    assert result.document["meta"]["closed_at"] == "2026-11-25T00:00:00Z"
    assert result.document["meta"]["responded_at"] == "2026-11-25T00:00:00Z"


def test_a_reopening_on_one_side_clears_closed_at():
    base = case(status="closed", closed_at="2026-11-25T00:00:00Z")
    ours = changed(base, lambda d: d["meta"].update(status="investigating", closed_at=None))
    theirs = changed(base, lambda d: d["timeline"].append(event("2026-11-26T00:00:00Z")))
    meta = merge_cases(base, ours, theirs).document["meta"]
    assert (meta["status"], meta["closed_at"]) == ("investigating", None)


def test_a_field_changed_on_one_side_is_taken_from_that_side():
    base = case()
    ours = changed(base, lambda d: d["report"].update(title="new title"))
    theirs = changed(base, lambda d: d["report"]["consent"].update(name_reporter=True))
    result = merge_cases(base, ours, theirs)
    assert result.clean
    assert result.document["report"]["title"] == "new title"
    assert result.document["report"]["consent"]["name_reporter"] is True


def test_the_same_field_changed_differently_is_a_conflict_naming_only_the_field():
    base = case()
    ours = changed(base, lambda d: d["report"].update(title="SECRET-A"))
    theirs = changed(base, lambda d: d["report"].update(title="SECRET-B"))
    result = merge_cases(base, ours, theirs)
    assert result.conflicts == ("report.title",)
    assert "SECRET" not in repr(result.conflicts)


@pytest.mark.parametrize(("prefer", "title"), [("ours", "A"), ("theirs", "B")])
def test_a_preference_settles_a_conflict_and_still_unions_the_timeline(prefer, title):
    base = case()

    def edit(value, at):  # type: ignore[no-untyped-def]
        def change(d):  # type: ignore[no-untyped-def]
            d["report"]["title"] = value
            d["timeline"].append(event(at, note=value))
        return change

    ours = changed(base, edit("A", "2026-11-22T00:00:00Z"))
    theirs = changed(base, edit("B", "2026-11-23T00:00:00Z"))
    result = merge_cases(base, ours, theirs, prefer=prefer)
    assert result.clean and result.preferred == ("report.title",)
    assert result.document["report"]["title"] == title
    assert [e["note"] for e in result.document["timeline"]][1:] == ["A", "B"]


def test_categories_merge_as_a_set():
    assert merge_set(["a", "b"], ["a", "b", "c"], ["b", "d"]) == ["b", "c", "d"]
    base = case()
    ours = changed(base, lambda d: d["report"]["categories"].append("stalking"))
    theirs = changed(base, lambda d: d["report"]["categories"].append("doxxing"))
    result = merge_cases(base, ours, theirs)
    assert result.clean
    assert result.document["report"]["categories"] == ["intimidation", "stalking", "doxxing"]


def test_two_cases_opened_independently_with_one_id_are_never_blended():
    ours = case()
    theirs = changed(ours, lambda d: d["report"].update(title="another report"))
    result = merge_cases(None, ours, theirs, prefer="theirs")
    assert result.opened_twice and not result.clean
    assert merge_cases(None, ours, copy.deepcopy(ours)).clean


def test_evidence_merges_by_number_and_a_clash_conflicts():
    base = case()
    base["evidence"] = []
    first = {"number": 1, "original_name": "a.png", "size": 1, "sha256": "0" * 64,
             "added_at": "2026-11-22T00:00:00Z", "added_by": "alice"}
    second = {**first, "number": 2, "original_name": "b.png"}
    ours = changed(base, lambda d: d["evidence"].append(first))
    theirs = changed(base, lambda d: d["evidence"].append(second))
    assert merge_cases(base, ours, theirs).document["evidence"] == [first, second]
    clash = changed(base, lambda d: d["evidence"].append({**second, "number": 1}))
    assert merge_cases(base, ours, clash).conflicts == ("evidence.1",)


def test_union_by_time_is_stable_for_equal_times():
    same = "2026-11-22T00:00:00Z"
    merged = union_by_time([], [event(same, note="o")], [event(same, note="t")])
    assert [e["note"] for e in merged] == ["o", "t"]


def test_merging_does_not_change_its_inputs():
    base = case()
    ours = changed(base, lambda d: d["timeline"].append(event("2026-11-22T00:00:00Z")))
    theirs = changed(base, lambda d: d["meta"]["recused"].append("bob"))
    frozen = [copy.deepcopy(x) for x in (base, ours, theirs)]
    merge_cases(base, ours, theirs)
    assert [base, ours, theirs] == frozen
