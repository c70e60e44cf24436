"""The web intake: `intake form`, `intake serve`, `inbox pull`, `inbox import`, `reply`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cocflow.cli.common import (
    case_id_argument,
    emit_json,
    json_option,
    keyless_workspace,
    next_step,
    repo_option,
    say,
    workspace,
)


@click.group("intake")
def intake_group() -> None:
    """The web form a reporter uses, encrypted in their browser, and its receiver.

    \b
    Examples:
      cocflow intake form --out site/
      COCFLOW_INBOX_TOKEN=... cocflow intake serve --inbox /srv/cocflow-inbox
    """


@intake_group.command("form")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Folder to write index.html, status.html, intake.js and intake.css into.")
@repo_option
@json_option
def form_command(out: Path, as_json: bool) -> None:
    """Write the static report form and status page, with the team's public intake keys.

    The page encrypts each report in the browser to the triage readers (cocflow.yaml) and
    escrow, minus the members the reporter excludes; it loads nothing from another origin.
    Rebuild it after every roster change.

    \b
    Examples:
      cocflow intake form --out site/
      cocflow intake form --out /var/www/report --json
    """
    from cocflow.operations.intake import write_form

    written = write_form(keyless_workspace(), out)
    if as_json:
        emit_json({"written": [str(p) for p in written]})
        return
    say(f"Wrote the intake form to {out} ({', '.join(p.name for p in written)}).")
    next_step("serve it with `cocflow intake serve --inbox DIR` behind a TLS proxy "
              "(docs/intake.md)")


@intake_group.command("serve")
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for encrypted submissions and replies (created if missing).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--site", type=click.Path(file_okay=False, path_type=Path),
              help="Serve a folder `intake form` wrote (default: build it from the repository).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the team's pull token (default: $COCFLOW_INBOX_TOKEN).")
@click.option("--rate", default=5, show_default=True, type=click.IntRange(1, 10000),
              help="Submissions accepted per client in 10 minutes.")
@repo_option
def serve_command(inbox: Path, host: str, port: int, site: Path | None,
                  token_file: Path | None, rate: int) -> None:
    """Receive encrypted reports; hold no key; hand them to the team's token.

    Needs the optional extra: pip install 'cocflow[intake]'. Logs no request, body or
    address. Put it behind a TLS reverse proxy (docs/intake.md).

    \b
    Examples:
      COCFLOW_INBOX_TOKEN=$(cat token) cocflow intake serve --inbox /srv/inbox
      cocflow intake serve --site site/ --inbox /srv/inbox --token-file /etc/cocflow/token
    """
    from cocflow.operations.intake import receiver, serve

    app = receiver(site if site is not None else keyless_workspace(), inbox, token_file, rate)
    say(f"Serving the intake form on http://{host}:{port}/ (Ctrl-C stops).")
    serve(app, host, port)


@click.group("inbox")
def inbox_group() -> None:
    """Bring web-form reports from the receiver into the repository as triage cases.

    \b
    Examples:
      cocflow inbox pull
      cocflow inbox import
    """


@inbox_group.command("pull")
@repo_option
@json_option
def pull_command(as_json: bool) -> None:
    """Fetch new encrypted submissions (inbox_url or $COCFLOW_INBOX_URL, $COCFLOW_INBOX_TOKEN).

    They wait, still encrypted, in this clone's git directory for `inbox import`.

    \b
    Examples:
      COCFLOW_INBOX_TOKEN=... cocflow inbox pull
      cocflow inbox pull --json
    """
    from cocflow.operations.inbox import pull

    fetched = pull(keyless_workspace())
    if as_json:
        emit_json({"pulled": fetched})
        return
    say(f"Pulled {len(fetched)} new submission(s).")
    if fetched:
        next_step("cocflow inbox import")


@inbox_group.command("import")
@click.option("--retry-aside", is_flag=True,
              help="Try the submissions set aside before again (after a fix, another key).")
@repo_option
@json_option
def import_command(retry_aside: bool, as_json: bool) -> None:
    """Open a triage case for each pulled submission (one commit each).

    A submission that does not decrypt or is not a valid report is set aside and named;
    it leaves the receiver only once its case is committed. Replays are recognised.

    \b
    Examples:
      cocflow inbox import
      cocflow inbox import --json
      cocflow inbox import --retry-aside
    """
    from cocflow.errors import ProblemsFound
    from cocflow.operations.inbox import import_pulled

    result = import_pulled(workspace(), retry_aside)
    if as_json:
        emit_json(result.to_json())
    else:
        for item in result.imported:
            say(f"Opened {item['case']} in triage from submission {item['submission']}.")
        for item in result.replays:
            say(f"Submission {item['submission']} is a replay of {item['case']}: not imported.")
        for item in result.aside:
            say(f"Set aside submission {item['submission']}: {item['reason']}")
        for submission in result.not_deleted:
            say(f"Submission {submission} is imported but still on the receiver (it could not "
                "be deleted); the next import recognises it")
        if not (result.imported or result.replays or result.aside):
            say("Nothing to import (run `cocflow inbox pull` first).")
        if result.imported:
            next_step(f"cocflow show {result.imported[0]['case']}, then `cocflow reply ID -m` "
                      "and `cocflow share ID --team`")
    if result.aside:
        raise ProblemsFound(f"{len(result.aside)} submission(s) set aside: not imported")


@click.command("reply")
@case_id_argument
@click.option("-m", "--message", "text", metavar="TEXT",
              help="The reply (default: stdin when piped, else $EDITOR).")
@repo_option
@json_option
def reply_command(case_id: str, text: str | None, as_json: bool) -> None:
    """Send an encrypted reply to a web-form reporter; they read it with their receipt code.

    The reply is encrypted to the key derived from the reporter's receipt code, uploaded to
    the receiver, and recorded in the case's timeline (event `replied`).

    \b
    Examples:
      cocflow reply 2026-0007 -m "Thank you; we are looking into it."
      echo "Could you tell us when it happened?" | cocflow reply 2026-0007
    """
    from cocflow.operations.inbox import reply, reply_text_from_editor

    if text is None:
        text = sys.stdin.read() if not sys.stdin.isatty() else reply_text_from_editor()
    case = reply(workspace(), case_id, text)
    if as_json:
        emit_json({"id": case["meta"]["id"], "replied": True})
        return
    say(f"Sent an encrypted reply on {case['meta']['id']} and recorded it (one commit).")
