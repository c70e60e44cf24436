"""`cocflow demo`: a whole case in a throwaway repository, each step the command a person types."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path

from cocflow.adapters.git import GitRepo
from cocflow.adapters.process import run_cocflow
from cocflow.errors import InvalidInput

MEMBERS = (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol"))
REPORT = """\
report:
  title: Repeated unwelcome messages after the meetup
  channel: email
  reporter: {name: Sam Example, contact: sam@example.org}
  reported: [{name: Bob, team_handle: bob}]
  occurred_at: "2026-11-18T20:00:00Z"
  space: online
  location: "#general on the chat server"
  categories: [unwelcome-sexual-attention, continued-contact]
  description: |
    After the meetup, Bob kept sending private messages after being asked to stop.
  consent: {name_reporter: false, share_with_reported: true}
"""
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "cocflow demo", "GIT_AUTHOR_EMAIL": "demo@cocflow.invalid",
    "GIT_COMMITTER_NAME": "cocflow demo", "GIT_COMMITTER_EMAIL": "demo@cocflow.invalid",
}


class _Runner:
    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        self.root, self.say = root, say
        self.env = {**os.environ, **GIT_IDENTITY}
        self.env.pop("COCFLOW_NOW", None)

    def step(self, title: str, args: list[str], as_member: str | None = None,
             stdin: str | None = None, expect: int = 0) -> str:
        env = dict(self.env)
        prefix = ""
        if as_member:
            env["SOPS_AGE_KEY_FILE"] = str(self.root / "keys" / f"{as_member}.txt")
            prefix = f"SOPS_AGE_KEY_FILE=keys/{as_member}.txt "
        shown = "cocflow " + " ".join(shlex.quote(a) for a in args)
        self.say(f"\n== {title}\n$ {prefix}{shown}")
        done = run_cocflow(args, self.root, env, stdin)
        output = (done.stdout + done.stderr).rstrip()
        if output:
            self.say(output)
        if done.status != expect:
            raise InvalidInput(f"demo step failed: {shown} exited {done.status}")
        return done.stdout


    def git_log(self, title: str) -> None:
        self.say(f"\n== {title}\n$ git log --format=%s")
        self.say(GitRepo(self.root).run("log", "--format=%s"))


def run_demo(directory: Path | None, say: Callable[[str], None]) -> Path:
    """Build the demo repository and walk one case through cocflow; returns its path."""
    base = directory or Path(tempfile.mkdtemp(prefix="cocflow-demo-"))
    if base.exists() and any(base.iterdir()):
        raise InvalidInput(f"{base} is not empty: give the demo a new or empty directory")
    base.mkdir(parents=True, exist_ok=True)
    repo = base / "cases-repo"
    say(f"cocflow demo in {base}")
    run = _Runner(base, say)
    run.step("A new, private case repository", ["init", "cases-repo", "--ci", "none"])
    run = _Runner(repo, say)
    (repo / "keys").mkdir()
    (repo / ".git" / "info" / "exclude").open("a").write("keys/\n")
    keys = {}
    for handle, _name in MEMBERS:
        out = run.step(f"{handle} makes an age key", ["keygen", "--out", f"keys/{handle}.txt",
                                                      "--json"])
        keys[handle] = _json_field(out, "public_key")
    for handle, name in MEMBERS:
        run.step(f"Add {handle} to the roster", ["team", "add", handle, "--key", keys[handle],
                                                 "--name", name])
    run.step("The roster", ["team", "list"])
    # The report stays outside the repository: cocflow refuses a plaintext file inside it.
    (base / "report.yaml").write_text(REPORT, encoding="utf-8")
    out = run.step("alice opens a case that reports bob: bob is recused automatically",
                   ["new", "--from", "../report.yaml", "--json"], as_member="alice")
    (base / "report.yaml").unlink()
    case_id = _json_field(out, "id")
    run.step("Anyone can list cases without a key (only plaintext meta)", ["list"])
    run.step("alice reads the case", ["show", case_id], as_member="alice")
    run.step("bob is recused: his key cannot open it (exit 3)", ["show", case_id],
             as_member="bob", expect=3)
    run.step("What needs an answer soon (no key needed)", ["due", "--within", "14"])
    run.step("carol replies to the reporter: the 2-week clock stops",
             ["move", case_id, "acknowledged", "-m", "Thanked Sam, said we are on it"],
             as_member="carol")
    run.step("Triage done: investigate", ["move", case_id, "investigating"], as_member="alice")
    run.step("The reported person gets a chance to respond",
             ["note", case_id, "--event", "contacted-reported", "-m", "Emailed Bob a summary"],
             as_member="carol")
    run.step("A decision from the ladder, with a rationale",
             ["move", case_id, "decided", "--outcome", "warning", "--rationale",
              "Continued contact after being asked to stop"], as_member="alice")
    run.step("Close the case", ["move", case_id, "closed"], as_member="carol")
    run.step("carol reads the whole case", ["show", case_id], as_member="carol")
    run.step("The case list after closing", ["list"])
    run.git_log("Every step was one commit; messages carry only ids and states")
    say(f"\nDone. The demo repository is {repo}; its keys are in {repo / 'keys'}.")
    say("Delete it when you are finished: it holds private keys.")
    return repo


def _json_field(output: str, field: str) -> str:
    import json

    return str(json.loads(output)[field])
