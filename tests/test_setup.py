"""Setting up: init, keygen, whoami, doctor, the demo, and a broken environment."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cocflow.operations.demo import run_demo
from tests.conftest import git


def test_init_makes_a_committed_case_repository(tmp_path: Path, run):
    result = run("init", str(tmp_path / "coc"), "--ci", "none")
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "coc"
    for name in ("cocflow.yaml", "team.yaml", "cases/README.md", ".gitattributes"):
        assert (root / name).is_file(), name
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "log", "--format=%s").strip() == "cocflow: new case repository"
    assert "next:" in result.stderr


def test_init_refuses_an_existing_case_repository(repo: Path, run, unchanged):
    result = run("init", str(repo), "--ci", "none")
    assert result.exit_code == 2
    assert "already" in result.stderr


def test_init_refuses_a_non_empty_directory(tmp_path: Path, run):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("x")
    result = run("init", str(tmp_path / "stuff"), "--ci", "none")
    assert result.exit_code == 2
    assert sorted(p.name for p in (tmp_path / "stuff").iterdir()) == ["notes.txt"]


def without_git_identity(monkeypatch, tmp_path: Path) -> None:
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                 "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "gitconfig-no-identity"
    config.write_text("[user]\n\tuseConfigOnly = true\n")  # git must not guess one
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))


def test_init_without_a_git_identity_fails_cleanly_and_leaves_nothing(tmp_path: Path, run,
                                                                     monkeypatch):
    without_git_identity(monkeypatch, tmp_path)
    result = run("init", str(tmp_path / "coc"), "--ci", "none")
    assert result.exit_code == 4
    assert "user.name" in result.stderr
    assert not (tmp_path / "coc").exists()


def test_a_failed_init_into_an_empty_directory_leaves_it_empty(tmp_path: Path, run,
                                                              monkeypatch):
    without_git_identity(monkeypatch, tmp_path)
    target = tmp_path / "coc"
    target.mkdir()
    result = run("init", str(target), "--ci", "none")
    assert result.exit_code == 4
    assert list(target.iterdir()) == []


def test_keygen_writes_mode_0600_and_prints_the_public_key(tmp_path: Path, run):
    out = tmp_path / "k" / "me.txt"
    result = run("keygen", "--out", str(out))
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "age1" in result.stdout and "AGE-SECRET-KEY" not in result.stdout
    # A new member reads cases once they are shared (`rekey` never adds a reader).
    assert "cocflow share" in result.stderr and "rekey" not in result.stdout + result.stderr


def test_keygen_never_overwrites(tmp_path: Path, run):
    out = tmp_path / "me.txt"
    assert run("keygen", "--out", str(out)).exit_code == 0
    before = out.read_bytes()
    result = run("keygen", "--out", str(out))
    assert result.exit_code == 2
    assert "never overwrites" in result.stderr
    assert out.read_bytes() == before


def test_keygen_defaults_to_the_sops_key_path(run, isolated_user: Path):
    result = run("keygen", "--json")
    assert result.exit_code == 0
    path = isolated_user / ".config" / "sops" / "age" / "keys.txt"
    assert json.loads(result.stdout)["key_file"] == str(path)
    assert path.is_file()


def test_whoami_names_the_member(repo: Path, run, keys):
    result = run("-C", str(repo), "whoami", as_member=keys["bob"])
    assert (result.exit_code, result.stdout.strip()) == (0, "bob")


def test_whoami_for_an_outsider_is_exit_3_with_their_public_key(repo: Path, run, keys):
    result = run("-C", str(repo), "whoami", as_member=keys["outsider"])
    assert result.exit_code == 3
    assert keys["outsider"].public in result.stderr


def test_a_missing_key_file_is_an_environment_error(repo: Path, run, tmp_path: Path):
    result = run("-C", str(repo), "whoami", env={"SOPS_AGE_KEY_FILE": str(tmp_path / "nope")})
    assert result.exit_code == 4
    assert "SOPS_AGE_KEY_FILE" in result.stderr


def test_no_key_at_all_is_exit_3_with_advice(repo: Path, run):
    result = run("-C", str(repo), "whoami")
    assert result.exit_code == 3
    assert "cocflow keygen" in result.stderr


def test_outside_a_case_repository_is_exit_4(tmp_path: Path, run):
    result = run("-C", str(tmp_path), "list")
    assert result.exit_code == 4
    assert "cocflow init" in result.stderr


def test_repo_is_found_from_a_subdirectory(repo: Path, run, open_case, monkeypatch):
    open_case()
    monkeypatch.chdir(repo / "cases")
    result = run("list", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 1


def test_missing_sops_is_exit_4_and_changes_nothing(repo: Path, run, keys, unchanged):
    from tests.conftest import report_yaml

    result = run("-C", str(repo), "new", "--from", "-", input=report_yaml(),
                 as_member=keys["alice"], env={"COCFLOW_SOPS": "/nonexistent/sops"})
    assert result.exit_code == 4
    assert "sops" in result.stderr


def test_missing_git_is_exit_4(repo: Path, run, keys, tmp_path: Path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public,
                 env={"PATH": str(empty)})
    assert result.exit_code == 4
    assert "git" in result.stderr


def test_doctor_passes_for_a_member_in_a_healthy_repository(repo: Path, run, keys):
    result = run("-C", str(repo), "doctor", as_member=keys["alice"])
    assert result.exit_code == 0, result.stdout
    assert "OK" in result.stdout


def test_doctor_says_what_to_do_for_an_outsider(repo: Path, run, keys):
    result = run("-C", str(repo), "doctor", "--json", as_member=keys["outsider"])
    assert result.exit_code == 1
    findings = {f["check"]: f for f in json.loads(result.stdout)}
    assert not findings["member"]["ok"] and "team add" in findings["member"]["detail"]


def test_demo_runs_a_whole_case_and_shows_the_recused_member_locked_out(tmp_path: Path):
    lines: list[str] = []
    repo = run_demo(tmp_path / "demo", lines.append)
    text = "\n".join(lines)
    assert "$ cocflow init cases-repo" in text
    assert "SOPS_AGE_KEY_FILE=keys/bob.txt cocflow show" in text
    assert "Error: no local key can open" in text
    assert git(repo, "status", "--porcelain") == ""
    assert not (repo / "report.yaml").exists()
    assert os.listdir(repo / "cases") != []


def test_doctor_reports_a_missing_merge_driver_and_fix_restores_it(repo, run, keys):
    git(repo, "config", "--unset", "merge.cocflow.driver")
    result = run("-C", str(repo), "doctor", "--json", as_member=keys["alice"])
    findings = {f["check"]: f for f in json.loads(result.stdout)}
    assert result.exit_code == 1 and not findings["merge driver"]["ok"]
    fixed = run("-C", str(repo), "doctor", "--fix", as_member=keys["alice"])
    assert fixed.exit_code == 0, fixed.stdout
