"""States, legal moves, and the Code of Conduct's rule for each move."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cocflow.domain.case import event
from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput

STATES = ("received", "acknowledged", "investigating", "decided", "closed", "dismissed",
          "voided")
MOVES: dict[str, tuple[str, ...]] = {
    "received": ("acknowledged", "dismissed"),
    "acknowledged": ("investigating", "dismissed"),
    "investigating": ("decided", "dismissed"),
    "decided": ("closed",),
    "closed": ("investigating",),
    "dismissed": ("investigating",),
    "voided": (),
}
# A case opened by mistake (a duplicate intake, the wrong message) is voided with `void`, not
# moved: it leaves the deadlines and the report and stays in history.
VOIDED = "voided"
OUTCOMES = (
    "no-action", "correction", "warning", "temporary-ban", "permanent-ban",
    "third-party-warning", "public-identification",
)
DISMISSAL_REASONS = (
    "reverse-ism", "boundary-setting", "tone", "criticism-of-oppression", "out-of-scope",
    "duplicate", "withdrawn", "other",
)
RECUSAL_REASONS = ("reported-person", "conflict-of-interest", "reporter-request", "other")
# Events a person records with `note`; the others are written by moves and recusals.
NOTE_EVENTS = ("note", "contacted-reported", "reported-responded")
# The event each move appends; a move back to investigating is a reopening.
MOVE_EVENTS = {
    "acknowledged": "acknowledged",
    "investigating": "investigating",
    "decided": "decided",
    "closed": "closed",
    "dismissed": "dismissed",
}


@dataclass(frozen=True)
class MoveRequest:
    """What a person asks for with `move ID STATE` and its options."""

    target: str
    note: str | None = None
    outcomes: tuple[str, ...] = ()
    rationale: str | None = None
    reporter_named: bool = False
    skip_contact: str | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def legal_moves(status: str) -> tuple[str, ...]:
    return MOVES.get(status, ())


def next_steps(status: str) -> str:
    """A human hint of what can come next."""
    moves = legal_moves(status)
    return ", or ".join(moves) if moves else "nothing (the case is final)"


def apply_move(case: dict[str, Any], request: MoveRequest, actor: str,
               now: datetime) -> dict[str, Any]:
    """The case after a legal move; InvalidInput naming the rule when the move is refused."""
    status = case["meta"]["status"]
    target = request.target
    if target not in STATES:
        raise InvalidInput(f"unknown state {target!r}; states: {', '.join(STATES)}")
    if target == VOIDED:
        raise InvalidInput(f"a case opened by mistake is voided with `cocflow void "
                           f"{case['meta']['id']} --reason TEXT`, not moved; legal next states: "
                           f"{', '.join(legal_moves(status)) or 'none'}")
    if target not in legal_moves(status):
        raise InvalidInput(
            f"cannot move {case['meta']['id']} from {status} to {target}; "
            f"legal next states: {', '.join(legal_moves(status)) or 'none'}"
        )
    _check_options(request)
    moved = copy.deepcopy(case)
    meta = moved["meta"]
    stamp = format_timestamp(now)
    kind = MOVE_EVENTS[target]
    if status in ("closed", "dismissed"):
        if not request.note:
            raise InvalidInput("reopening a case needs a note (-m) saying why")
        kind = "reopened"
        meta["closed_at"] = None
    if target == "investigating" and kind != "reopened":
        _require_triaged(moved)
    if target in ("acknowledged", "dismissed") and not meta.get("responded_at"):
        meta["responded_at"] = stamp
    if target == "closed":
        meta["closed_at"] = stamp
    if target == "decided":  # a reopened case keeps its earlier decisions; the last is current
        decision = _decision(moved, request, actor, stamp)
        moved["decisions"] = [*moved.get("decisions", []), decision]
    if target == "dismissed":
        moved["dismissal"] = {"reason": request.reason, "note": request.note, "at": stamp,
                              "by": actor}
    meta["status"] = target
    moved.setdefault("timeline", []).append(event(kind, actor, now, request.note))
    return moved


def _check_options(request: MoveRequest) -> None:
    target = request.target
    decision_only = request.outcomes or request.rationale or request.reporter_named
    if target != "decided" and (decision_only or request.skip_contact):
        raise InvalidInput("--outcome, --rationale, --reporter-named and --skip-contact go with "
                           "`move ID decided`")
    if target != "dismissed" and request.reason:
        raise InvalidInput("--reason goes with `move ID dismissed`")
    if target == "dismissed" and request.reason not in DISMISSAL_REASONS:
        raise InvalidInput(f"dismissing needs --reason, one of: {', '.join(DISMISSAL_REASONS)}")
    for outcome in request.outcomes:
        if outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {outcome!r}; outcomes: {', '.join(OUTCOMES)}")


def _require_triaged(case: dict[str, Any]) -> None:
    report = case["report"]
    if not report.get("categories"):
        raise InvalidInput("investigating needs at least one category: add it with `cocflow edit`")
    if not report.get("reported"):
        raise InvalidInput("investigating needs at least one reported person: add it with "
                           "`cocflow edit`")


def _decision(case: dict[str, Any], request: MoveRequest, actor: str,
              stamp: str) -> dict[str, Any]:
    if not request.outcomes:
        raise InvalidInput(f"deciding needs at least one --outcome, from: {', '.join(OUTCOMES)}")
    if not request.rationale:
        raise InvalidInput("deciding needs a --rationale")
    contacted = contacted_since_reopened(case)
    if not contacted and not request.skip_contact:
        since = " since the case was reopened" if _reopenings(case) else ""
        raise InvalidInput(
            f"the reported person has not been contacted{since}: record it with "
            "`cocflow note ID --event contacted-reported -m ...`, or give --skip-contact REASON"
        )
    consent = case["report"].get("consent") or {}
    if request.reporter_named and not consent.get("name_reporter"):
        raise InvalidInput("--reporter-named needs the reporter's consent "
                           "(report.consent.name_reporter is not true)")
    return {
        "outcomes": list(dict.fromkeys(request.outcomes)),
        "rationale": request.rationale,
        "decided_at": stamp,
        "decided_by": actor,
        "reporter_named": request.reporter_named,
        "contact_skipped_reason": None if contacted else request.skip_contact,
    }


def void(case: dict[str, Any], reason: str, actor: str, now: datetime) -> dict[str, Any]:
    """The case voided: out of the deadlines and the report, its history kept."""
    if case["meta"]["status"] == VOIDED:
        raise InvalidInput(f"{case['meta']['id']} is already voided")
    if not reason or not reason.strip():
        raise InvalidInput("voiding needs --reason saying why the case was opened by mistake")
    voided = copy.deepcopy(case)
    voided["meta"]["status"] = VOIDED
    voided["meta"]["closed_at"] = format_timestamp(now)
    voided.setdefault("timeline", []).append(event("voided", actor, now, reason.strip()))
    return voided


def _reopenings(case: dict[str, Any]) -> list[int]:
    return [i for i, e in enumerate(case.get("timeline", [])) if e["event"] == "reopened"]


def contacted_since_reopened(case: dict[str, Any]) -> bool:
    """Whether the reported person was contacted about the allegation now being decided.

    A reopened case (new information, an appeal) is a new allegation: the reported person
    answers it before a second decision, so only a contact after the last reopening counts.
    """
    start = max(_reopenings(case), default=-1) + 1
    return any(e["event"] == "contacted-reported" for e in case.get("timeline", [])[start:])


def add_note(case: dict[str, Any], kind: str, note: str, actor: str,
             now: datetime) -> dict[str, Any]:
    """The case with one more timeline event recorded by a person."""
    if kind not in NOTE_EVENTS:
        raise InvalidInput(f"unknown event {kind!r}; events: {', '.join(NOTE_EVENTS)}")
    if not note or not note.strip():
        raise InvalidInput("a note needs text (-m)")
    noted = copy.deepcopy(case)
    noted.setdefault("timeline", []).append(event(kind, actor, now, note))
    return noted
