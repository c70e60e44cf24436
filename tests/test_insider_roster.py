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
from tests.shared_repo import attacker_and_honest_clones


@pytest.fixture
def world(repo: Path, run, keys, open_case, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(case id, attacker clone, honest clone): bob is recused from the case."""
    case_id = open_case("--recuse", "bob")
    attacker, honest = attacker_and_honest_clones(repo, tmp_path, run, keys)
    return case_id, attacker, honest


def forge_roster(clone: Path, change) -> None:  # type: ignore[no-untyped-def]
    """The attacker edits team.yaml by hand and pushes it."""
    team = clone / "team.yaml"
    document = yaml.safe_load(team.read_text())
    change(document)
    team.write_text(yaml.safe_dump(document, sort_keys=False))
    git(clone, "commit", "--no-verify", "-qam", "team: carol's new key (old laptop lost)")
    git(clone, "push", "--quiet", "origin", "HEAD")


def routine(run, clone: Path, keys, case_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    """What an honest member does on a normal day: sync, CI's advice (rekey), a note, a
    move, a piece of evidence, and sync again (the merge driver, if anything crossed)."""
    evidence = clone.parent / f"{clone.name}-screenshot.png"
    evidence.write_bytes(b"\x89PNG what was said")
    codes = []
    for args in (("sync",), ("rekey",), ("note", case_id, "-m", "called the reporter"),
                 ("move", case_id, "acknowledged", "-m", "replied"),
                 ("attach", case_id, str(evidence)), ("sync",)):
        codes.append(run("-C", str(clone), *args, as_member=keys["alice"]).exit_code)
    return codes


def member(document: dict, handle: str) -> dict:
    return next(m for m in document["members"] if m["handle"] == handle)


def assert_attacker_locked_out(clone: Path, case_id: str, keys) -> None:  # type: ignore[no-untyped-def]
    """Neither of the attacker's keys opens any version of the case or its evidence in the
    honest clone's history (bob was recused at intake: every version is after it)."""
    for key in (keys["bob"], keys["dave"]):
        assert key.public not in recipients(clone, case_id)
    versions = 0
    for commit in git(clone, "log", "--format=%H", "--", "cases").split():
        listed = git(clone, "ls-tree", "-r", "--name-only", commit, "--", "cases").split()
        for path in (p for p in listed if p.startswith(f"cases/{case_id}")):
            copy = clone.parent / f"version-{versions}{Path(path).suffix}"
            copy.write_bytes(subprocess.run(["git", "-C", str(clone), "show",
                                             f"{commit}:{path}"], capture_output=True,
                                            check=True).stdout)
            versions += 1
            for key in (keys["bob"], keys["dave"]):
                assert raw_sops_decrypt(copy, key).returncode == 128, (commit, path, key.handle)
            assert raw_sops_decrypt(copy, keys["alice"]).returncode == 0, (commit, path)
    assert versions >= 1


def test_a_replaced_member_key_never_becomes_a_recipient(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "carol").update(keys=[keys["dave"].public]))
    synced = run("-C", str(honest), "sync", as_member=keys["alice"])
    assert synced.exit_code == 0  # sync brings the forged roster, which adds nobody
    assert "carol: key added" in synced.stderr and "SHA256:" in synced.stderr
    assert "carol: key removed" in synced.stderr  # in effect at once, and said so
    assert "carol's new key (old laptop lost)" in synced.stderr  # the commit and its author
    # carol's accepted key is gone from team.yaml, her new one not accepted: bob recused,
    # alice alone is too few, so every write refuses (and says so) rather than widen.
    assert routine(run, honest, keys, case_id) == [0, 2, 2, 2, 2, 0]
    assert_attacker_locked_out(honest, case_id, keys)
    warned = run("-C", str(honest), "whoami", as_member=keys["alice"])
    assert "not accepted" in warned.stderr and "carol" in warned.stderr


def test_an_attacker_key_under_escrow_never_becomes_a_recipient(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: d.update(escrow=[keys["dave"].public]))
    assert routine(run, honest, keys, case_id) == [0] * 6
    assert_attacker_locked_out(honest, case_id, keys)
    assert run("-C", str(honest), "note", case_id, "-m", "x",
               as_member=keys["alice"]).exit_code == 0  # routine work goes on


def test_a_renamed_recused_handle_does_not_bring_its_keys_back(world, run, keys):
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "bob").update(handle="robert"))
    assert routine(run, honest, keys, case_id) == [0] * 6
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


# --- keyless check: what CI sees of a forged roster ---------------------------------------------


def check_codes(run, clone: Path) -> set[str]:  # type: ignore[no-untyped-def]
    result = run("-C", str(clone), "check", "--json")
    return {problem["code"] for problem in json.loads(result.stdout)["problems"]}


def test_check_names_a_recused_members_key_given_to_someone_else(world, run, keys):
    _case_id, attacker, _honest = world
    forge_roster(attacker, lambda d: member(d, "carol").update(keys=[keys["bob"].public,
                                                                    keys["carol"].public]))
    assert "roster-key-shared" in check_codes(run, attacker)


def test_check_names_a_renamed_recused_member_by_their_keys(world, run, keys):
    _case_id, attacker, _honest = world
    forge_roster(attacker, lambda d: member(d, "bob").update(handle="robert"))
    assert "recused-key-returned" in check_codes(run, attacker)


def test_check_names_an_escrow_key_that_is_a_member_key(world, run, keys):
    _case_id, attacker, _honest = world
    forge_roster(attacker, lambda d: d.update(escrow=[keys["alice"].public]))
    assert "roster-key-shared" in check_codes(run, attacker)


def test_a_recused_members_key_never_returns_under_another_name(world, run, keys):
    """Even accepted: the recusal recorded bob's keys, and they stay out of this case."""
    case_id, attacker, honest = world
    forge_roster(attacker, lambda d: (member(d, "carol")["keys"].append(keys["bob"].public),
                                      d["members"].remove(member(d, "bob"))))
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    assert run("-C", str(honest), "team", "accept", "--yes",
               as_member=keys["alice"]).exit_code == 0  # a careless accept
    shared = run("-C", str(honest), "share", case_id, "carol", "--yes",
                 as_member=keys["alice"])
    assert shared.exit_code == 2 and "recused" in shared.stderr
    assert run("-C", str(honest), "note", case_id, "-m", "x",
               as_member=keys["alice"]).exit_code == 0
    assert_attacker_locked_out(honest, case_id, keys)


# --- the honest ways in: a member's own new key, the yearly rotation ----------------------------


def test_a_members_own_key_change_accepted_by_the_others_works_end_to_end(world, run, keys):
    case_id, _attacker, honest = world
    carol = keys["carol"]
    assert run("-C", str(honest), "team", "set-keys", "carol", "--key", carol.public, "--key",
               keys["dave"].public, as_member=keys["alice"]).exit_code == 0  # her new laptop
    # alice made the change in her own clone: accepted there; share brings the case along.
    shared = run("-C", str(honest), "share", case_id, "carol", "--yes", "--json",
                 as_member=keys["alice"])
    assert shared.exit_code == 0, shared.stderr
    assert json.loads(shared.stdout)["shared"] == [case_id]
    case = honest / "cases" / f"{case_id}.yaml"
    assert raw_sops_decrypt(case, keys["dave"]).returncode == 0  # carol's new key reads it
    assert run("-C", str(honest), "team", "set-keys", "carol", "--key", keys["dave"].public,
               as_member=keys["alice"]).exit_code == 0  # the old laptop is retired
    assert run("-C", str(honest), "rekey", as_member=keys["alice"]).exit_code == 0
    assert raw_sops_decrypt(case, carol).returncode == 128


def test_yearly_rotation_two_join_one_leaves(repo, run, keys, open_case, tmp_path):
    """dave and erin join, carol leaves: rekey removes carol; share --open, run by a
    continuing member, gives each newcomer the open cases they are not recused from."""
    from cocflow.adapters.keys import generate

    erin_file = tmp_path / "erin.txt"
    erin = generate(erin_file)
    plain = open_case()
    erin_recused = open_case()
    for handle, key in (("dave", keys["dave"].public), ("erin", erin)):
        assert run("-C", str(repo), "team", "add", handle, "--key", key).exit_code == 0
    assert run("-C", str(repo), "recuse", erin_recused, "erin", "--reason", "conflict-of-interest",
               as_member=keys["alice"]).exit_code == 0
    assert run("-C", str(repo), "team", "remove", "carol").exit_code == 0
    assert run("-C", str(repo), "rekey", as_member=keys["alice"]).exit_code == 0
    for handle in ("dave", "erin"):
        result = run("-C", str(repo), "share", "--open", handle, "--yes", "--json",
                     as_member=keys["alice"])
        assert result.exit_code == 0, result.stderr
    cases = {c: repo / "cases" / f"{c}.yaml" for c in (plain, erin_recused)}
    assert raw_sops_decrypt(cases[plain], keys["dave"]).returncode == 0
    assert raw_sops_decrypt(cases[erin_recused], keys["dave"]).returncode == 0
    erin_key = type(keys["dave"])("erin", erin_file, erin)
    assert raw_sops_decrypt(cases[plain], erin_key).returncode == 0
    assert raw_sops_decrypt(cases[erin_recused], erin_key).returncode == 128
    for path in cases.values():
        assert raw_sops_decrypt(path, keys["carol"]).returncode == 128
    assert run("-C", str(repo), "audit").exit_code == 0
    assert run("-C", str(repo), "check").exit_code == 0


def test_a_reported_name_that_matches_a_member_stops_intake_until_answered(repo, run, keys):
    from tests.conftest import report_yaml, snapshot

    report = report_yaml(reported=[{"name": "Bob Smith", "contact": None, "team_handle": None}])
    before = snapshot(repo)
    stopped = run("-C", str(repo), "new", "--from", "-", input=report, as_member=keys["alice"])
    assert stopped.exit_code == 2 and "--recuse bob" in stopped.stderr
    assert snapshot(repo) == before
    recused = run("-C", str(repo), "new", "--from", "-", "--recuse", "bob", "--json",
                  input=report, as_member=keys["alice"])
    assert recused.exit_code == 0, recused.stderr
    case = repo / "cases" / f"{json.loads(recused.stdout)['id']}.yaml"
    assert raw_sops_decrypt(case, keys["bob"]).returncode == 128
    cleared = run("-C", str(repo), "new", "--from", "-", "--not-a-member", "Bob Smith",
                  input=report, as_member=keys["alice"])
    assert cleared.exit_code == 0, cleared.stderr


def test_a_recused_handle_cannot_be_renamed_even_by_team_accept(world, run, keys):
    """A handle recused anywhere is never renamed: accept refuses, the clone keeps its roster."""
    _case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "bob").update(handle="robert"))
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    accepted = honest.joinpath(".git", "cocflow", "accepted-team.json").read_text()
    refused = run("-C", str(honest), "team", "accept", "--yes", as_member=keys["alice"])
    assert refused.exit_code == 2, refused.stderr
    assert "bob" in refused.stderr and "recused" in refused.stderr
    assert honest.joinpath(".git", "cocflow", "accepted-team.json").read_text() == accepted


def test_a_recusal_from_before_keys_were_recorded_gets_the_accepted_keys_of_its_member(
        repo, run, keys):
    """A format-1 recusal names only a handle; after bob renamed himself in team.yaml, the
    first write still records bob's keys as the clone accepted them."""
    from tests.legacy import format1_case, write_format1_case

    write_format1_case(repo, format1_case("2026-0002", "Not bob", recused=("bob",)),
                       [keys["alice"].public, keys["carol"].public])
    git(repo, "add", "cases")
    git(repo, "commit", "--no-verify", "-qm", "a case written by format 1")
    assert run("-C", str(repo), "whoami", as_member=keys["alice"]).exit_code == 0
    forge_local = yaml.safe_load((repo / "team.yaml").read_text())
    member(forge_local, "bob").update(handle="robert")
    (repo / "team.yaml").write_text(yaml.safe_dump(forge_local, sort_keys=False))
    git(repo, "commit", "--no-verify", "-qam", "team: bob is robert now")
    assert run("-C", str(repo), "note", "2026-0002", "-m", "x",
               as_member=keys["alice"]).exit_code == 0
    from cocflow.domain.roster import fingerprint

    meta = yaml.safe_load((repo / "cases" / "2026-0002.yaml").read_text())["meta"]
    assert meta["recused_keys"] == [fingerprint(keys["bob"].public)]


def test_triage_readers_pushed_in_cocflow_yaml_wait_for_acceptance(world, run, keys):
    """bob adds himself to triage_readers: an email about him, which does not name him,
    reaches only the triage readers this clone accepted (carol), never bob."""
    from tests.test_email_intake import ENV, make_email

    _case_id, attacker, honest = world
    config = honest / "cocflow.yaml"
    config.write_text(config.read_text() + "triage_readers: [carol]\n")
    git(honest, "commit", "-qam", "carol reads email cases in triage")
    git(honest, "push", "--quiet", "origin", "HEAD")
    assert run("-C", str(honest), "team", "accept", "--yes",
               as_member=keys["alice"]).exit_code == 0
    git(attacker, "pull", "--quiet", "--rebase")
    forged = attacker / "cocflow.yaml"
    forged.write_text(forged.read_text().replace("[carol]", "[carol, bob]"))
    git(attacker, "commit", "--no-verify", "-qam", "bob helps with triage")
    git(attacker, "push", "--quiet", "origin", "HEAD")
    synced = run("-C", str(honest), "sync", as_member=keys["alice"])
    assert synced.exit_code == 0 and "bob: triage reader added" in synced.stderr
    opened = run("-C", str(honest), "new", "--from-email", "-", "--json",
                 input=make_email(text="The tall one from the team."), as_member=keys["alice"],
                 env=ENV)
    assert opened.exit_code == 0, opened.stderr
    case = honest / "cases" / f"{json.loads(opened.stdout)['id']}.yaml"
    assert sorted(recipients(honest, case.stem)) == sorted([keys["alice"].public,
                                                              keys["carol"].public])
    assert raw_sops_decrypt(case, keys["bob"]).returncode == 128
    shown = run("-C", str(honest), "team", "accept", "--json", "--yes", as_member=keys["alice"])
    assert {"kind": "triage reader added", "handle": "bob", "detail": "in cocflow.yaml",
            "keys": []} in json.loads(shown.stdout)["pending"]


@pytest.mark.parametrize(("change", "kinds"), [
    (lambda d, keys: member(d, "bob").update(keys=[keys["dave"].public]),
     {"key added", "key removed"}),
    (lambda d, keys: member(d, "bob")["keys"].append(keys["dave"].public), {"key added"}),
    (lambda d, keys: d["members"].remove(member(d, "bob")), {"removed"}),
])
def test_check_since_names_pushed_changes_to_a_recused_members_keys(world, run, keys, change,
                                                                    kinds):
    """CI runs `check --since BASE`: the pushed commits change bob's keys (bob is recused)."""
    case_id, attacker, _honest = world
    base = git(attacker, "rev-parse", "HEAD").strip()
    assert run("-C", str(attacker), "check", "--since", base).exit_code == 0
    forge_roster(attacker, lambda d: change(d, keys))
    found = run("-C", str(attacker), "check", "--since", base, "--json")
    assert found.exit_code == 1
    problems = [p for p in json.loads(found.stdout)["problems"]
                if p["code"] == "recused-member-changed"]
    assert problems and {p["case"] for p in problems} == {case_id}
    assert all("bob" in p["message"] for p in problems)
    assert {k for k in kinds if any(k in p["message"] for p in problems)} == kinds


def test_check_since_leaves_a_change_to_a_member_recused_nowhere_alone(world, run, keys):
    _case_id, attacker, _honest = world
    base = git(attacker, "rev-parse", "HEAD").strip()
    forge_roster(attacker, lambda d: member(d, "carol")["keys"].append(keys["dave"].public))
    assert run("-C", str(attacker), "check", "--since", base).exit_code == 0
    assert run("-C", str(attacker), "check", "--since", "0" * 40).exit_code == 0  # new branch
    unknown = run("-C", str(attacker), "check", "--since", "1" * 40)
    assert unknown.exit_code == 2 and "fetch" in unknown.stderr


def test_a_recusal_at_intake_records_the_keys_team_yaml_gives_the_member_too(world, run, keys):
    """bob pushed a second key (not accepted): a case about him records both as his, so the
    pushed one never reads it under another name later."""
    from cocflow.domain.roster import fingerprint
    from tests.conftest import report_yaml

    _case_id, attacker, honest = world
    forge_roster(attacker, lambda d: member(d, "bob")["keys"].append(keys["dave"].public))
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    report = report_yaml(reported=[{"name": "B.", "contact": None, "team_handle": "bob"}])
    opened = run("-C", str(honest), "new", "--from", "-", "--json", input=report,
                 as_member=keys["alice"])
    assert opened.exit_code == 0, opened.stderr
    case = honest / "cases" / f"{json.loads(opened.stdout)['id']}.yaml"
    assert yaml.safe_load(case.read_text())["meta"]["recused_keys"] == sorted(
        fingerprint(keys[h].public) for h in ("bob", "dave"))


def test_carol_changes_her_own_key_and_the_others_accept_it(world, run, keys, tmp_path):
    """carol, in her own clone, adds her new laptop's key and pushes; alice's routine work
    does not give it the case; alice accepts it and shares; carol retires the old key."""
    from cocflow.adapters.keys import generate

    case_id, _attacker, honest = world
    carol = tmp_path / "carol-clone"
    subprocess.run(["git", "clone", "--quiet", str(tmp_path / "remote.git"), str(carol)],
                   check=True)
    new_file = tmp_path / "carol-new.txt"
    new = type(keys["carol"])("carol", new_file, generate(new_file))
    assert run("-C", str(carol), "team", "set-keys", "carol", "--key", keys["carol"].public,
               "--key", new.public, as_member=keys["carol"]).exit_code == 0
    assert run("-C", str(carol), "sync", as_member=keys["carol"]).exit_code == 0
    case = honest / "cases" / f"{case_id}.yaml"
    assert routine(run, honest, keys, case_id) == [0] * 6  # her old key still reads it
    assert raw_sops_decrypt(case, new).returncode == 128  # the new one waits
    accepted = run("-C", str(honest), "team", "accept", "--yes", as_member=keys["alice"])
    assert accepted.exit_code == 0 and "carol: key added" in accepted.stderr
    shared = run("-C", str(honest), "share", "--open", "carol", "--yes", "--json",
                 as_member=keys["alice"])
    assert json.loads(shared.stdout)["shared"] == [case_id]
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    assert raw_sops_decrypt(case, new).returncode == 0
    assert run("-C", str(carol), "sync", as_member=new).exit_code == 0
    assert run("-C", str(carol), "team", "set-keys", "carol", "--key", new.public,
               as_member=new).exit_code == 0
    assert run("-C", str(carol), "sync", as_member=new).exit_code == 0
    assert run("-C", str(honest), "sync", as_member=keys["alice"]).exit_code == 0
    assert run("-C", str(honest), "rekey", as_member=keys["alice"]).exit_code == 0
    assert raw_sops_decrypt(case, keys["carol"]).returncode == 128
    assert raw_sops_decrypt(case, new).returncode == 0
    assert_attacker_locked_out(honest, case_id, keys)


def test_a_clone_accepted_before_triage_readers_were_kept_accepts_none_it_was_not_shown(
        world, run, keys):
    """An accepted roster written before triage readers were kept takes none from the pushed
    cocflow.yaml (bob may have put himself there): they wait for `team accept`."""
    _case_id, attacker, honest = world
    forged = attacker / "cocflow.yaml"
    forged.write_text(forged.read_text() + "triage_readers: [bob]\n")
    git(attacker, "commit", "--no-verify", "-qam", "bob helps with triage")
    git(attacker, "push", "--quiet", "origin", "HEAD")
    git(honest, "pull", "--quiet", "--ff-only")
    kept = honest / ".git" / "cocflow" / "accepted-team.json"
    old = json.loads(kept.read_text())
    del old["triage_readers"]  # as a clone of the version before triage readers wrote it
    kept.write_text(json.dumps(old))
    accepted = run("-C", str(honest), "team", "accept", "--yes", as_member=keys["alice"])
    assert accepted.exit_code == 0 and "bob: triage reader added" in accepted.stderr
