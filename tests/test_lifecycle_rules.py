"""The state machine and the Code of Conduct's rules, table-driven, without I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cocflow.domain import lifecycle
from cocflow.domain.lifecycle import MoveRequest, add_note, apply_move
from cocflow.errors import InvalidInput

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
LEGAL = {(a, b) for a, targets in lifecycle.MOVES.items() for b in targets}


def case(status="received", contacted=False, consent=False, **meta):
    timeline = [{"at": "2026-11-20T10:00:00Z", "by": "alice", "event": "received", "note": None}]
    if contacted:
        timeline.append({"at": "2026-11-21T10:00:00Z", "by": "alice",
                         "event": "contacted-reported", "note": "x"})
    return {
        "meta": {"id": "2026-0001", "status": status, "received_at": "2026-11-20T10:00:00Z",
                 "respond_by": "2026-12-04T10:00:00Z", "responded_at": None,
                 "closed_at": None, "recused": [], **meta},
        "report": {"title": "t", "description": "d", "categories": ["other"],
                   "reported": [{"name": "x"}], "consent": {"name_reporter": consent}},
        "timeline": timeline, "decisions": [], "dismissal": None, "recusals": [],
    }


def request_for(target):
    return MoveRequest(
        target,
        note="why",
        outcomes=("warning",) if target == "decided" else (),
        rationale="because" if target == "decided" else None,
        reason="tone" if target == "dismissed" else None,
    )


@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_every_legal_move_is_allowed_and_appends_an_event(source, target):
    moved = apply_move(case(source, contacted=True), request_for(target), "bob", NOW)
    assert moved["meta"]["status"] == target
    assert moved["timeline"][-1]["by"] == "bob"
    assert len(moved["timeline"]) == len(case(source, contacted=True)["timeline"]) + 1


ILLEGAL = sorted((a, b) for a in lifecycle.STATES for b in lifecycle.STATES if (a, b) not in LEGAL)


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_illegal_move_is_refused_naming_the_legal_ones(source, target):
    with pytest.raises(InvalidInput) as refused:
        apply_move(case(source, contacted=True), request_for(target), "bob", NOW)
    legal = lifecycle.legal_moves(source)
    assert all(state in str(refused.value) for state in legal)


def test_unknown_state_lists_the_states():
    with pytest.raises(InvalidInput, match="states: received"):
        apply_move(case(), MoveRequest("limbo"), "bob", NOW)


@pytest.mark.parametrize("target", ["acknowledged", "dismissed"])
def test_first_response_stops_the_clock(target):
    moved = apply_move(case(), request_for(target), "bob", NOW)
    assert moved["meta"]["responded_at"] == "2026-11-25T12:00:00Z"


def test_a_later_response_keeps_the_first_response_time():
    earlier = case("acknowledged", responded_at="2026-11-21T09:00:00Z")
    moved = apply_move(earlier, request_for("dismissed"), "bob", NOW)
    assert moved["meta"]["responded_at"] == "2026-11-21T09:00:00Z"


def test_closing_sets_closed_at_and_reopening_clears_it_with_a_note():
    closed = apply_move(case("decided"), request_for("closed"), "bob", NOW)
    assert closed["meta"]["closed_at"] == "2026-11-25T12:00:00Z"
    reopened = apply_move(closed, MoveRequest("investigating", note="new facts"), "bob", NOW)
    assert reopened["meta"]["closed_at"] is None
    assert reopened["timeline"][-1]["event"] == "reopened"


def test_reopening_without_a_note_is_refused():
    with pytest.raises(InvalidInput, match="note"):
        apply_move(case("dismissed"), MoveRequest("investigating"), "bob", NOW)


def test_deciding_needs_an_outcome_and_a_rationale():
    with pytest.raises(InvalidInput, match="outcome"):
        apply_move(case("investigating", contacted=True), MoveRequest("decided", rationale="r"),
                   "bob", NOW)
    with pytest.raises(InvalidInput, match="rationale"):
        apply_move(case("investigating", contacted=True),
                   MoveRequest("decided", outcomes=("warning",)), "bob", NOW)


def test_deciding_without_contacting_the_reported_person_is_refused():
    with pytest.raises(InvalidInput, match="contacted"):
        apply_move(case("investigating"), request_for("decided"), "bob", NOW)


def test_skip_contact_records_the_reason():
    request = MoveRequest("decided", outcomes=("permanent-ban",), rationale="r",
                          skip_contact="safety risk to the reporter")
    moved = apply_move(case("investigating"), request, "bob", NOW)
    assert moved["decisions"][-1]["contact_skipped_reason"] == "safety risk to the reporter"


def test_naming_the_reporter_needs_consent():
    request = MoveRequest("decided", outcomes=("warning",), rationale="r", reporter_named=True)
    with pytest.raises(InvalidInput, match="consent"):
        apply_move(case("investigating", contacted=True), request, "bob", NOW)
    moved = apply_move(case("investigating", contacted=True, consent=True), request, "bob", NOW)
    assert moved["decisions"][-1]["reporter_named"] is True


def test_dismissal_needs_a_reason_from_the_list():
    with pytest.raises(InvalidInput, match="reverse-ism"):
        apply_move(case(), MoveRequest("dismissed"), "bob", NOW)
    moved = apply_move(case(), MoveRequest("dismissed", reason="boundary-setting"), "bob", NOW)
    assert moved["dismissal"]["reason"] == "boundary-setting"


def test_unknown_outcome_lists_the_ladder():
    with pytest.raises(InvalidInput, match="no-action"):
        apply_move(case("investigating", contacted=True),
                   MoveRequest("decided", outcomes=("shaming",), rationale="r"), "bob", NOW)


def test_decision_options_on_another_move_are_refused():
    with pytest.raises(InvalidInput, match="decided"):
        apply_move(case(), MoveRequest("acknowledged", outcomes=("warning",)), "bob", NOW)


def test_investigating_needs_categories_and_a_reported_person():
    untriaged = case("acknowledged")
    untriaged["report"]["categories"] = []
    with pytest.raises(InvalidInput, match="category"):
        apply_move(untriaged, MoveRequest("investigating"), "bob", NOW)


def test_notes_accept_only_person_recorded_events():
    noted = add_note(case(), "contacted-reported", "emailed", "bob", NOW)
    assert noted["timeline"][-1]["event"] == "contacted-reported"
    with pytest.raises(InvalidInput, match="events: note"):
        add_note(case(), "decided", "sneaky", "bob", NOW)
    with pytest.raises(InvalidInput):
        add_note(case(), "note", "   ", "bob", NOW)
