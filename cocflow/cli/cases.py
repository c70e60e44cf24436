"""Case commands: new, list, show."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cocflow.operations.workspace import Workspace

from cocflow.cli.common import (
    case_id_argument,
    complete_handle,
    emit_json,
    free_text,
    json_option,
    keyless_workspace,
    next_step,
    repo_option,
    repo_path,
    say,
    stdin_is_terminal,
    text_option,
    warn,
    workspace,
)
from cocflow.cli.render import case_text, day, table
from cocflow.domain import lifecycle
from cocflow.domain.display import shown_meta


@click.command("new")
@click.option("--from", "source", type=click.File("rb"),
              help="A YAML file with `report:` (and optional received_at, recusals); - for stdin.")
@click.option("--from-email", "email_source", type=click.File("rb"), metavar="FILE",
              help="An email message (.eml, raw source); - for stdin, e.g. piped from a mail "
                   "client. Attachments become encrypted evidence.")
@click.option("--received-at", "received_at", metavar="TIMESTAMP",
              help="With --from-email: when the team received it (e.g. found in the inbox a "
                   "day late), instead of the newest Received: header.")
@click.option("--recuse", "recuse", multiple=True, metavar="HANDLE",
              shell_complete=complete_handle,
              help="Recuse a member from the start (repeatable).")
@click.option("--recuse-reason", type=click.Choice(lifecycle.RECUSAL_REASONS),
              default="conflict-of-interest", show_default=True,
              help="With --recuse: why the member steps back.")
@text_option("--recuse-note", help_text="With --recuse: a note on the recusal (encrypted).")
@click.option("--not-a-member", "not_a_member", multiple=True, metavar="NAME",
              help="A reported person whose name looks like a member's is not that member.")
@repo_option
@json_option
def new_command(source: Any, email_source: Any, received_at: str | None,
                recuse: tuple[str, ...], recuse_reason: str, recuse_note: str | None,
                not_a_member: tuple[str, ...], as_json: bool) -> None:
    """Open a case. Without --from or --from-email, asks for each field.

    A reported person whose team_handle is a member is recused automatically, before
    anything is encrypted. From an email, the sender is the reporter, the newest Received:
    header the time received (else now; --received-at overrides), Date the time sent,
    Subject the title and the text the description; the original message (original.eml) and
    each attachment become encrypted evidence in the same commit. A message without Date or
    From still opens; what was missing is said. Add the reported person, categories and
    space with `cocflow edit` during triage.

    \b
    Examples:
      cocflow new --from ~/intake/report.yaml
      cocflow new --from - --recuse bob < ~/intake/report.yaml
      cocflow new --from ~/intake/report.yaml --recuse bob --recuse-reason reporter-request \\
        --recuse-note "the reporter asked"
      cocflow new --from-email ~/intake/report.eml
      cocflow new --from-email - < ~/intake/report.eml
      cocflow new --from-email ~/intake/report.eml --received-at 2026-11-19T08:00:00Z
      cocflow new
    """
    from cocflow.operations.cases import open_case_from_email, read_intake, require_input_outside

    if source is not None and email_source is not None:
        raise click.UsageError("--from and --from-email cannot be used together")
    if received_at is not None and email_source is None:
        raise click.UsageError("--received-at goes with --from-email (put received_at in the "
                               "--from file)")
    if (recuse_note is not None or recuse_reason != "conflict-of-interest") and not recuse:
        raise click.UsageError("--recuse-reason and --recuse-note go with --recuse HANDLE")
    if recuse_note == "-" and "<stdin>" in (getattr(source, "name", None),
                                             getattr(email_source, "name", None)):
        raise click.UsageError("the report already comes from stdin: give --recuse-note TEXT")
    note = free_text(recuse_note, "A note on the recusal (encrypted)")
    recusals = [{"handle": h, "reason": recuse_reason, "note": note} for h in recuse]
    ws = workspace()
    for given in (source, email_source):
        if given is not None:
            require_input_outside(ws, str(getattr(given, "name", "-")))
    _ = ws.actor  # fail before asking questions when the key is not a member
    notices: tuple[str, ...] = ()
    if email_source is not None:
        opened = open_case_from_email(ws, email_source.read(), recusals, received_at)
        case, notices = opened.case, opened.notices
        for notice in notices:
            warn(notice)
    else:
        intake = read_intake(source.read()) if source is not None else _ask_for_report()
        case = _open_asking(ws, intake, recusals, list(not_a_member))
    meta = case["meta"]
    if as_json:
        extra = {"evidence": len(case.get("evidence") or []), "warnings": list(notices)
                 } if email_source is not None else {}
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


def _open_asking(ws: Workspace, intake: Any, recuse: list[dict[str, Any]],
                 not_a_member: list[str]) -> dict[str, Any]:
    """Open the case; on a terminal, ask about each reported person who may be a member."""
    from cocflow.errors import MemberNamed
    from cocflow.operations.cases import open_case

    while True:
        try:
            return open_case(ws, intake, recuse, not_a_member=not_a_member)
        except MemberNamed as exc:
            if not stdin_is_terminal():
                raise
            question = (f"Is the reported person {exc.name!r} the team member {exc.handle}? "
                        "(yes: they are recused and never read this case)")
            if click.confirm(question, default=True, err=True):
                recuse.append({"handle": exc.handle})
            else:
                not_a_member.append(exc.name)


def _ask_for_report() -> dict[str, Any]:
    if not stdin_is_terminal():
        raise click.UsageError("no report given: use --from FILE (or - for stdin), or run "
                               "`cocflow new` in a terminal to be asked")
    from cocflow.cli.interview import ask_for_report

    return ask_for_report()


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
    metas = [shown_meta(m) for m in metas]  # plaintext anyone can push: never shown raw
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
