"""Progress bars: on stderr, and only when stderr is a terminal (a real pty here)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest


def run_on_terminal(repo: Path, key: Path, *args: str) -> tuple[int, str, str]:
    """cocflow in a child process whose stderr is a pseudo-terminal; (code, stdout, tty)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(key)}
    process = subprocess.Popen([sys.executable, "-m", "cocflow", "-C", str(repo), *args],
                               stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    stdout = process.stdout.read().decode()  # type: ignore[union-attr]
    code = process.wait()
    os.close(leader)
    return code, stdout, screen.decode(errors="replace")


@pytest.mark.parametrize(("args", "label"), [
    (("report", "--year", "YEAR"), "reading cases"),
    (("audit", "--history"), "reading history"),
])
def test_a_terminal_sees_a_progress_bar_and_stdout_stays_clean(repo, open_case, run, keys,
                                                               args, label):
    open_case()
    year = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]["received_at"][:4]
    args = tuple(year if a == "YEAR" else a for a in args)
    code, stdout, screen = run_on_terminal(repo, keys["alice"].file, *args)
    assert code == 0, screen
    assert label in screen and "100%" in screen
    assert label not in stdout


@pytest.mark.parametrize("args", [("report", "--year", "2026"), ("audit", "--history")])
def test_no_bar_when_stderr_is_not_a_terminal(repo, open_case, run, keys, args):
    open_case()
    result = run("-C", str(repo), *args, as_member=keys["alice"])
    assert result.exit_code == 0
    assert "reading" not in result.stderr


def test_migrate_shows_a_progress_bar_on_a_terminal(repo, run, keys):
    from tests.conftest import git
    from tests.legacy import format1_case, write_format1_case

    write_format1_case(repo, format1_case("2026-0001", "Old"),
                       [keys[h].public for h in ("alice", "bob", "carol")])
    git(repo, "add", "cases")
    git(repo, "commit", "--no-verify", "-qm", "a case in format 1")
    code, stdout, screen = run_on_terminal(repo, keys["alice"].file, "migrate", "--json")
    assert code == 0, screen
    assert "migrating" in screen and "100%" in screen
    assert json.loads(stdout)["migrated"] == ["2026-0001"]
