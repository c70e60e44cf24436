"""Deadline alerts without a key: one GitHub issue kept current through `gh`, or a webhook.

Only what `due` shows leaves the repository: case ids, states, deadlines and days left.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow import __version__
from cocflow.domain.deadlines import DueCase
from cocflow.errors import EnvironmentProblem, InvalidInput

LABEL = "cocflow-deadline"
LABEL_COLOR = "B60205"
MARKER = "<!-- cocflow-deadline: kept up to date by `cocflow notify github` -->"
GH_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 10.0


def describe(case: DueCase) -> str:
    """One case in words: id, state, deadline, days left."""
    if case.overdue:
        when = f"overdue by {_days(-case.days_left or 1)}"
    else:
        when = f"{_days(case.days_left)} left"
    return f"{case.id} ({case.status}), respond by {case.respond_by}, {when}"


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def summary(due: Sequence[DueCase]) -> str:
    """A one-paragraph text for chat webhooks."""
    if not due:
        return "cocflow: no case is awaiting a first response."
    overdue = sum(1 for case in due if case.overdue)
    head = f"cocflow: {len(due)} case(s) awaiting a first response"
    head += f", {overdue} overdue" if overdue else ""
    return head + ": " + "; ".join(describe(case) for case in due) + "."


# --- GitHub: one labelled issue ---------------------------------------------------------


def issue_title(due: Sequence[DueCase]) -> str:
    overdue = sum(1 for case in due if case.overdue)
    extra = f", {overdue} overdue" if overdue else ""
    return f"cocflow: {len(due)} case(s) awaiting a first response{extra}"


def issue_body(due: Sequence[DueCase]) -> str:
    """A table of the due cases and nothing else about them."""
    rows = [f"| {c.id} | {c.status} | {c.respond_by} | {_days_left(c)} |" for c in due]
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

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "issue": self.issue, "closed": list(self.close)}


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
    return GithubPlan("unchanged" if same else "updated", numbers[0], title, body,
                      tuple(numbers[1:]))


Runner = Callable[[Sequence[str]], str]


def gh_runner(root: Path) -> Runner:
    """Run `gh` in the repository; refuses to start without gh or a token."""
    gh = shutil.which("gh")
    if gh is None:
        raise EnvironmentProblem("gh (the GitHub CLI) not found on PATH: install it, or use "
                                 "`cocflow notify webhook`")
    if not (os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")):
        raise EnvironmentProblem("no GitHub token: set GH_TOKEN (in a workflow: "
                                 "`GH_TOKEN: ${{ github.token }}` with `issues: write`)")
    environment = {**os.environ, "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1"}

    def run(args: Sequence[str]) -> str:
        try:
            done = subprocess.run([gh, *args], cwd=root, env=environment, capture_output=True,
                                  text=True, timeout=GH_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(f"gh {args[0]} {args[1]} did not finish within "
                                     f"{GH_TIMEOUT:.0f}s") from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[0][:200]
            raise EnvironmentProblem(f"gh {args[0]} {args[1]} failed (exit {done.returncode}): "
                                     f"{reason}")
        return done.stdout

    return run


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
    for number in plan.close:
        note = ("Nothing is due any more." if plan.action == "closed"
                else f"Duplicate of #{plan.issue}; cocflow keeps one deadline issue open.")
        run(["issue", "close", str(number), "--comment", note])
    return plan


# --- webhook ----------------------------------------------------------------------------


def webhook_host(url: str) -> str:
    """Scheme and host of a webhook URL: its path and query are often the secret."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must start with https:// (or http://) and name a "
                           "host")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def webhook_payload(due: Sequence[DueCase]) -> dict[str, Any]:
    """Slack/Mattermost/Matrix-hook compatible: `text`, plus the list for other consumers."""
    return {"text": summary(due), "cases": [case.to_json() for case in due]}


def post_webhook(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST the payload as JSON; any failure is an EnvironmentProblem that hides the URL."""
    host = webhook_host(url)
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"cocflow/{__version__}"},
    )
    try:
        # The scheme was checked above: urlopen would also open file:// URLs.
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise EnvironmentProblem(f"the webhook at {host} answered HTTP {exc.code}; nothing "
                                 "was delivered") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise EnvironmentProblem(f"the webhook at {host} did not answer within "
                                     f"{timeout:g}s; nothing was delivered") from None
        # Only the kind of failure: a URLError's text can carry the full (secret) URL.
        what = getattr(reason, "strerror", None) or type(reason).__name__
        raise EnvironmentProblem(f"could not reach the webhook at {host} ({what}); nothing "
                                 "was delivered") from None
    if not 200 <= status < 300:
        raise EnvironmentProblem(f"the webhook at {host} answered HTTP {status}; nothing was "
                                 "delivered")
    return status
