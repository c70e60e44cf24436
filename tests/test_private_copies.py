"""Signals and temporary files: the decrypted copy of an edit never stays behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cocflow.adapters.editor import PREFIX, editor_command, private_directory_base
from tests.conftest import git


def write_editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import os, signal, sys, time\npath = sys.argv[-1]\n{body}\n")
    return f"{sys.executable} {script}"


@pytest.fixture
def case_id(open_case) -> str:
    return open_case()


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM])
def test_a_closed_terminal_or_quit_during_edit_removes_the_private_copy(
        repo, run, keys, case_id, tmp_path, signum):
    record = tmp_path / "path.txt"
    editor = write_editor(tmp_path, (
        f"open({str(record)!r}, 'w').write(path)\n"
        f"os.kill(os.getppid(), {int(signum)})\ntime.sleep(0.5)"
    ))
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 130, result.stderr
    assert "nothing was changed" in result.stderr
    copy = Path(record.read_text())
    assert copy.name == "case.yaml" and not copy.parent.exists()
    assert git(repo, "status", "--porcelain") == ""


def test_the_private_directory_names_its_process(repo, run, keys, case_id, tmp_path):
    record = tmp_path / "path.txt"
    editor = write_editor(tmp_path, f"open({str(record)!r}, 'w').write(path)")
    run("-C", str(repo), "edit", case_id, as_member=keys["alice"], env={"EDITOR": editor})
    folder = Path(record.read_text()).parent.name
    assert folder.startswith(f"{PREFIX}{os.getpid()}-")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_start_up_removes_only_own_stale_private_directories(run, tmp_path):
    base = Path(private_directory_base() or __import__("tempfile").gettempdir())
    stale = base / f"{PREFIX}{dead_pid()}-teststale"
    live = base / f"{PREFIX}{os.getpid()}-testlive"
    other = base / f"{PREFIX}notapid-testother"
    try:
        for folder in (stale, live, other):
            folder.mkdir(mode=0o700)
            (folder / "case.yaml").write_text("decrypted")
        run("--version")
        assert not stale.exists()
        assert live.exists() and other.exists()
    finally:
        for folder in (stale, live, other):
            if folder.exists():
                (folder / "case.yaml").unlink()
                folder.rmdir()


@pytest.mark.parametrize(("name", "expected"), [
    ("vim", ["-n", "-i", "NONE"]),
    ("nvim", ["-n", "-i", "NONE"]),
])
def test_vim_and_nvim_start_without_swap_undo_or_viminfo(monkeypatch, tmp_path, name,
                                                         expected):
    program = tmp_path / name
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(program))
    command = editor_command()
    assert command[:4] == [str(program), *expected]
    settings = command[command.index("--cmd") + 1]
    for option in ("noswapfile", "noundofile", "nobackup"):
        assert option in settings
    assert ("shada=" in settings) == (name == "nvim")


def test_other_editors_get_no_flags(monkeypatch):
    monkeypatch.setenv("EDITOR", "nano -R")
    assert editor_command() == ["nano", "-R"]


def test_a_real_vim_edit_leaves_no_swap_file(repo, run, keys, case_id, tmp_path):
    vim = subprocess.run(["sh", "-c", "command -v vim"], capture_output=True, text=True)
    if not vim.stdout.strip():
        pytest.skip("vim is not installed")
    # Ex mode, no terminal: change the space, write and quit.
    editor = f"{vim.stdout.strip()} -es -c %s/space:\\ online/space:\\ event/ -c wq"
    home_before = set(Path(os.environ["HOME"]).rglob("*"))
    result = run("-C", str(repo), "edit", case_id, as_member=keys["alice"],
                 env={"EDITOR": editor})
    assert result.exit_code == 0, result.stderr
    assert set(Path(os.environ["HOME"]).rglob("*")) == home_before  # no viminfo, no undo
