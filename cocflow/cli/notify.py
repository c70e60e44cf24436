"""`notify github|webhook`: the due list (ids, states, dates only) to GitHub or a webhook."""

from __future__ import annotations

import click

from cocflow.cli.common import emit_json, json_option, keyless_workspace, repo_option, say
from cocflow.cli.render import warn_unreadable
from cocflow.operations.notify import describe

WITHIN_HELP = "Warn this many days ahead (default: warn_days in cocflow.yaml)."


@click.group("notify")
def notify_group() -> None:
    """Post the list of due cases (ids, states, dates only) to GitHub or a webhook.

    \b
    Examples:
      cocflow notify github
      cocflow notify webhook --url https://chat.example.org/hooks/...
    """


@notify_group.command("github")
@click.option("--within", type=click.IntRange(min=0), metavar="DAYS", help=WITHIN_HELP)
@repo_option
@json_option
def notify_github_command(within: int | None, as_json: bool) -> None:
    """Keep exactly one open GitHub issue listing the due cases.

    The issue (label cocflow-deadline) is created when a case becomes due, updated with a
    comment (so that people are notified) when the list changes, and closed when nothing is
    due. Needs the gh CLI, authenticated its own way: `gh auth login`, or GH_TOKEN in a
    workflow (GH_REPO picks the repository; default: the git remote). Exit 4 without gh or
    when gh cannot authenticate.

    \b
    Examples:
      cocflow notify github
      GH_TOKEN=... GH_REPO=team/coc-cases cocflow notify github
      cocflow notify github --within 7 --json
    """
    from cocflow.operations.notify import notify_github_issue

    done = notify_github_issue(keyless_workspace(), within)
    warn_unreadable(done.unreadable)
    plan, due = done.github, done.due
    assert plan is not None
    if as_json:
        emit_json({**plan.to_json(), "cases": [case.to_json() for case in due]})
        return
    issue = f"#{plan.issue}" if plan.issue else "(number unknown)"
    say({
        "created": f"Opened issue {issue} listing {len(due)} due case(s).",
        "updated": f"Updated issue {issue}: {len(due)} due case(s)"
                   + (" (commented on the change)." if plan.comment else "."),
        "unchanged": f"Issue {issue} is up to date: {len(due)} due case(s).",
        "closed": f"Nothing is due: closed issue {issue}.",
        "none": "Nothing is due; no deadline issue is open.",
    }[plan.action])
    extra = plan.close[1:] if plan.action == "closed" else plan.close
    if extra:
        say(f"Closed duplicate issue(s): {', '.join(f'#{n}' for n in extra)}.")
    for case in due:
        say(f"  {describe(case)}")


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
    from cocflow.operations.notify import notify_webhook

    done = notify_webhook(keyless_workspace(), url, within, always, timeout)
    warn_unreadable(done.unreadable)
    due, status = done.due, done.webhook_status
    if as_json:
        emit_json({"sent": status is not None, "status": status,
                   "cases": [case.to_json() for case in due]})
    elif status is None:
        say("Nothing is due; nothing was sent (--always posts anyway).")
    else:
        say(f"Posted {len(due)} due case(s) to the webhook at {done.webhook_host} "
            f"(HTTP {status}).")
