"""The roster: adding and removing members, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import git


def roster(repo: Path) -> dict:
    return yaml.safe_load((repo / "team.yaml").read_text())


def test_team_add_writes_team_yaml_commits_once_and_says_rekey_is_next(repo: Path, run, keys):
    before = git(repo, "rev-list", "--count", "HEAD")
    result = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public,
                 "--name", "Dave")
    assert result.exit_code == 0, result.stderr
    assert "rekey" in result.stdout
    assert [m["handle"] for m in roster(repo)["members"]] == ["alice", "bob", "carol", "dave"]
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(before) + 1
    assert git(repo, "log", "-1", "--format=%s").strip() == "team: add member dave"


def test_team_add_accepts_an_ssh_key_and_drops_its_comment(repo: Path, run, tmp_path: Path):
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dana@laptop", "-f",
                    str(tmp_path / "id")], check=True)
    public = (tmp_path / "id.pub").read_text().strip()
    result = run("-C", str(repo), "team", "add", "dana", "--key", public)
    assert result.exit_code == 0, result.stderr
    stored = roster(repo)["members"][-1]["keys"][0]
    assert stored == " ".join(public.split()[:2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice", "--key", "KEY:dave"], "already a member"),
        (["Dave!", "--key", "KEY:dave"], "not a valid handle"),
        (["dave", "--key", "age1notakey"], "not an age or ssh-ed25519 public key"),
        (["dave", "--key", "KEY:alice"], "share a key"),
    ],
)
def test_bad_team_add_is_refused_and_changes_nothing(repo: Path, run, keys, unchanged, args,
                                                      message):
    args = [keys[a[4:]].public if a.startswith("KEY:") else a for a in args]
    result = run("-C", str(repo), "team", "add", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr


def test_team_remove_commits_and_warns_about_history(repo: Path, run, keys):
    run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    result = run("-C", str(repo), "team", "remove", "carol")
    assert result.exit_code == 0, result.stderr
    assert "Earlier commits stay readable" in result.stdout and "rekey" in result.stdout
    assert "carol" not in [m["handle"] for m in roster(repo)["members"]]


def test_team_remove_unknown_handle_is_exit_2(repo: Path, run, unchanged):
    result = run("-C", str(repo), "team", "remove", "mallory")
    assert result.exit_code == 2
    assert "unknown handle" in result.stderr


def test_team_remove_refuses_to_leave_a_case_below_min_recipients(repo, run, open_case):
    case_id = open_case("--recuse", "carol")
    before = git(repo, "rev-parse", "HEAD")
    result = run("-C", str(repo), "team", "remove", "bob")
    assert result.exit_code == 2
    assert case_id in result.stderr and "min_recipients" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == before


def test_team_list_json_is_the_roster(repo: Path, run):
    document = json.loads(run("-C", str(repo), "team", "list", "--json").stdout)
    assert [m["handle"] for m in document["members"]] == ["alice", "bob", "carol"]
    assert document["min_recipients"] == 2


def test_team_list_is_a_table(repo: Path, run):
    out = run("-C", str(repo), "team", "list").stdout
    assert out.splitlines()[0].split()[:3] == ["HANDLE", "NAME", "SINCE"]
