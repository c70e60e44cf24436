"""Deadline alerts without a key: one GitHub issue kept current through `gh`, or a webhook.

Only what `due` shows leaves the repository: case ids, states, deadlines and days left.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cocflow.adapters import webhook
from cocflow.adapters.github import Runner, gh_runner
from cocflow.domain.deadlines import DueCase
from cocflow.domain.display import markdown_text, slack_text
from cocflow.errors import EnvironmentProblem, InvalidInput
from cocflow.operations.lifecycle import due
from cocflow.operations.workspace import Workspace

LABEL = "cocflow-deadline"
LABEL_COLOR = "B60205"
MARKER = "<!-- cocflow-deadline: kept up to date by `cocflow notify github` -->"


def describe(case: DueCase) -> str:
    """One case in words: id, state, deadline, days left."""
    if case.overdue:
        when = f"overdue by {_days(-case.days_left or 1)}"
    else:
        when = f"{_days(case.days_left)} left"
    status = f"{case.status}, in triage" if case.triage else case.status
    return f"{case.id} ({status}), respond by {case.respond_by}, {when}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def summary(due: Sequence[DueCase]) -> str:
    """A one-paragraph text for chat webhooks."""
    if not due:
        return "cocflow: no case is awaiting a first response."
    overdue = sum(1 for case in due if case.overdue)
    head = f"cocflow: {len(due)} case(s) awaiting a first response"
    head += f", {overdue} overdue" if overdue else ""
    return head + ": " + "; ".join(slack_text(describe(case)) for case in due) + "."


# --- GitHub: one labelled issue ---------------------------------------------------------


def issue_title(due: Sequence[DueCase]) -> str:
    overdue = sum(1 for case in due if case.overdue)
    extra = f", {overdue} overdue" if overdue else ""
    return f"cocflow: {len(due)} case(s) awaiting a first response{extra}"


def issue_body(due: Sequence[DueCase]) -> str:
    """A table of the due cases and nothing else about them."""
    rows = [f"| {markdown_text(c.id)} | {markdown_text(c.status)} | {markdown_text(c.respond_by)}"
            f" | {_days_left(c)} |" for c in due]
    return "\n".join([
        MARKER,
        "Cases awaiting a first response to the reporter: deadline soon, or passed.",
        "",
        "| case | state | respond by | days left |",
        "|---|---|---|---|",
        *rows,
        "",
        "Answer the reporter, then `cocflow move ID acknowledged`. This issue closes itself "
        "when nothing is due.",
    ]) + "\n"


def _days_left(case: DueCase) -> str:
    return f"{case.days_left} (overdue)" if case.overdue else str(case.days_left)


@dataclass(frozen=True)
class GithubPlan:
    """What `notify github` will do, computed before anything is changed."""

    action: str  # created | updated | unchanged | closed | none
    issue: int | None
    title: str
    body: str
    close: tuple[int, ...] = ()
    # When the list changed: a comment saying how, so that GitHub notifies the
    # participants (an edited issue body notifies nobody).
    comment: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "issue": self.issue, "closed": list(self.close),
                "commented": self.comment is not None}


_CASE_ROW = re.compile(r"^\| (\d{4}-\d{4,}) \| [a-z-]+ \| [0-9TZ:-]+ \| (-?\d+)( \(overdue\))? \|$",
                       re.M)


def listed_cases(body: str) -> dict[str, bool]:
    """Case id -> overdue, read back from an issue body this module wrote.

    Only ids and the overdue mark are taken: the body is editable by anyone who can edit
    issues, and nothing else of it is ever repeated.
    """
    return {match.group(1): bool(match.group(3)) for match in _CASE_ROW.finditer(body or "")}


def change_comment(before: dict[str, bool], due: Sequence[DueCase]) -> str | None:
    """What changed in the due list, in ids only; None when nothing did."""
    now = {case.id: case.overdue for case in due}
    new = [i for i in now if i not in before]
    overdue = [i for i in now if now[i] and i in before and not before[i]]
    gone = [i for i in before if i not in now]
    parts = []
    if new:
        parts.append(f"newly due: {', '.join(new)}")
    if overdue:
        parts.append(f"now overdue: {', '.join(overdue)}")
    if gone:
        parts.append(f"no longer due (answered, closed or moved): {', '.join(gone)}")
    if not parts:
        return None
    return "The list of cases awaiting a first response changed: " + "; ".join(parts) + "."


def plan_github(open_issues: Sequence[dict[str, Any]], due: Sequence[DueCase]) -> GithubPlan:
    """Keep exactly one open issue: create, update, leave, or close it (and any duplicates)."""
    numbers = sorted(int(issue["number"]) for issue in open_issues)
    title, body = issue_title(due), issue_body(due)
    if not due:
        return GithubPlan("closed" if numbers else "none", numbers[0] if numbers else None,
                          title, body, tuple(numbers))
    if not numbers:
        return GithubPlan("created", None, title, body)
    keep = next(i for i in open_issues if int(i["number"]) == numbers[0])
    same = (keep.get("body") or "").strip() == body.strip() and keep.get("title") == title
    if same:
        return GithubPlan("unchanged", numbers[0], title, body, tuple(numbers[1:]))
    comment = change_comment(listed_cases(keep.get("body") or ""), due)
    return GithubPlan("updated", numbers[0], title, body, tuple(numbers[1:]), comment)




def notify_github(run: Runner, due: Sequence[DueCase]) -> GithubPlan:
    """Bring the one labelled issue in line with the due list."""
    listing = run(["issue", "list", "--label", LABEL, "--state", "open",
                   "--json", "number,title,body", "--limit", "100"])
    try:
        open_issues = json.loads(listing or "[]")
    except ValueError:
        raise EnvironmentProblem("gh issue list did not answer with JSON") from None
    plan = plan_github(open_issues, due)
    if plan.action == "created":
        run(["label", "create", LABEL, "--color", LABEL_COLOR, "--force",
             "--description", "cocflow: cases awaiting a first response"])
        url = run(["issue", "create", "--title", plan.title, "--body", plan.body,
                   "--label", LABEL])
        found = re.search(r"/issues/(\d+)\s*$", url.strip())
        plan = GithubPlan("created", int(found.group(1)) if found else None, plan.title,
                          plan.body)
    elif plan.action == "updated":
        run(["issue", "edit", str(plan.issue), "--title", plan.title, "--body", plan.body])
        if plan.comment:
            run(["issue", "comment", str(plan.issue), "--body", plan.comment])
    for number in plan.close:
        note = ("Nothing is due any more." if plan.action == "closed"
                else f"Duplicate of #{plan.issue}; cocflow keeps one deadline issue open.")
        run(["issue", "close", str(number), "--comment", note])
    return plan


# --- webhook ----------------------------------------------------------------------------


def webhook_payload(due: Sequence[DueCase]) -> dict[str, Any]:
    """Slack/Mattermost/Matrix-hook compatible: `text`, plus the list for other consumers."""
    return {"text": summary(due), "cases": [case.to_json() for case in due]}


@dataclass(frozen=True)
class Notified:
    """What a notification did: the due list, cases skipped, and the transport's answer."""

    due: list[DueCase]
    unreadable: list[str]
    github: GithubPlan | None = None
    webhook_status: int | None = None
    webhook_host: str | None = None


def notify_github_issue(ws: Workspace, within: int | None) -> Notified:
    """Bring the deadline issue of the repository's GitHub project in line with `due`."""
    found, unreadable = due(ws, within)
    return Notified(found, unreadable, github=notify_github(gh_runner(ws.root), found))


def notify_webhook(ws: Workspace, url: str | None, within: int | None, always: bool,
                   timeout: float) -> Notified:
    """POST the due list to a webhook (nothing when nothing is due, unless `always`)."""
    if not url:
        raise InvalidInput("no webhook URL: pass --url or set COCFLOW_WEBHOOK_URL")
    host = webhook.webhook_host(url)  # a bad URL is refused before anything is read
    found, unreadable = due(ws, within)
    status = None
    if found or always:
        status = webhook.post_webhook(url, webhook_payload(found), timeout)
    return Notified(found, unreadable, webhook_status=status, webhook_host=host)

