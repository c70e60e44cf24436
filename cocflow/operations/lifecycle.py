"""Moving a case through its lifecycle: move, note, edit, and what is due."""

from __future__ import annotations

import copy
from typing import Any

from cocflow.adapters import schema, yamlio
from cocflow.adapters.store import CASE_FILE_MAX_BYTES
from cocflow.domain import deadlines
from cocflow.domain.case import event, intake_recusals, require_case_id
from cocflow.domain.lifecycle import MoveRequest, add_note, apply_move, void
from cocflow.errors import CocflowError, InvalidInput
from cocflow.operations.workspace import Workspace, decrypt_case, save_case

EDIT_HEADER = (
    "# Edit the report below. Only `report:` can change here: state, dates, recusals,\n"
    "# decision and timeline change through their commands (move, note, recuse).\n"
    "# Save and close the editor to re-encrypt; an empty file cancels.\n"
)


def move_case(ws: Workspace, case_id: str, request: MoveRequest) -> tuple[str, dict[str, Any]]:
    """Apply one legal transition and commit it; returns the state before and the case after."""
    case = decrypt_case(ws, require_case_id(case_id))
    before = case["meta"]["status"]
    moved = apply_move(case, request, ws.actor, ws.now())
    save_case(ws, moved, f"move {case_id}: {before} -> {request.target}")
    return before, moved


def note_case(ws: Workspace, case_id: str, kind: str, text: str) -> dict[str, Any]:
    """Append a timeline event recorded by the acting member and commit it."""
    case = decrypt_case(ws, require_case_id(case_id))
    noted = add_note(case, kind, text, ws.actor, ws.now())
    # Not the kind: "contacted-reported" is content the sealed body hides from a keyless reader.
    save_case(ws, noted, f"note on {case_id}")
    return noted


def void_case(ws: Workspace, case_id: str, reason: str) -> dict[str, Any]:
    """Void a case opened by mistake: a timeline event, one commit; the case stays in history."""
    case = decrypt_case(ws, require_case_id(case_id))
    voided = void(case, reason, ws.actor, ws.now())
    save_case(ws, voided, f"void {case_id} (opened by mistake)")
    return voided


def editable_text(case: dict[str, Any]) -> str:
    """What the editor shows: the whole case, with a header saying what may change."""
    return EDIT_HEADER + yamlio.dump(case)


ERRORS_TOP = "# This edit could not be saved:\n"
ERRORS_END = ("# Fix the case below and save, or empty the file to cancel. These lines are "
              "ignored.\n")


def check_edit(ws: Workspace, case: dict[str, Any], text: str
               ) -> tuple[dict[str, Any] | None, list[str]]:
    """The case after an edit (None when nothing changed), and every problem found in it."""
    try:
        # The case as it was shown, so the limit of a case file, not of a report typed by a person.
        edited = yamlio.load_untrusted(text, "the edited case", max_bytes=CASE_FILE_MAX_BYTES)
    except InvalidInput as exc:
        return None, [str(exc)]
    if not isinstance(edited, dict):
        return None, ["the edited case is not a YAML mapping"]
    edited = schema.with_defaults("case", edited)
    problems = []
    locked = sorted(k for k in set(case) | set(edited) if k != "report" and
                    case.get(k) != edited.get(k))
    if locked:
        problems.append(f"only the report can change in edit; also changed: {', '.join(locked)}")
    if not isinstance(edited.get("report"), dict):
        return None, [*problems, "the edited case has no report"]
    report = schema.with_defaults("case", edited["report"], definition="report")
    problems += [f"the edited report: {p}" for p in schema.problems("case", report, "report")]
    if problems:
        return None, problems
    if report == case["report"]:
        return None, []
    updated = copy.deepcopy(case)
    updated["report"] = report
    now, actor = ws.now(), ws.actor
    _recuse_newly_reported_members(ws, updated, actor, now)
    updated["timeline"].append(event("note", actor, now, "report edited"))
    return updated, []


def with_errors(problems: list[str], text: str) -> str:
    """The text to edit again, every problem listed on top as comments (as kubectl edit)."""
    listed = "".join(f"#   - {' '.join(p.split())}\n" for p in problems)
    return ERRORS_TOP + listed + ERRORS_END + text


def without_errors(text: str) -> str:
    """The edited text without the error comments `with_errors` put on top."""
    if text.startswith(ERRORS_TOP) and ERRORS_END in text:
        return text.split(ERRORS_END, 1)[1]
    return text


def _recuse_newly_reported_members(ws: Workspace, case: dict[str, Any], actor: str,
                                   now: Any) -> None:
    # A team member added as a reported person during triage loses access at once.
    already = set(case["meta"]["recused"])
    for record in intake_recusals(case["report"], [], ws.roster, actor, now,
                                  ws.team_roster):
        if record["handle"] not in already:
            case["recusals"].append(record)
            case["meta"]["recused"].append(record["handle"])
            case["timeline"].append(event("recused", actor, now, record["handle"]))


def edit_case(ws: Workspace, case_id: str) -> dict[str, Any] | None:
    """Decrypt, let the user change it in their editor until valid, re-encrypt and commit.

    An invalid edit opens the editor again with every problem listed on top, until it is
    fixed, the file is emptied (cancel), or saved unchanged (given up: InvalidInput naming
    the problems). Returns the saved case, or None when nothing changed.
    """
    from cocflow.adapters.editor import edit_text

    case = decrypt_case(ws, require_case_id(case_id))
    ws.git.ensure_safe([ws.store.path(case_id)])
    shown, problems = editable_text(case), list[str]()
    while True:
        saved = edit_text(shown)
        if not saved.strip():
            raise InvalidInput(f"edit of {case_id} cancelled; nothing was changed")
        if problems and saved == shown:
            raise InvalidInput(f"the edit of {case_id} is not valid: {'; '.join(problems)}; "
                               "nothing was changed")
        text = without_errors(saved)
        updated, problems = check_edit(ws, case, text)
        if not problems:
            break
        shown = with_errors(problems, text)
    if updated is None:
        return None
    save_case(ws, updated, f"edit {case_id} ({updated['meta']['status']})")
    return updated


def due(ws: Workspace, within: int | None = None) -> tuple[list[deadlines.DueCase], list[str]]:
    """Open cases awaiting a first response, due within `within` days (warn_days) or overdue,
    and the ids of case files whose meta cannot be read (`check` says why).

    A broken file must not silence the alert for the others, so it is listed, not fatal.
    """
    days = ws.config.warn_days if within is None else within
    if days < 0:
        raise InvalidInput("--within needs zero or more days")
    metas, unreadable = _usable_metas(ws)
    return deadlines.due_cases(metas, ws.now(), days), unreadable


def late(ws: Workspace) -> list[deadlines.LateCase]:
    """Open cases past a stage deadline (acknowledge_days, decide_days in cocflow.yaml)."""
    metas, _ = _usable_metas(ws)
    return deadlines.late_cases(metas, ws.now(), ws.config.acknowledge_days,
                                ws.config.decide_days)


def _usable_metas(ws: Workspace) -> tuple[list[dict[str, Any]], list[str]]:
    metas: list[dict[str, Any]] = []
    unreadable: list[str] = []
    for case_id in ws.store.ids():
        try:
            meta: dict[str, Any] | None = ws.store.meta(case_id)
        except CocflowError:
            meta = None
        if meta is not None and deadlines.usable_meta(meta):
            metas.append(meta)
        else:
            unreadable.append(case_id)
    return metas, unreadable
