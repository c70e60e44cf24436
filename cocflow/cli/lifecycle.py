"""Lifecycle commands: move, note, edit, due."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cocflow.domain.deadlines import DueCase
    from cocflow.operations.workspace import Workspace

from cocflow.cli.common import (
    case_id_argument,
    emit_json,
    free_text,
    json_option,
    keyless_workspace,
    message_option,
    next_step,
    repo_option,
    say,
    text_option,
    workspace,
)
from cocflow.cli.render import table, warn_unreadable
from cocflow.domain import lifecycle
from cocflow.domain.case import require_case_id


@click.command("move")
@case_id_argument
@click.argument("state", type=click.Choice(lifecycle.STATES))
@message_option("Why; required when reopening a closed or dismissed case.")
@click.option("--outcome", "outcomes", multiple=True, type=click.Choice(lifecycle.OUTCOMES),
              help="With `decided`: an outcome from the ladder (repeatable).")
@text_option("--rationale", help_text="With `decided`: why the team decided so; left out, your "
             "editor opens.")
@click.option("--reporter-named", is_flag=True,
              help="With `decided`: the decision names the reporter (needs their consent).")
@text_option("--skip-contact", help_text="With `decided`: why the reported person was not "
             "contacted (e.g. safety).")
@click.option("--reason", type=click.Choice(lifecycle.DISMISSAL_REASONS),
              help="With `dismissed`: the reason, from the fixed list.")
@repo_option
@json_option
def move_command(case_id: str, state: str, note: str | None, outcomes: tuple[str, ...],
                 rationale: str | None, reporter_named: bool, skip_contact: str | None,
                 reason: str | None, as_json: bool) -> None:
    """Move a case to STATE; illegal moves are refused with the legal ones named.

    \b
    received -> acknowledged -> investigating -> decided -> closed
    received, acknowledged, investigating -> dismissed
    closed, dismissed -> investigating (reopen; needs -m)

    \b
    Examples:
      cocflow move 2026-0007 acknowledged -m "replied to the reporter"
      cocflow move 2026-0007 investigating
      cocflow move 2026-0007 decided --outcome warning --rationale "..."
      cocflow move 2026-0007 decided --outcome warning   # the rationale in your editor
      cocflow move 2026-0007 dismissed --reason tone -m "..."
      cocflow move 2026-0007 investigating -m "new information"
    """
    from cocflow.operations.lifecycle import move_case

    require_case_id(case_id)  # before any text is asked for
    note = free_text(note, "Why (the note of this move)")
    skip_contact = free_text(skip_contact, "Why the reported person was not contacted")
    rationale = free_text(rationale, "The rationale of the decision",
                          needed=state == "decided" and bool(outcomes))
    request = lifecycle.MoveRequest(state, note, outcomes, rationale, reporter_named,
                                    skip_contact, reason)
    before, case = move_case(workspace(), case_id, request)
    meta = case["meta"]
    if as_json:
        emit_json({"id": meta["id"], "from": before, "to": meta["status"]})
        return
    say(f"Moved {meta['id']} from {before} to {meta['status']} (one commit).")
    if state in ("acknowledged", "dismissed") and meta["responded_at"]:
        say(f"First response recorded at {meta['responded_at']}: the 2-week clock has stopped.")
    next_step(lifecycle.next_steps(meta["status"]))


@click.command("note")
@case_id_argument
@text_option("-m", "--message", "text", help_text="The note (encrypted); left out, your editor "
             "opens.")
@click.option("--event", "kind", type=click.Choice(lifecycle.NOTE_EVENTS), default="note",
              show_default=True, help="The kind of timeline event.")
@repo_option
@json_option
def note_command(case_id: str, text: str | None, kind: str, as_json: bool) -> None:
    """Append a timeline event to a case.

    \b
    Examples:
      cocflow note 2026-0007 -m "called the reporter back"
      cocflow note 2026-0007 --event contacted-reported -m "emailed them the summary"
      cocflow note 2026-0007 --event reported-responded -m "they replied"
      cocflow note 2026-0007                      # write the note in your editor
      cocflow note 2026-0007 -m - < call-notes.txt
    """
    from cocflow.operations.lifecycle import note_case

    require_case_id(case_id)  # before any text is asked for
    text = free_text(text, "The note (encrypted)", needed=True)
    case = note_case(workspace(), case_id, kind, text or "")
    if as_json:
        emit_json({"id": case["meta"]["id"], "event": kind})
        return
    say(f"Added a {kind} event to {case['meta']['id']} (one commit).")
    if kind == "contacted-reported":
        next_step(f"a decision: cocflow move {case['meta']['id']} decided --outcome ...")


@click.command("void")
@case_id_argument
@text_option("--reason", help_text="Why the case was opened by mistake (encrypted); left out, "
             "your editor opens.")
@repo_option
@json_option
def void_command(case_id: str, reason: str | None, as_json: bool) -> None:
    """Void a case opened by mistake (a duplicate, the wrong message).

    The case leaves `due` and the transparency report and stays in history: `list` shows
    it as `voided`, `list --open` leaves it out, `show` has the reason in its timeline.
    It cannot be moved again.

    \b
    Examples:
      cocflow void 2026-0008 --reason "duplicate of 2026-0007"
      cocflow void 2026-0008 --reason - < why.txt
    """
    from cocflow.operations.lifecycle import void_case

    require_case_id(case_id)  # before any text is asked for
    reason = free_text(reason, "Why the case was opened by mistake", needed=True)
    case = void_case(workspace(), case_id, reason or "")
    if as_json:
        emit_json({"id": case["meta"]["id"], "status": case["meta"]["status"]})
        return
    say(f"Voided {case['meta']['id']} (one commit): it is out of `due` and the report, and "
        "stays in history.")


@click.command("edit")
@case_id_argument
@repo_option
@json_option
def edit_command(case_id: str, as_json: bool) -> None:
    """Edit a case's report in $VISUAL or $EDITOR; it is validated and re-encrypted.

    The decrypted copy lives in a private 0600 file (in memory on /dev/shm where it exists)
    and is removed however the editor ends. An edit that is not valid opens again with every
    problem listed on top as comments, until it is fixed; empty the file to cancel.

    \b
    Examples:
      cocflow edit 2026-0007
      EDITOR=nano cocflow edit 2026-0007
    """
    from cocflow.operations.lifecycle import edit_case

    case = edit_case(workspace(), case_id)
    if as_json:
        emit_json({"id": case_id, "changed": case is not None})
        return
    if case is None:
        say(f"No changes to {case_id}; nothing was committed.")
        return
    say(f"Saved {case_id} (one commit).")
    if case["meta"]["recused"]:
        say(f"Recused: {', '.join(case['meta']['recused'])}.")


@click.command("due")
@click.option("--within", type=int, metavar="DAYS",
              help="Days ahead to warn (default: warn_days from cocflow.yaml).")
@repo_option
@json_option
def due_command(within: int | None, as_json: bool) -> None:
    """Open cases with no response yet, due soon or overdue, and open cases past a stage
    deadline: acknowledged but not investigated within acknowledge_days (default 7) of the
    first response, or not decided within decide_days (default 60) of receipt. No key needed.

    \b
    Examples:
      cocflow due
      cocflow due --within 14 --json
      COCFLOW_NOW=2026-12-20T00:00:00Z cocflow due
    """
    from cocflow.operations.lifecycle import late

    ws = keyless_workspace()
    found = due_or_warn(ws, within)
    stuck = late(ws)
    if as_json:
        emit_json([item.to_json() for item in found] + [item.to_json() for item in stuck])
        return
    if not found:
        say("Nothing due: every open case has had a response or is not due yet.")
    else:
        rows = [(d.id, d.status + (" (triage)" if d.triage else ""), d.respond_by,
                 f"OVERDUE by {max(1, -d.days_left)} day(s)" if d.overdue
                 else f"{d.days_left} day(s)") for d in found]
        say(table(["id", "status", "respond by (UTC)", "left"], rows))
        next_step("reply to the reporter, then `cocflow move ID acknowledged`")
    if stuck:
        say("\nPast a stage deadline (acknowledge_days, decide_days in cocflow.yaml):")
        say(table(["id", "status", "deadline (UTC)", "overdue", "why"],
                  [(c.id, c.status, c.deadline, f"{c.days_overdue} day(s)", c.describe())
                   for c in stuck]))


def due_or_warn(ws: Workspace, within: int | None) -> list[DueCase]:
    """The due list; case files whose meta cannot be read are named on stderr, not fatal."""
    from cocflow.operations.lifecycle import due

    found, unreadable = due(ws, within)
    warn_unreadable(unreadable)
    return found
