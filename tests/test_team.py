"""The roster: adding and removing members, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import git


def roster(repo: Path) -> dict:
    return yaml.safe_load((repo / "team.yaml").read_text())


def test_team_add_writes_team_yaml_commits_once_and_says_share_is_next(repo: Path, run, keys):
    before = git(repo, "rev-list", "--count", "HEAD")
    result = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public,
                 "--name", "Dave")
    assert result.exit_code == 0, result.stderr
    assert "share --open dave" in result.stderr  # the next: hint is on stderr
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


COMMENTED_TEAM = """\
# Our response team. Rotation: every January (see the handbook).
members:   # order: by seniority
  # alice leads the team this year
  - handle: alice
    name: "Alice A."
    keys:
      - {alice}
    since: '2026-01-01'
  - {{handle: bob, keys: ["{bob}"], since: "2026-01-01"}}   # bob: treasurer
  - handle: carol   # carol steps down in March
    keys:
      - {carol}
    since: '2026-01-01'
escrow: []   # the offline key lives in the safe from February
min_recipients: 2   # never fewer
"""


def commented_roster(repo: Path, keys) -> str:
    text = COMMENTED_TEAM.format(**{h: keys[h].public for h in ("alice", "bob", "carol")})
    (repo / "team.yaml").write_text(text)
    git(repo, "commit", "--quiet", "-am", "team: our comments")
    return text


def test_team_add_keeps_the_teams_comments_order_and_quoting(repo: Path, run, keys):
    before = commented_roster(repo, keys)
    result = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    assert result.exit_code == 0, result.stderr
    after = (repo / "team.yaml").read_text()
    end = before.index("escrow:")
    assert after.startswith(before[:end])  # every line before the new entry, byte for byte
    added = after[end:]
    assert after.endswith("escrow: []   # the offline key lives in the safe from February\n"
                          "min_recipients: 2   # never fewer\n")
    assert added.startswith(f"  - handle: dave\n    keys:\n      - {keys['dave'].public}\n")
    assert [m["handle"] for m in roster(repo)["members"]] == ["alice", "bob", "carol", "dave"]
    assert run("-C", str(repo), "check").exit_code == 0


def test_team_remove_keeps_every_other_line(repo: Path, run, keys):
    before = commented_roster(repo, keys)
    result = run("-C", str(repo), "team", "remove", "carol")
    assert result.exit_code == 0, result.stderr
    after = (repo / "team.yaml").read_text()
    start, end = before.index("  - handle: carol"), before.index("escrow:")
    assert after == before[:start] + before[end:]
    assert [m["handle"] for m in roster(repo)["members"]] == ["alice", "bob"]


def test_the_first_member_turns_an_empty_flow_list_into_a_block(tmp_path: Path, run, keys):
    root = tmp_path / "coc"
    assert run("init", str(root), "--ci", "none").exit_code == 0
    assert run("-C", str(root), "team", "add", "alice", "--key", keys["alice"].public
               ).exit_code == 0
    text = (root / "team.yaml").read_text()
    assert text.startswith("# The response team")  # the header comment stays
    assert f"members:\n  - handle: alice\n    keys:\n      - {keys['alice'].public}\n" in text
