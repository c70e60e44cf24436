"""Faults: a mutating command commits once, or leaves tree, index and HEAD exactly as before.

sops fails, hangs, is killed or returns nothing (fake sops through COCFLOW_SOPS); git hooks
refuse; another git process holds the index; SIGINT/SIGTERM arrive while sops or git runs
(the CLI as a real subprocess); writes fail as on a full disk (RLIMIT_FSIZE makes the
kernel refuse the write, the same OSError path as ENOSPC). Each test also checks that
nothing leaked: not in the tree, git objects, commit messages, output or temp files.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cocflow.adapters.sops import sops_binary
from tests.conftest import SENTINEL, assert_no_leak, git, report_yaml, snapshot

FAKE_SOPS = """\
#!{python}
import os, signal, sys, time
MODE = {mode!r}
if MODE == "killed-decrypt" and sys.argv[1:2] == ["decrypt"]:
    os.kill(os.getpid(), signal.SIGKILL)
if sys.argv[1:2] == ["encrypt"]:
    if MODE == "fail":
        sys.exit(1)
    if MODE == "hang":
        time.sleep(60)
    if MODE == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if MODE == "empty":
        sys.exit(0)
    if MODE == "garbage":
        sys.stdout.write("meta: [half a document")
        sys.exit(0)
    if MODE in ("SIGTERM", "SIGINT"):
        sys.stdin.read()
        os.kill(os.getppid(), getattr(signal, MODE))
        time.sleep(10)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""

# A pre-commit hook that interrupts cocflow (its grandparent: cocflow -> git -> hook) and
# then lets the commit go on: the commit finishes after the interrupt has arrived.
SIGNAL_HOOK = """\
#!/bin/sh
cocflow=$(awk '/^PPid:/ {{print $2}}' /proc/$PPID/status)
grep -q cocflow /proc/$cocflow/cmdline || exit 0
kill -{signal} $cocflow
sleep 1
exit 0
"""


def fake_sops(tmp_path: Path, mode: str) -> str:
    path = tmp_path / f"fake-sops-{mode}"
    path.write_text(FAKE_SOPS.format(python=sys.executable, mode=mode, real=sops_binary()))
    path.chmod(0o755)
    return str(path)


def hook(repo: Path, name: str, body: str) -> None:
    path = repo / ".git" / "hooks" / name
    path.write_text(body)
    path.chmod(0o755)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch) -> Path:
    """TMPDIR for this test only, so leftovers can be found and attributed."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


def assert_no_residue(folder: Path) -> None:
    """Nothing left behind in a temp directory, and certainly no plaintext."""
    leftovers = [p for p in folder.rglob("*") if p.is_file()]
    for path in leftovers:
        assert SENTINEL.encode() not in path.read_bytes(), f"plaintext in {path}"
    assert leftovers == []


def mutations(case_id: str) -> dict[str, tuple[tuple[str, ...], str | None]]:
    return {
        "new": (("new", "--from", "-"), report_yaml()),
        "note": (("note", case_id, "-m", f"note {SENTINEL}"), None),
        "move": (("move", case_id, "acknowledged", "-m", f"replied {SENTINEL}"), None),
    }


def cli(repo: Path, key, *args: str, env: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
        input: str | None = None, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """The CLI as a real process (signals must not reach the pytest worker)."""
    environment = {**os.environ, "SOPS_AGE_KEY_FILE": str(key.file), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cocflow", "-C", str(repo), *args],
                          input=input, capture_output=True, text=True, env=environment,
                          timeout=60, **kwargs)


@pytest.mark.parametrize("mode", ["fail", "hang", "killed", "empty", "garbage"])
@pytest.mark.parametrize("command", ["new", "note"])
def test_a_sops_failure_while_writing_changes_nothing(repo, run, keys, case_id, tmp_path,
                                                      private_tmp, mode, command):
    args, stdin = mutations(case_id)[command]
    before = snapshot(repo)
    result = run("-C", str(repo), *args, input=stdin, as_member=keys["alice"],
                 env={"COCFLOW_SOPS": fake_sops(tmp_path, mode), "COCFLOW_SOPS_TIMEOUT": "1"})
    assert result.exit_code == 4, result.stderr  # sops broken: the environment
    assert "sops" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    if mode == "hang":
        assert "within 1s" in result.stderr and "COCFLOW_SOPS_TIMEOUT" in result.stderr
    assert snapshot(repo) == before
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr)
    assert_no_residue(private_tmp)


def test_verify_with_a_killed_sops_stops_on_the_environment(repo, run, keys, case_id,
                                                            tmp_path, unchanged):
    # A key command sends every file to sops (the in-process reader cannot load such keys).
    result = run("-C", str(repo), "verify", as_member=keys["alice"],
                 env={"COCFLOW_SOPS": fake_sops(tmp_path, "killed-decrypt"),
                      "SOPS_AGE_KEY_CMD": "false"})
    assert result.exit_code == 4, result.stderr  # the environment, not the case
    assert f"sops was killed (signal 9) while decrypting case {case_id}" in result.stderr
    assert "restore" not in result.stderr and "integrity" not in result.stdout


def test_a_bad_sops_timeout_setting_is_exit_2(repo, run, keys, case_id, unchanged):
    result = run("-C", str(repo), "note", case_id, "-m", "x", as_member=keys["alice"],
                 env={"COCFLOW_SOPS_TIMEOUT": "soon"})
    assert result.exit_code == 2 and "COCFLOW_SOPS_TIMEOUT" in result.stderr


@pytest.mark.parametrize("command", ["new", "note", "move"])
def test_a_failing_commit_hook_changes_nothing(repo, run, keys, case_id, private_tmp, command):
    hook(repo, "pre-commit", "#!/bin/sh\necho refused >&2\nexit 1\n")
    args, stdin = mutations(case_id)[command]
    before = snapshot(repo)
    result = run("-C", str(repo), *args, input=stdin, as_member=keys["alice"])
    assert result.exit_code == 4 and "hook" in result.stderr
    assert snapshot(repo) == before
    assert_no_leak(repo, SENTINEL, result.stdout, result.stderr)
    assert_no_residue(private_tmp)


def test_a_failing_commit_msg_hook_after_add_changes_nothing(repo, run, keys, case_id):
    hook(repo, "commit-msg", "#!/bin/sh\nexit 1\n")
    before = snapshot(repo)
    result = run("-C", str(repo), "note", case_id, "-m", "x", as_member=keys["alice"])
    assert result.exit_code == 4
    assert snapshot(repo) == before
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_another_git_process_holding_the_index_changes_nothing(repo, run, keys, case_id):
    lock = repo / ".git" / "index.lock"
    lock.write_text("")
    before = snapshot(repo)
    result = run("-C", str(repo), "note", case_id, "-m", "x", as_member=keys["alice"])
    assert result.exit_code == 4 and "index.lock" in result.stderr
    assert snapshot(repo) == before
    lock.unlink()
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupt_while_sops_encrypts_changes_nothing(repo, keys, case_id, tmp_path,
                                                          private_tmp, signal_name):
    before = snapshot(repo)
    done = cli(repo, keys["alice"], "note", case_id, "-m", f"note {SENTINEL}",
               env={"COCFLOW_SOPS": fake_sops(tmp_path, signal_name)})
    assert done.returncode == 130, done.stderr
    assert "nothing was changed" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(repo) == before
    assert_no_leak(repo, SENTINEL, done.stdout, done.stderr)
    assert_no_residue(private_tmp)


@pytest.mark.parametrize("signal_name", ["TERM", "INT"])
@pytest.mark.parametrize("command", ["new", "note"])
def test_an_interrupt_while_git_commits_waits_for_git_and_rolls_back(
        repo, keys, case_id, private_tmp, signal_name, command):
    hook(repo, "pre-commit", SIGNAL_HOOK.format(signal=signal_name))
    args, stdin = mutations(case_id)[command]
    before = snapshot(repo)
    done = cli(repo, keys["alice"], *args, input=stdin)
    time.sleep(0.2)  # were the commit still running, it would land now
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(repo) == before
    assert not (repo / ".git" / "index.lock").exists()
    assert_no_leak(repo, SENTINEL, done.stdout, done.stderr)
    assert_no_residue(private_tmp)


def _file_size_limit(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("command", ["new", "note"])
def test_a_full_disk_while_writing_the_case_changes_nothing(repo, keys, case_id, private_tmp,
                                                           command):
    # The kernel refuses to let any file grow past a few bytes (EFBIG, like ENOSPC: an
    # OSError from write()). Case ciphertext is kilobytes, so the case write fails.
    args, stdin = mutations(case_id)[command]
    before = snapshot(repo)
    done = cli(repo, keys["alice"], *args, input=stdin, preexec_fn=_file_size_limit(1500))
    assert done.returncode == 4, done.stderr
    assert "could not write" in done.stderr and "disk" in done.stderr
    assert "Traceback" not in done.stderr
    assert snapshot(repo) == before
    assert_no_leak(repo, SENTINEL, done.stdout, done.stderr)
    assert_no_residue(private_tmp)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cases_directory_changes_nothing(repo, run, keys, case_id):
    cases = repo / "cases"
    before = snapshot(repo)
    cases.chmod(0o555)
    try:
        result = run("-C", str(repo), "note", case_id, "-m", "x", as_member=keys["alice"])
    finally:
        cases.chmod(0o755)
    assert result.exit_code == 4 and "could not write" in result.stderr
    assert snapshot(repo) == before


# --- refusing to start ----------------------------------------------------------------------


def _conflict_on_settings(repo: Path, command: list[str]) -> None:
    """Leave the repository in the middle of a merge or rebase that stopped on a conflict."""
    git(repo, "checkout", "--quiet", "-b", "other")
    (repo / "README.md").write_text("other\n")  # a file a case repository may hold
    git(repo, "add", "README.md")
    git(repo, "commit", "--quiet", "-m", "other")
    git(repo, "checkout", "--quiet", "main")
    (repo / "README.md").write_text("main\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "--quiet", "-m", "main")
    done = subprocess.run(["git", "-C", str(repo), *command], capture_output=True)
    assert done.returncode != 0


@pytest.mark.parametrize(("command", "what"), [(["merge", "other"], "merge"),
                                               (["rebase", "other"], "rebase")])
@pytest.mark.parametrize("mutation", ["new", "move"])
def test_a_repository_mid_merge_or_rebase_is_refused_with_exit_4(repo, run, keys, case_id,
                                                                 command, what, mutation):
    _conflict_on_settings(repo, command)
    args, stdin = mutations(case_id)[mutation]
    before = snapshot(repo)
    result = run("-C", str(repo), *args, input=stdin, as_member=keys["alice"])
    assert result.exit_code == 4 and f"middle of a {what}" in result.stderr
    assert snapshot(repo) == before


@pytest.mark.parametrize("mutation", ["note", "move"])
def test_a_case_file_with_uncommitted_changes_is_refused_with_exit_4(repo, run, keys, case_id,
                                                                     mutation):
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text().replace("\nsops:\n", "\n# local edit\nsops:\n"))
    before = snapshot(repo)
    args, stdin = mutations(case_id)[mutation]
    result = run("-C", str(repo), *args, input=stdin, as_member=keys["alice"])
    assert result.exit_code == 4 and "uncommitted" in result.stderr
    assert snapshot(repo) == before
