"""Access commands: recuse, rekey, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cocflow.operations.access import AuditReport
    from cocflow.operations.rekey import RekeyPlan, RekeyResult
    from cocflow.operations.workspace import Workspace

from cocflow.cli.common import (
    case_id_argument,
    emit_json,
    free_text,
    handle_argument,
    json_option,
    keyless_workspace,
    message_option,
    next_step,
    progress,
    repo_option,
    say,
    warn,
    workspace,
)
from cocflow.cli.render import table
from cocflow.domain.case import require_case_id
from cocflow.domain.lifecycle import RECUSAL_REASONS
from cocflow.errors import ProblemsFound

HISTORY_NOTE = (
    "Earlier commits stay readable with {who}: git keeps every version. Review who can "
    "clone this repository (and its forks and backups); `cocflow audit --history` lists them."
)


@click.command("recuse")
@case_id_argument
@handle_argument
@click.option("--reason", required=True, type=click.Choice(RECUSAL_REASONS),
              help="Why the member steps back.")
@message_option("An optional note, stored encrypted.")
@repo_option
@json_option
def recuse_command(case_id: str, handle: str, reason: str, note: str | None,
                   as_json: bool) -> None:
    """Remove HANDLE's access to case ID now, with a new data key.

    Records the recusal (reason and note encrypted), drops HANDLE's keys from the case and
    re-encrypts it with a fresh data key, in one commit.

    \b
    Examples:
      cocflow recuse 2026-0007 bob --reason conflict-of-interest
      cocflow recuse 2026-0007 carol --reason reporter-request -m "asked by phone"
      cocflow recuse 2026-0007 carol --reason other -m -   # the note in your editor
    """
    from cocflow.operations.access import recuse

    require_case_id(case_id)  # before any text is asked for
    note = free_text(note, "A note on the recusal (encrypted)")
    done = recuse(workspace(), case_id, handle, reason, note)
    if as_json:
        emit_json(done.to_json())
        return
    say(f"Recused {done.handle} from case {done.case_id} (one commit): their keys are no longer "
        "recipients and the case has a new data key.")
    say(f"Readers now: {', '.join(done.readers)}.")
    say(HISTORY_NOTE.format(who=f"{done.handle}'s key"))


@click.command("rekey")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Cases re-keyed in parallel (default: twice the CPUs, at most 8).")
@repo_option
@json_option
def rekey_command(dry_run: bool, jobs: int | None, as_json: bool) -> None:
    """Bring every case to the recipients team.yaml and its recusals call for.

    A case that already matches is untouched; every other case gets a new data key, with
    recipients changed by exactly what differs. All of it is one commit. Cases your key cannot
    open are listed: then another member must run `cocflow rekey` (exit 1 until done).

    \b
    Examples:
      cocflow rekey --dry-run
      cocflow rekey
      cocflow rekey --jobs 8 --json
    """
    from cocflow.operations.rekey import apply_rekey, plan_rekey, plan_result

    ws = workspace()
    plan = plan_rekey(ws)
    if dry_run:
        result = plan_result(plan)
    else:
        with progress("re-keying") as bar:
            bar.start(len(plan.case_ids))
            result = apply_rekey(ws, plan, jobs, bar.tick)
    if as_json:
        emit_json(result.to_json())
    else:
        _say_rekey(result, plan, ws)
    if result.need_other_member and not dry_run:
        raise ProblemsFound(
            f"rekey incomplete: {len(result.need_other_member)} case(s) need another member; "
            "one who can read them must run `cocflow rekey`"
        )



def _say_rekey(result: RekeyResult, plan: RekeyPlan, ws: Workspace) -> None:
    from cocflow.operations.access import key_names

    for warning in result.warnings:
        warn(warning)
    if result.dry_run:
        names = key_names(ws)
        rows = [(c.case_id, c.path.name, _who(c.add, names), _who(c.remove, names),
                 "" if c.locally_readable else "another member (your key cannot open it)")
                for c in plan.changes]
        say("Dry run: nothing was changed." if rows else "Dry run: every case already matches.")
        if rows:
            say(table(["case", "file", "add", "remove", "needs"], rows))
    elif result.rekeyed:
        say(f"Re-keyed {len(result.rekeyed)} case(s) with new data keys (one commit): "
            f"{_ids(result.rekeyed)}.")
        if any(c.remove for c in plan.changes if c.case_id in result.rekeyed):
            say(HISTORY_NOTE.format(who="the removed keys"))
    else:
        say("No case was re-keyed; nothing was committed.")
    say(f"Unchanged: {len(result.unchanged)} case(s) already match.")
    if result.need_other_member:
        say(f"Need another member: {_ids(result.need_other_member)} (your key cannot open them).")
        if not result.dry_run:
            next_step("a member who can read them runs `cocflow rekey`")


def _who(keys: tuple[str, ...], names: dict[str, str]) -> str:
    return ", ".join(dict.fromkeys(names.get(k) or f"{k[:16]}..." for k in keys))


def _ids(case_ids: list[str], limit: int = 20) -> str:
    shown = ", ".join(case_ids[:limit])
    return shown + (f" and {len(case_ids) - limit} more" if len(case_ids) > limit else "")


@click.command("audit")
@click.option("--history", is_flag=True,
              help="Also walk every commit of each case: which removed or recused members' "
                   "keys can open past versions.")
@repo_option
@json_option
def audit_command(history: bool, as_json: bool) -> None:
    """Who can read each case, and where that breaks the policy (no key needed).

    Lists readers, recused members, recipient keys of no current member (departed), recused
    members who are still recipients, and members who cannot read a case yet. Exit 1 when
    a case breaks the policy (`cocflow rekey` fixes it). History cannot be re-keyed: it is
    reported, not counted as a failure.

    \b
    Examples:
      cocflow audit
      cocflow audit --history
      cocflow audit --json
    """
    from cocflow.operations.access import audit

    ws = keyless_workspace()
    with progress("reading history") as bar:
        report = audit(ws, history, bar if history else None)
    if as_json:
        emit_json(report.to_json())
    else:
        _say_audit(report)
    if not report.ok:
        broken = [c.case_id for c in report.cases if c.problems()]
        raise ProblemsFound(f"{len(broken)} case(s) break the access policy: {_ids(broken)}; "
                            "run `cocflow rekey`")


def _say_audit(report: AuditReport) -> None:
    rows = [(c.case_id, ", ".join(c.readers), ", ".join(c.recused),
             ", ".join(report.label(k) for k in c.departed), ", ".join(c.recused_recipients),
             ", ".join(c.missing), "ok" if not c.problems() else "REKEY")
            for c in report.cases]
    if not rows:
        say("No cases.")
    else:
        say(table(["case", "readers", "recused", "departed recipients", "recused recipients",
                   "cannot read yet", "policy"], rows))
    if report.history is None:
        return
    say("")
    if not report.history:
        say("History: no removed or recused member's key opens any committed version.")
        return
    say("History: git keeps every version; these keys still open the versions listed "
        "(re-keying cannot change that):")
    history_rows = [(p.case_id, p.handle or f"{p.key[:16]}... (unknown key)", p.why,
                     f"{len(p.commits)}: {', '.join(c[:8] for c in p.commits[:5])}"
                     + (" ..." if len(p.commits) > 5 else ""))
                    for p in report.history]
    say(table(["case", "member", "why", "versions"], history_rows))
