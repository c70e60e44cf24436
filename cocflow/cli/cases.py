"""Case commands: new, list, show."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cocflow.operations.workspace import Workspace

from cocflow.cli.common import (
    case_id_argument,
    complete_handle,
    emit_json,
    json_option,
    keyless_workspace,
    next_step,
    repo_option,
    repo_path,
    say,
    workspace,
)
from cocflow.cli.render import case_text, day, table
from cocflow.domain import lifecycle

CATEGORIES_HINT = "comma-separated, e.g. intimidation,continued-contact (or 'other')"


@click.command("new")
@click.option("--from", "source", type=click.File("rb"),
              help="A YAML file with `report:` (and optional received_at, recusals); - for stdin.")
@click.option("--from-email", "email_source", type=click.File("rb"), metavar="FILE",
              help="An email message (.eml, raw source); - for stdin, e.g. piped from a mail "
                   "client. Attachments become encrypted evidence.")
@click.option("--recuse", "recuse", multiple=True, metavar="HANDLE",
              shell_complete=complete_handle,
              help="Recuse a member from the start (repeatable).")
@click.option("--not-a-member", "not_a_member", multiple=True, metavar="NAME",
              help="A reported person whose name looks like a member's is not that member.")
@repo_option
@json_option
def new_command(source: Any, email_source: Any, recuse: tuple[str, ...],
                not_a_member: tuple[str, ...], as_json: bool) -> None:
    """Open a case. Without --from or --from-email, asks for each field.

    A reported person whose team_handle is a member is recused automatically, before
    anything is encrypted. From an email, the sender is the reporter, Date the time received,
    Subject the title and the text the description; each attachment becomes an encrypted
    evidence file in the same commit. Add the reported person, categories and space with
    `cocflow edit` during triage.

    \b
    Examples:
      cocflow new --from report.yaml
      cocflow new --from - --recuse bob < report.yaml
      cocflow new --from-email report.eml
      cocflow new --from-email - < report.eml
      cocflow new
    """
    from cocflow.operations.cases import open_case_from_email, read_intake

    if source is not None and email_source is not None:
        raise click.UsageError("--from and --from-email cannot be used together")
    ws = workspace()
    _ = ws.actor  # fail before asking questions when the key is not a member
    if email_source is not None:
        case = open_case_from_email(ws, email_source.read(), recuse)
    else:
        intake = read_intake(source.read()) if source is not None else _ask_for_report()
        case = _open_asking(ws, intake, list(recuse), list(not_a_member))
    meta = case["meta"]
    if as_json:
        extra = {"evidence": len(case["evidence"])} if email_source is not None else {}
        emit_json({"id": meta["id"], **extra})
        return
    say(f"Opened case {meta['id']} (one commit). Respond by {day(meta['respond_by'])}.")
    if case.get("evidence"):
        say(f"Encrypted {len(case['evidence'])} attachment(s) as evidence: "
            f"cocflow evidence {meta['id']}")
    if meta["recused"]:
        say(f"Recused: {', '.join(meta['recused'])}; they cannot read this case.")
    if email_source is not None:
        next_step(f"cocflow edit {meta['id']} (add the reported person, categories and space), "
                  f"then cocflow move {meta['id']} acknowledged -m 'replied to the reporter'")
    else:
        next_step(f"cocflow move {meta['id']} acknowledged -m 'replied to the reporter'")


def _open_asking(ws: Workspace, intake: Any, recuse: list[str],
                 not_a_member: list[str]) -> dict[str, Any]:
    """Open the case; on a terminal, ask about each reported person who may be a member."""
    from cocflow.errors import MemberNamed
    from cocflow.operations.cases import open_case

    while True:
        try:
            return open_case(ws, intake, recuse, not_a_member=not_a_member)
        except MemberNamed as exc:
            if not sys.stdin.isatty():
                raise
            question = (f"Is the reported person {exc.name!r} the team member {exc.handle}? "
                        "(yes: they are recused and never read this case)")
            if click.confirm(question, default=True, err=True):
                recuse.append(exc.handle)
            else:
                not_a_member.append(exc.name)


def _ask_for_report() -> dict[str, Any]:
    if not sys.stdin.isatty():
        raise click.UsageError("no report given: use --from FILE (or - for stdin), or run "
                               "`cocflow new` in a terminal to be asked")
    say("New case. Press Enter to leave an optional field empty.")
    report: dict[str, Any] = {
        "title": click.prompt("Title (a short, neutral summary)"),
        "channel": click.prompt("Channel", type=click.Choice(
            ["email", "form", "in-person", "chat", "other"]), default="email"),
    }
    anonymous = click.confirm("Is the reporter anonymous?", default=False)
    report["reporter"] = {"anonymous": anonymous}
    if not anonymous:
        report["reporter"]["name"] = _optional("Reporter name")
        report["reporter"]["contact"] = _optional("Reporter contact")
    reported_name = _optional("Reported person's name")
    if reported_name:
        report["reported"] = [{"name": reported_name,
                               "contact": _optional("Reported person's contact"),
                               "team_handle": _optional("Their team handle, if a member")}]
    report["occurred_at"] = _optional("When it happened (e.g. 2026-11-18T20:00:00Z)")
    report["space"] = _optional("Space (online, event, social, outside)")
    report["location"] = _optional("Where")
    categories = _optional(f"Categories ({CATEGORIES_HINT})")
    report["categories"] = [c.strip() for c in (categories or "").split(",") if c.strip()]
    report["description"] = click.edit("# Describe what happened; lines starting with # are "
                                       "dropped.\n") or ""
    report["description"] = "\n".join(
        line for line in report["description"].splitlines() if not line.startswith("#")).strip()
    report["consent"] = {
        "name_reporter": click.confirm("May the reporter be named in a decision?", default=False),
        "share_with_reported": click.confirm("May the report be shared with the reported person?",
                                             default=False),
    }
    return {"report": report}


def _optional(prompt: str) -> str | None:
    answer = click.prompt(prompt, default="", show_default=False)
    return answer.strip() or None


@click.command("list")
@click.option("--status", type=click.Choice(lifecycle.STATES), help="Only cases in this state.")
@click.option("--open", "open_only", is_flag=True, help="Only cases not closed or dismissed.")
@repo_option
@json_option
def list_command(status: str | None, open_only: bool, as_json: bool) -> None:
    """List cases from their plaintext meta (no key needed).

    \b
    Examples:
      cocflow list --open
      cocflow list --status investigating --json
    """
    from cocflow.operations.cases import list_cases

    metas = list_cases(keyless_workspace(), status, open_only)
    if as_json:
        emit_json(metas)
        return
    if not metas:
        say("No cases." if not (status or open_only) else "No cases match.")
        return
    rows = [(m["id"], m["status"] + (" (triage)" if m.get("triage") is True else ""),
             day(m["received_at"]), day(m["respond_by"]),
             day(m.get("responded_at")), ", ".join(m.get("recused") or [])) for m in metas]
    say(table(["id", "status", "received", "respond by", "responded", "recused"], rows))


@click.command("show")
@case_id_argument
@click.option("--related/--no-related", default=None,
              help="List other readable cases naming the same reported person, contact or "
                   "handle (decrypts every case you can read). Default: on, except with --json.")
@repo_option
@json_option
def show_command(case_id: str, related: bool | None, as_json: bool) -> None:
    """Decrypt a case and show it, with the other cases naming the same reported people.

    With --json the case document alone, unless --related (then `{"case": ..., "related":
    [...]}`).

    \b
    Examples:
      cocflow show 2026-0007
      cocflow show 2026-0007 --no-related
      cocflow show 2026-0007 --json
      cocflow show 2026-0007 --json --related
    """
    from cocflow.operations.show import show_case

    ws, case = show_case(repo_path(), case_id)
    hits = None
    if related if related is not None else not as_json:
        from cocflow.operations.search import related_cases

        hits = related_cases(ws, case)
    if as_json:
        emit_json(case if hits is None else {"case": case, "related": [h.to_json() for h in hits]})
        return
    click.echo(case_text(case, ws.now()), nl=False)
    if hits:
        say("\nRelated cases (naming the same reported person or contact)")
        say(table(["id", "status", "received", "named as"],
                  [(h.case_id, h.status, day(h.received_at), ", ".join(h.fields))
                   for h in hits]))
