"""A recused member with push access forges team.yaml; honest members' routine commands
never widen access because of it (issue: explicit grants).

Each test: a bare remote, the attacker's clone (bob, recused from the case) and an honest
member's clone (alice). The attacker's keys are bob's and dave's (a key he also holds).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import git
from tests.keyaccess import raw_sops_decrypt, recipients


@pytest.fixture
def world(repo: Path, run, keys, open_case, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(case id, attacker clone, honest clone): bob is recused from the case."""
    case_id = open_case("--recuse", "bob")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    clones = []
    for who in ("bob", "alice"):
        where = tmp_path / f"{who}-clone"
        subprocess.run(["git", "clone", "--quiet", str(bare), str(where)], check=True)
        # A clone in use has accepted the roster it was cloned with (its first command).
        assert run("-C", str(where), "whoami", as_member=keys[who]).exit_code == 0
        clones.append(where)
    return case_id, clones[0], clones[1]


def forge_roster(clone: Path, change) -> None:  # type: ignore[no-untyped-def]
    """The attacker edits team.yaml by hand and pushes it."""
    team = clone / "team.yaml"
    document = yaml.safe_load(team.read_text())
    change(document)
    team.write_text(yaml.safe_dump(document, sort_keys=False))
    git(clone, "commit", "--no-verify", "-qam", "team: carol's new key (old laptop lost)")
    git(clone, "push", "--quiet", "origin", "HEAD")


def routine(run, clone: Path, keys, case_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    """What an honest member does on a normal day: sync, CI's advice (rekey), a note."""
    codes = []
    for args in (("sync",), ("rekey",), ("note", case_id, "-m", "called the reporter")):
        codes.append(run("-C", str(clone), *args, as_member=keys["alice"]).exit_code)
    return codes


def member(document: dict, handle: str) -> dict:
    return next(m for m in document["members"] if m["handle"] == handle)


def assert_attacker_locked_out(clone: Path, case_id: str, keys) -> None:  # type: ignore[no-untyped-def]
    case = clone / "cases" / f"{case_id}.yaml"
    for key in (keys["bob"], keys["dave"]):
        assert key.public not in recipients(clone, case_id)
        assert raw_sops_decrypt(case, key).returncode == 128


def test_a_replaced_member_key_never_becomes_a_recipient(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "carol").update(keys=[keys["dave"].public]))
    codes = routine(run, honest, keys, case_id)
    assert codes[0] == 0  # sync brings the forged roster, which adds nobody
    assert_attacker_locked_out(honest, case_id, keys)
    warned = run("-C", str(honest), "whoami", as_member=keys["alice"])
    assert "not accepted" in warned.stderr and "carol" in warned.stderr


def test_an_attacker_key_under_escrow_never_becomes_a_recipient(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: d.update(escrow=[keys["dave"].public]))
    routine(run, honest, keys, case_id)
    assert_attacker_locked_out(honest, case_id, keys)
    assert run("-C", str(honest), "note", case_id, "-m", "x",
               as_member=keys["alice"]).exit_code == 0  # routine work goes on


def test_a_renamed_recused_handle_does_not_bring_its_keys_back(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "bob").update(handle="robert"))
    routine(run, honest, keys, case_id)
    assert_attacker_locked_out(honest, case_id, keys)


def test_team_accept_lists_each_change_with_fingerprints_and_authors(world, run, keys):
    _case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "carol").update(keys=[keys["dave"].public]))
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    refused = run("-C", str(honest), "team", "accept", input="n\n", as_member=keys["alice"])
    assert refused.exit_code != 0
    assert "carol: key added" in refused.stderr and "carol: key removed" in refused.stderr
    assert "SHA256:" in refused.stderr and "carol's new key" in refused.stderr
    shown = run("-C", str(honest), "team", "accept", "--yes", "--json",
                as_member=keys["alice"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["accepted"] is True
    again = run("-C", str(honest), "team", "accept", "--json", as_member=keys["alice"])
    assert json.loads(again.stdout) == {"changes": [], "pending": [], "commits": [],
                                        "accepted": False}
