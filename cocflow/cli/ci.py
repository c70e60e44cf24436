"""Keyless commands for CI and git: check, notify github|webhook, and the diff driver."""

from __future__ import annotations

from pathlib import Path

import click

from cocflow.cli.common import emit_json, json_option, keyless_workspace, repo_option, say
from cocflow.cli.lifecycle import due_or_warn
from cocflow.errors import ProblemsFound

WITHIN_HELP = "Warn this many days ahead (default: warn_days in cocflow.yaml)."


@click.command("check")
@click.option("--staged", is_flag=True,
              help="Check the versions staged in the git index, and only the files the next "
                   "commit changes (the pre-commit hook).")
@repo_option
@json_option
def check_command(staged: bool, as_json: bool) -> None:
    """Check the repository without a key: every problem, never any case content.

    Plaintext outside meta, meta against its schema, file names and ids, recipients
    against team.yaml and recusals, team.yaml and cocflow.yaml, sops metadata, evidence.
    Each problem has a file, a case id, a stable code and a message. Exit 1 on problems.

    \b
    Examples:
      cocflow check
      cocflow check --json
      cocflow check --staged       (what the pre-commit hook runs)
    """
    from cocflow.operations.check import check_repository

    report = check_repository(keyless_workspace().root, staged)
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            case = f" [{problem.case}]" if problem.case else ""
            say(f"{problem.file}{case} {problem.code}: {problem.message}")
        if report.ok:
            say(f"OK: {report.files_in_scope} staged change(s) checked, no problems."
                if staged else f"OK: {report.cases} case(s) checked, no problems.")
    if not report.ok:
        where = "in the staged changes" if staged else f"in {report.cases} case(s) checked"
        raise ProblemsFound(f"{len(report.problems)} problem(s) {where}; each line above "
                            "names the file, case, code and fix")


@click.group("notify")
def notify_group() -> None:
    """Post the list of due cases (ids, states, dates only) to GitHub or a webhook."""


@notify_group.command("github")
@click.option("--within", type=click.IntRange(min=0), metavar="DAYS", help=WITHIN_HELP)
@repo_option
@json_option
def notify_github_command(within: int | None, as_json: bool) -> None:
    """Keep exactly one open GitHub issue listing the due cases.

    The issue (label cocflow-deadline) is created when a case becomes due, updated when
    the list changes, and closed when nothing is due. Needs the gh CLI and GH_TOKEN
    (GH_REPO picks the repository; default: the git remote). Exit 4 without them.

    \b
    Examples:
      GH_TOKEN=... cocflow notify github
      cocflow notify github --within 7 --json
    """
    from cocflow.operations import notify

    ws = keyless_workspace()
    due = due_or_warn(ws, within)
    plan = notify.notify_github(notify.gh_runner(ws.root), due)
    if as_json:
        emit_json({**plan.to_json(), "cases": [case.to_json() for case in due]})
        return
    issue = f"#{plan.issue}" if plan.issue else "(number unknown)"
    say({
        "created": f"Opened issue {issue} listing {len(due)} due case(s).",
        "updated": f"Updated issue {issue}: {len(due)} due case(s).",
        "unchanged": f"Issue {issue} is up to date: {len(due)} due case(s).",
        "closed": f"Nothing is due: closed issue {issue}.",
        "none": "Nothing is due; no deadline issue is open.",
    }[plan.action])
    extra = plan.close[1:] if plan.action == "closed" else plan.close
    if extra:
        say(f"Closed duplicate issue(s): {', '.join(f'#{n}' for n in extra)}.")
    for case in due:
        say(f"  {notify.describe(case)}")


@notify_group.command("webhook")
@click.option("--url", envvar="COCFLOW_WEBHOOK_URL", metavar="URL",
              help="Where to POST (default: COCFLOW_WEBHOOK_URL). Treated as a secret.")
@click.option("--within", type=click.IntRange(min=0), metavar="DAYS", help=WITHIN_HELP)
@click.option("--always", is_flag=True, help="Post even when nothing is due.")
@click.option("--timeout", type=click.FloatRange(min=0.1, max=300), default=10.0,
              show_default=True, metavar="SECONDS", help="Give up after this long.")
@repo_option
@json_option
def notify_webhook_command(url: str | None, within: int | None, always: bool, timeout: float,
                           as_json: bool) -> None:
    """POST the due cases as JSON: {"text": summary, "cases": [...]}.

    Slack, Mattermost and Matrix hooks show `text`. Nothing is sent when nothing is due,
    unless --always. A timeout, an unreachable host or a non-2xx answer is exit 4; the
    URL's path (often the secret) is never printed.

    \b
    Examples:
      COCFLOW_WEBHOOK_URL=https://chat.example.org/hooks/... cocflow notify webhook
      cocflow notify webhook --url https://chat.example.org/hooks/... --always
    """
    from cocflow.errors import InvalidInput
    from cocflow.operations import notify

    if not url:
        raise InvalidInput("no webhook URL: pass --url or set COCFLOW_WEBHOOK_URL")
    host = notify.webhook_host(url)
    ws = keyless_workspace()
    due = due_or_warn(ws, within)
    status = None
    if due or always:
        status = notify.post_webhook(url, notify.webhook_payload(due), timeout)
    if as_json:
        emit_json({"sent": status is not None, "status": status,
                   "cases": [case.to_json() for case in due]})
    elif status is None:
        say("Nothing is due; nothing was sent (--always posts anyway).")
    else:
        say(f"Posted {len(due)} due case(s) to the webhook at {host} (HTTP {status}).")


@click.command("textconv", hidden=True)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def textconv_command(file: Path) -> None:
    """Show a case decrypted for `git diff` (the diff driver; git runs it).

    A member with a key sees the decrypted case; anyone else sees the file as it is, so
    `git diff` works without a key. Never cached.

    \b
    Example:
      git config diff.sops.textconv "python -m cocflow textconv"
    """
    from cocflow.operations.hooks import textconv

    stream = click.get_binary_stream("stdout")
    stream.write(textconv(file))
    stream.flush()
