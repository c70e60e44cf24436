"""Local guards: the pre-commit hook in real `git commit`s, the diff driver, doctor --fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cocflow.adapters import sops
from cocflow.adapters.sops import Keyring
from tests.conftest import SENTINEL, git, report_yaml


def hook(repo: Path) -> Path:
    return repo / ".git" / "hooks" / "pre-commit"


def commit(repo: Path, *paths: str) -> subprocess.CompletedProcess:
    """A person's plain `git add` + `git commit`, hooks and all."""
    git(repo, "add", "--", *paths)
    return subprocess.run(["git", "-C", str(repo), "commit", "-m", "by hand"],
                          capture_output=True, text=True, check=False)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def doctor(repo: Path, run, keys) -> dict[str, dict]:
    result = run("-C", str(repo), "doctor", "--json", as_member=keys["alice"])
    return {finding["check"]: finding for finding in json.loads(result.stdout)}


def test_init_installs_an_executable_hook_running_this_cocflow(repo):
    text = hook(repo).read_text()
    assert os.access(hook(repo), os.X_OK)
    assert f"python={sys.executable}" in text and "-m cocflow check --staged" in text


def test_the_hook_refuses_a_plaintext_case_in_a_real_commit(repo, open_case):
    open_case()
    before = head(repo)
    (repo / "cases" / "2026-0002.yaml").write_text(report_yaml())
    result = commit(repo, "cases/2026-0002.yaml")
    assert result.returncode != 0
    # git sends the hook's output to stderr
    assert "not-sops" in result.stderr and "commit refused" in result.stderr
    assert SENTINEL not in result.stdout + result.stderr
    assert head(repo) == before


def test_the_hook_refuses_a_recused_member_added_with_raw_sops(repo, open_case, keys):
    case_id = open_case("--recuse", "bob")
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(sops.rotate(path.read_text(), "test", add=[keys["bob"].public],
                                keyring=Keyring(keys["alice"].file)))
    result = commit(repo, f"cases/{case_id}.yaml")
    assert result.returncode != 0 and "recipient-recused" in result.stderr


def test_the_hook_lets_a_healthy_change_through(repo):
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text().replace("warn_days: 3", "warn_days: 5"))
    result = commit(repo, "cocflow.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hook_judges_only_what_is_committed(repo, open_case):
    case_id = open_case()
    (repo / "cases" / f"{case_id}.yaml").write_text(report_yaml())  # left unstaged
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text().replace("warn_days: 3", "warn_days: 5"))
    assert commit(repo, "cocflow.yaml").returncode == 0


def test_cocflow_commits_are_checked_once_in_process_not_again_by_the_hook(repo, open_case,
                                                                          run, keys):
    text = hook(repo).read_text().replace(f"python={sys.executable}", "python=/nonexistent/py")
    hook(repo).write_text(text)
    open_case()  # the hook recognises the tree cocflow checked, so it never needs its python
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text().replace("warn_days: 3", "warn_days: 5"))
    result = commit(repo, "cocflow.yaml")
    assert result.returncode != 0 and "/nonexistent/py is gone" in result.stderr


def test_cocflow_checks_its_own_commit_in_process_first(repo, open_case):
    import pytest

    from cocflow.adapters.git import GitRepo
    from cocflow.errors import ProblemsFound
    from cocflow.operations.hooks import verify_staged

    open_case()
    (repo / "cases" / "2026-0002.yaml").write_text(report_yaml())
    git(repo, "add", "cases")
    with pytest.raises(ProblemsFound, match="not-sops") as caught:
        verify_staged(GitRepo(repo))
    assert SENTINEL not in str(caught.value)


def test_a_cocflow_commit_beside_someone_elses_staged_file_is_judged_alone(repo, run, keys):
    (repo / "cases" / "2026-0002.yaml").write_text(report_yaml())
    git(repo, "add", "cases/2026-0002.yaml")
    result = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    assert result.exit_code == 0, result.stderr
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["team.yaml"]
    assert "cases/2026-0002.yaml" in git(repo, "diff", "--cached", "--name-only")


def test_doctor_reports_the_hook_and_fix_reinstalls_it(repo, run, keys):
    assert doctor(repo, run, keys)["pre-commit"]["ok"]
    hook(repo).unlink()
    finding = doctor(repo, run, keys)["pre-commit"]
    assert not finding["ok"] and "doctor --fix" in finding["detail"]
    assert run("-C", str(repo), "doctor", "--fix", as_member=keys["alice"]).exit_code == 0
    assert os.access(hook(repo), os.X_OK)
    assert doctor(repo, run, keys)["pre-commit"]["ok"]


def test_fix_leaves_someone_elses_hook_alone_and_says_what_to_add(repo, run, keys):
    hook(repo).write_text("#!/bin/sh\nexit 0\n")
    run("-C", str(repo), "doctor", "--fix", as_member=keys["alice"])
    assert hook(repo).read_text() == "#!/bin/sh\nexit 0\n"
    finding = doctor(repo, run, keys)["pre-commit"]
    assert not finding["ok"] and "check --staged" in finding["detail"]


def git_show_patch(repo: Path, key_file: Path | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SOPS_AGE_KEY_FILE"}
    if key_file is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key_file)
    return subprocess.run(["git", "-C", str(repo), "log", "-p", "-1", "--", "cases"],
                          capture_output=True, text=True, env=env, check=False)


def test_git_diff_is_decrypted_for_a_member(repo, open_case, keys):
    open_case()
    shown = git_show_patch(repo, keys["alice"].file)
    assert shown.returncode == 0
    assert SENTINEL in shown.stdout and "ENC[" not in shown.stdout


def test_git_diff_still_works_without_a_key_and_for_a_recused_member(repo, open_case, keys):
    open_case("--recuse", "bob")
    for key_file in (None, keys["bob"].file, keys["outsider"].file):
        shown = git_show_patch(repo, key_file)
        assert shown.returncode == 0, shown.stderr
        assert "ENC[" in shown.stdout and SENTINEL not in shown.stdout


def test_the_diff_driver_skips_the_cli_layer_and_gives_what_the_cli_command_gives(
        repo, open_case, run, keys):
    case = repo / "cases" / f"{open_case()}.yaml"
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(keys["alice"].file)}
    fast = subprocess.run([sys.executable, "-m", "cocflow", "textconv", str(case)],
                          capture_output=True, env=env, check=True).stdout
    assert SENTINEL.encode() in fast and b"ENC[" not in fast
    assert run("textconv", str(case), as_member=keys["alice"]).stdout == fast.decode()
    case.write_text(case.read_text().replace("status: received", "status: closed", 1))
    tampered = subprocess.run([sys.executable, "-m", "cocflow", "textconv", str(case)],
                              capture_output=True, env=env, check=True).stdout
    assert tampered.startswith(b"# cocflow: this file FAILED its integrity check")
    assert SENTINEL.encode() not in tampered


def test_decrypted_diffs_are_never_cached_in_git(repo):
    assert git(repo, "config", "diff.sops.cachetextconv").strip() == "false"


# --- a clone is protected from its first command ------------------------------------------


def fresh_clone(repo: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(repo), str(where)], check=True)
    return where


def test_a_fresh_clone_has_no_guards_until_its_first_command_installs_them(repo, open_case,
                                                                          run, keys, tmp_path):
    open_case()
    clone = fresh_clone(repo, tmp_path / "clone")
    assert not hook(clone).exists()
    result = run("-C", str(clone), "list", "--json")
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # stdout stays one JSON document; the note is on stderr
    assert "Set up the diff driver, the pre-commit hook, merge driver config" in result.stderr
    found = doctor(clone, run, keys)
    assert all(found[name]["ok"] for name in ("pre-commit", "diff driver", "merge driver"))
    (clone / "cases" / "2026-0099.yaml").write_text(report_yaml())
    refused = commit(clone, "cases/2026-0099.yaml")
    assert refused.returncode != 0 and "not-sops" in refused.stderr


def test_the_second_command_in_a_protected_clone_sets_nothing_up(repo, run, tmp_path):
    clone = fresh_clone(repo, tmp_path / "clone")
    assert run("-C", str(clone), "due").exit_code == 0
    again = run("-C", str(clone), "due")
    assert again.exit_code == 0 and again.stderr == ""


def test_check_in_a_fresh_clone_sets_nothing_up(repo, run, tmp_path):
    clone = fresh_clone(repo, tmp_path / "clone")  # as in CI, or inside the hook itself
    result = run("-C", str(clone), "check")
    assert result.exit_code == 0 and result.stderr == ""
    assert not hook(clone).exists()


def test_a_clone_with_someone_elses_hook_is_told_exactly_what_to_add(repo, run, tmp_path):
    clone = fresh_clone(repo, tmp_path / "clone")
    hook(clone).write_text("#!/bin/sh\nexit 0\n")
    result = run("-C", str(clone), "due")
    assert result.exit_code == 0
    assert f"add `{sys.executable} -m cocflow check --staged` to it" in result.stderr
    assert hook(clone).read_text() == "#!/bin/sh\nexit 0\n"


PRE_COMMIT_CONFIG = """\
repos:
  - repo: local
    hooks:
      - id: cocflow-check
        name: cocflow check (no plaintext or wrongly keyed case)
        entry: cocflow check --staged
        language: system
        pass_filenames: false
        files: ^(cases/|team\\.yaml$|cocflow\\.yaml$)
"""


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env,
                          capture_output=True, text=True, check=False)


def test_doctor_accepts_the_pre_commit_frameworks_hook_running_cocflow(repo, open_case, run,
                                                                       keys, monkeypatch):
    open_case()
    (repo / ".pre-commit-config.yaml").write_text(PRE_COMMIT_CONFIG)
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "--quiet", "--no-verify", "-m", "use the pre-commit framework")
    hook(repo).unlink()
    installed = pre_commit(repo, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    finding = doctor(repo, run, keys)["pre-commit"]
    assert finding["ok"] and "pre-commit framework" in finding["detail"]
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (repo / "cases" / "2026-0099.yaml").write_text(report_yaml())
    refused = commit(repo, "cases/2026-0099.yaml")
    assert refused.returncode != 0
    assert "not-sops" in refused.stdout + refused.stderr
    assert SENTINEL not in refused.stdout + refused.stderr


def test_a_pre_commit_framework_hook_without_cocflow_is_named(repo, run, keys):
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n")
    hook(repo).write_text("#!/usr/bin/env bash\n# File generated by pre-commit: "
                          "https://pre-commit.com\nexit 0\n")
    finding = doctor(repo, run, keys)["pre-commit"]
    assert not finding["ok"] and "cocflow-check" in finding["detail"]
