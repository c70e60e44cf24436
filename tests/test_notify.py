"""`cocflow notify`: a fake `gh` first on PATH, and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cocflow.domain.timestamps import format_timestamp, parse_timestamp
from cocflow.operations.notify import LABEL, MARKER
from tests.conftest import SENTINEL

FAKE_GH = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
tokens = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN")
if not any(os.environ.get(name) for name in tokens) and not os.environ.get("FAKE_GH_LOGGED_IN"):
    sys.stderr.write("To get started with GitHub CLI, please run:  gh auth login\\n")
    sys.exit(4)
if os.environ.get("FAKE_GH_FAIL"):
    sys.stderr.write("HTTP 401: Bad credentials (https://api.github.com/graphql)\\n")
    sys.exit(1)
if args[:2] == ["issue", "list"]:
    print(open(os.environ["FAKE_GH_ISSUES"]).read())
elif args[:2] == ["issue", "create"]:
    print("https://github.com/team/coc-cases/issues/7")
"""


class FakeGh:
    """A `gh` that records its arguments and serves canned open issues."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.bin = folder / "bin"
        self.bin.mkdir()
        script = self.bin / "gh"
        script.write_text(FAKE_GH.format(python=sys.executable))
        script.chmod(0o755)
        self.log = folder / "calls.jsonl"
        self.issues = folder / "issues.json"
        self.serve([])

    def serve(self, issues: list[dict]) -> None:
        self.issues.write_text(json.dumps(issues))

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}", "GH_TOKEN": "t0ken",
                "FAKE_GH_LOG": str(self.log), "FAKE_GH_ISSUES": str(self.issues), **extra}

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[str]:
        return [" ".join(call[:2]) for call in self.calls()]


@pytest.fixture
def gh(tmp_path: Path) -> FakeGh:
    return FakeGh(tmp_path / "fake-gh")


def clock_at(repo: Path, run, days_after_received: float) -> str:
    """A COCFLOW_NOW this many days after the first case was received."""
    meta = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]
    return format_timestamp(parse_timestamp(meta["received_at"])
                            + timedelta(days=days_after_received))


def notify(repo: Path, run, gh: FakeGh, now: str, *extra: str, **env: str):
    return run("-C", str(repo), "notify", "github", *extra,
               env={**gh.env(**env), "COCFLOW_NOW": now})


def arg(call: list[str], flag: str) -> str:
    return call[call.index(flag) + 1]


def test_creates_one_labelled_issue_listing_only_ids_states_and_dates(repo, open_case, run, gh):
    case_id = open_case()
    result = notify(repo, run, gh, clock_at(repo, run, 12), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "created"
    assert json.loads(result.stdout)["issue"] == 7
    assert gh.commands() == ["issue list", "label create", "issue create"]
    listing, _, create = gh.calls()
    assert arg(listing, "--label") == LABEL and arg(listing, "--state") == "open"
    assert arg(create, "--label") == LABEL
    body = arg(create, "--body")
    assert body.startswith(MARKER)
    assert f"| {case_id} | received |" in body and "| 2 |" in body
    assert "1 case(s) awaiting a first response" in arg(create, "--title")
    assert SENTINEL not in json.dumps(gh.calls()) + result.stdout + result.stderr


def test_an_unchanged_list_leaves_the_issue_alone(repo, open_case, run, gh):
    open_case()
    now = clock_at(repo, run, 12)
    assert notify(repo, run, gh, now).exit_code == 0
    create = gh.calls()[-1]
    gh.serve([{"number": 7, "title": arg(create, "--title"), "body": arg(create, "--body")}])
    gh.log.unlink()
    result = notify(repo, run, gh, now)
    assert result.exit_code == 0, result.stderr
    assert gh.commands() == ["issue list"]
    assert "up to date" in result.stdout


def test_a_changed_list_updates_the_open_issue(repo, open_case, run, gh):
    case_id = open_case()
    gh.serve([{"number": 7, "title": "cocflow: old", "body": f"{MARKER}\nold list"}])
    result = notify(repo, run, gh, clock_at(repo, run, 15))
    assert result.exit_code == 0, result.stderr
    assert gh.commands() == ["issue list", "issue edit", "issue comment"]
    edit = gh.calls()[1]
    assert edit[2] == "7"
    assert f"| {case_id} | received |" in arg(edit, "--body") and "(overdue)" in arg(edit, "--body")
    assert "1 overdue" in arg(edit, "--title")
    assert "Updated issue #7" in result.stdout and "overdue by 1 day" in result.stdout


def test_nothing_due_closes_the_issue(repo, open_case, run, gh):
    open_case()
    gh.serve([{"number": 7, "title": "t", "body": "b"}])
    result = notify(repo, run, gh, clock_at(repo, run, 1))
    assert result.exit_code == 0, result.stderr
    assert gh.commands() == ["issue list", "issue close"]
    assert gh.calls()[-1][2] == "7"
    assert "closed issue #7" in result.stdout


def test_nothing_due_and_no_issue_does_nothing(repo, open_case, run, gh):
    open_case()
    result = notify(repo, run, gh, clock_at(repo, run, 1), "--json")
    assert json.loads(result.stdout) == {"action": "none", "issue": None, "closed": [],
                                         "commented": False, "cases": []}
    assert gh.commands() == ["issue list"]


def test_within_widens_the_window(repo, open_case, run, gh):
    open_case()
    result = notify(repo, run, gh, clock_at(repo, run, 1), "--within", "14", "--json")
    assert json.loads(result.stdout)["action"] == "created"


def test_duplicate_issues_are_closed_keeping_the_oldest(repo, open_case, run, gh):
    open_case()
    gh.serve([{"number": 9, "title": "t", "body": "b"}, {"number": 4, "title": "t", "body": "b"}])
    result = notify(repo, run, gh, clock_at(repo, run, 12))
    assert result.exit_code == 0, result.stderr
    assert gh.commands() == ["issue list", "issue edit", "issue comment", "issue close"]
    assert gh.calls()[1][2] == "4" and gh.calls()[2][2] == "4" and gh.calls()[3][2] == "9"


def test_without_gh_on_path_is_exit_4(repo, run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("-C", str(repo), "notify", "github",
                 env={"PATH": str(empty), "GH_TOKEN": "t0ken"})
    assert result.exit_code == 4
    assert "gh (the GitHub CLI) not found" in result.stderr


def test_gh_authenticates_itself_without_a_token_in_the_environment(repo, open_case, run, gh):
    open_case()
    env = {**gh.env(FAKE_GH_LOGGED_IN="1"), "COCFLOW_NOW": clock_at(repo, run, 12)}
    del env["GH_TOKEN"]  # logged in with `gh auth login`: no token variable at all
    result = run("-C", str(repo), "notify", "github", env=env)
    assert result.exit_code == 0, result.stderr
    assert gh.commands() == ["issue list", "label create", "issue create"]


def test_an_unauthenticated_gh_is_exit_4_saying_how_to_log_in(repo, run, gh):
    env = gh.env()
    del env["GH_TOKEN"]
    result = run("-C", str(repo), "notify", "github", env=env)
    assert result.exit_code == 4
    assert "gh auth login" in result.stderr and "GH_TOKEN" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_change_in_the_list_is_commented_so_people_are_notified(repo, open_case, run, gh):
    first = open_case()
    now = clock_at(repo, run, 12)
    assert notify(repo, run, gh, now).exit_code == 0
    create = gh.calls()[-1]
    gh.serve([{"number": 7, "title": arg(create, "--title"), "body": arg(create, "--body")}])
    second = open_case()
    gh.log.unlink()
    later = format_timestamp(parse_timestamp(now) + timedelta(days=3))
    result = notify(repo, run, gh, later, "--within", "14", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["commented"] is True
    assert gh.commands() == ["issue list", "issue edit", "issue comment"]
    comment = arg(gh.calls()[-1], "--body")
    assert f"newly due: {second}" in comment and f"now overdue: {first}" in comment
    assert SENTINEL not in json.dumps(gh.calls())


def test_a_comment_repeats_only_case_ids_never_text_from_the_issue(repo, open_case, run, gh):
    open_case()
    planted = f"{MARKER}\n| 2026-9999 | received | 2026-01-01T00:00:00Z | 2 |\n| x | <script> |"
    gh.serve([{"number": 7, "title": "t", "body": planted}])
    assert notify(repo, run, gh, clock_at(repo, run, 12)).exit_code == 0
    comment = arg(gh.calls()[-1], "--body")
    assert "no longer due (answered, closed or moved): 2026-9999" in comment
    assert "<script>" not in comment


def test_a_failing_gh_is_a_clear_exit_4(repo, open_case, run, gh):
    open_case()
    result = notify(repo, run, gh, clock_at(repo, run, 12), FAKE_GH_FAIL="1")
    assert result.exit_code == 4
    assert "gh issue list failed (exit 1): HTTP 401: Bad credentials" in result.stderr
    assert "t0ken" not in result.stderr


# --- webhook ----------------------------------------------------------------------------


class Hook:
    """A real HTTP server on 127.0.0.1 that records what it receives."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status, self.delay, self.received = status, delay, []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/S3CRET-PATH"

    def start(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
                time.sleep(hook.delay)
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the timeout test hangs up on purpose; no stack trace in the test log

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()


@pytest.fixture
def hook_server() -> Iterator[Hook]:
    hooks: list[Hook] = []

    def start(**options: object) -> Hook:
        hook = Hook(**options)  # type: ignore[arg-type]
        hook.start()
        hooks.append(hook)
        return hook

    yield start  # type: ignore[misc]
    for hook in hooks:
        hook.server.shutdown()
        hook.server.server_close()


def webhook(repo: Path, run, now: str, *extra: str, env: dict[str, str] | None = None):
    return run("-C", str(repo), "notify", "webhook", *extra,
               env={"COCFLOW_NOW": now, **(env or {})})


def test_webhook_posts_text_and_cases_as_json(repo, open_case, run, hook_server):
    case_id = open_case()
    hook = hook_server()
    result = webhook(repo, run, clock_at(repo, run, 12), "--url", hook.url)
    assert result.exit_code == 0, result.stderr
    [(path, content_type, payload)] = hook.received
    assert (path, content_type) == ("/hooks/S3CRET-PATH", "application/json")
    assert set(payload) == {"text", "cases"}
    assert payload["cases"][0]["id"] == case_id and payload["cases"][0]["days_left"] == 2
    assert case_id in payload["text"] and "2 days left" in payload["text"]
    assert SENTINEL not in json.dumps(payload)
    assert "S3CRET" not in result.stdout + result.stderr
    assert "HTTP 200" in result.stdout


def test_webhook_url_comes_from_the_environment(repo, open_case, run, hook_server):
    open_case()
    hook = hook_server()
    result = webhook(repo, run, clock_at(repo, run, 12), env={"COCFLOW_WEBHOOK_URL": hook.url})
    assert result.exit_code == 0, result.stderr
    assert len(hook.received) == 1


def test_nothing_due_sends_nothing_unless_always(repo, open_case, run, hook_server):
    open_case()
    hook = hook_server()
    now = clock_at(repo, run, 1)
    result = webhook(repo, run, now, "--url", hook.url, "--json")
    assert json.loads(result.stdout) == {"sent": False, "status": None, "cases": []}
    assert hook.received == []
    assert webhook(repo, run, now, "--url", hook.url, "--always").exit_code == 0
    assert hook.received[0][2] == {"text": "cocflow: no case is awaiting a first response.",
                                   "cases": []}


def test_webhook_error_status_is_exit_4_without_the_secret_path(repo, open_case, run,
                                                                hook_server):
    open_case()
    hook = hook_server(status=500)
    result = webhook(repo, run, clock_at(repo, run, 12), "--url", hook.url)
    assert result.exit_code == 4
    assert "answered HTTP 500" in result.stderr and "nothing was delivered" in result.stderr
    assert "S3CRET" not in result.stderr + result.stdout


def test_webhook_timeout_is_exit_4(repo, open_case, run, hook_server):
    open_case()
    hook = hook_server(delay=2.0)
    result = webhook(repo, run, clock_at(repo, run, 12), "--url", hook.url, "--timeout", "0.2")
    assert result.exit_code == 4
    assert "did not answer within 0.2s" in result.stderr


def test_an_unreachable_webhook_is_exit_4(repo, open_case, run, hook_server):
    open_case()
    hook = hook_server()
    url = hook.url
    hook.server.shutdown()
    hook.server.server_close()
    result = webhook(repo, run, clock_at(repo, run, 12), "--url", url)
    assert result.exit_code == 4
    assert "could not reach the webhook at http://127.0.0.1" in result.stderr
    assert "S3CRET" not in result.stderr


@pytest.mark.parametrize("url", ["file:///etc/passwd", "not a url", ""])
def test_a_missing_or_odd_url_is_exit_2(repo, run, url):
    result = run("-C", str(repo), "notify", "webhook", "--url", url)
    assert result.exit_code == 2
    assert "passwd" not in result.stderr


def test_a_broken_case_file_does_not_silence_the_alert(repo, open_case, run, gh):
    first, second = open_case(), open_case()
    path = repo / "cases" / f"{second}.yaml"
    path.write_text(path.read_text().replace("status: received", "status: lost", 1))
    result = notify(repo, run, gh, clock_at(repo, run, 12))
    assert result.exit_code == 0, result.stderr
    body = gh.calls()[-1][gh.calls()[-1].index("--body") + 1]
    assert first in body and second not in body
    assert f"skipped 1 case file(s) whose meta cannot be read ({second})" in result.stderr
