"""Two members, two clones, one bare remote: `sync` and the merge driver lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cocflow.adapters import sops
from cocflow.operations.merge_driver import ATTRIBUTE
from tests.conftest import SENTINEL, assert_no_leak, git, snapshot


@pytest.fixture
def case_id(open_case) -> str:
    return open_case()


@pytest.fixture
def remote(repo: Path, case_id: str, tmp_path: Path) -> Path:
    """A bare remote holding the repository with one open case."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    return bare


def clone(remote: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(remote), str(where)], check=True)
    return where


@pytest.fixture
def clones(remote: Path, tmp_path: Path) -> tuple[Path, Path]:
    return clone(remote, tmp_path / "alice-clone"), clone(remote, tmp_path / "bob-clone")


def ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.stderr
    return result


def show(run, root: Path, case_id: str, key) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(ok(run("-C", str(root), "show", case_id, "--json", as_member=key)).stdout)


def title_editor(tmp_path: Path, title: str) -> str:
    """An $EDITOR that replaces the report's title line."""
    script = tmp_path / f"editor-{abs(hash(title))}.py"
    script.write_text(
        "import re, sys\npath = sys.argv[1]\ntext = open(path).read()\n"
        f"text = re.sub(r'(?m)^(  title: ).*$', lambda m: m.group(1) + {title!r}, text, 1)\n"
        "open(path, 'w').write(text)\n"
    )
    return f"{sys.executable} {script}"


def notes(document: dict) -> list[str]:
    return [e["note"] for e in document["timeline"] if e["event"] == "note"]


def test_notes_added_in_two_clones_are_both_found_after_sync(clones, run, keys, case_id):
    a, b = clones
    ok(run("-C", str(a), "note", case_id, "-m", f"from alice {SENTINEL}", as_member=keys["alice"]))
    ok(run("-C", str(b), "note", case_id, "-m", f"from bob {SENTINEL}", as_member=keys["bob"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    result = ok(run("-C", str(b), "sync", as_member=keys["bob"]))
    assert "rebase" in result.stdout and "pushed" in result.stdout
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    expected = [f"from alice {SENTINEL}", f"from bob {SENTINEL}"]
    assert sorted(notes(show(run, a, case_id, keys["alice"]))) == expected
    assert sorted(notes(show(run, b, case_id, keys["bob"]))) == expected
    assert git(a, "rev-parse", "HEAD") == git(b, "rev-parse", "HEAD")
    for root in (a, b):
        assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
        assert_no_leak(root, SENTINEL, result.stdout, result.stderr)


def test_sync_indexes_the_paths_each_commit_changes_for_the_history_check(clones, run, keys,
                                                                          case_id):
    """The history rules walk each incoming case's history: with changed-path Bloom filters in
    git's commit-graph, git skips the commits that leave the case alone."""
    a, b = clones
    ok(run("-C", str(a), "note", case_id, "-m", "from alice", as_member=keys["alice"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    graphs = b / ".git" / "objects" / "info" / "commit-graphs"
    assert not graphs.exists()
    ok(run("-C", str(b), "sync", as_member=keys["bob"]))
    chunks = b"".join(path.read_bytes() for path in graphs.glob("*.graph"))
    assert b"BIDX" in chunks and b"BDAT" in chunks  # the Bloom filters' index and data
    tip = git(b, "rev-parse", "HEAD")
    assert tip == git(a, "rev-parse", "HEAD")
    assert subprocess.run(["git", "-C", str(b), "commit-graph", "verify"],
                          capture_output=True).returncode == 0


def test_an_older_repository_without_the_merge_attribute_still_merges(repo, run, keys, case_id,
                                                                      tmp_path):
    attributes = repo / ".gitattributes"
    attributes.write_text(attributes.read_text().replace(ATTRIBUTE + "\n", ""))
    git(repo, "commit", "--quiet", "-am", "an older repository")
    bare = tmp_path / "old.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    a, b = clone(bare, tmp_path / "a"), clone(bare, tmp_path / "b")
    ok(run("-C", str(a), "note", case_id, "-m", "one", as_member=keys["alice"]))
    # the clone's first command sets the driver up (locally: .git/info/attributes)
    first = ok(run("-C", str(b), "note", case_id, "-m", "two", as_member=keys["bob"]))
    assert "merge attribute" in first.stderr
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "sync", as_member=keys["bob"]))
    assert sorted(notes(show(run, b, case_id, keys["bob"]))) == ["one", "two"]


def test_a_move_on_one_side_and_a_note_on_the_other_both_survive(clones, run, keys, case_id):
    a, b = clones
    ok(run("-C", str(a), "move", case_id, "acknowledged", "-m", "replied",
           as_member=keys["alice"]))
    ok(run("-C", str(b), "note", case_id, "-m", "checked the logs", as_member=keys["bob"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "sync", "--merge", as_member=keys["bob"]))
    document = show(run, b, case_id, keys["bob"])
    assert document["meta"]["status"] == "acknowledged"
    assert document["meta"]["responded_at"] is not None
    assert notes(document) == ["checked the logs"]
    assert len(git(b, "rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # a merge
    listed = json.loads(ok(run("-C", str(b), "list", "--json")).stdout)
    assert listed[0]["status"] == "acknowledged"


def test_a_true_conflict_fails_cleanly_with_nothing_lost(clones, run, keys, case_id, tmp_path):
    a, b = clones
    ok(run("-C", str(a), "edit", case_id, as_member=keys["alice"],
           env={"EDITOR": title_editor(tmp_path, f"Title A {SENTINEL}")}))
    ok(run("-C", str(b), "edit", case_id, as_member=keys["bob"],
           env={"EDITOR": title_editor(tmp_path, f"Title B {SENTINEL}")}))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    before = snapshot(b)
    result = run("-C", str(b), "sync", as_member=keys["bob"])
    assert result.exit_code == 4
    assert "report.title" in result.stderr and "--prefer" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(b) == before
    git_dir = b / ".git"
    assert not any((git_dir / d).exists() for d in ("rebase-merge", "rebase-apply",
                                                    "MERGE_HEAD"))
    # Both versions are still there, each readable by a member.
    assert show(run, b, case_id, keys["bob"])["report"]["title"] == f"Title B {SENTINEL}"
    upstream = git(b, "show", f"origin/main:cases/{case_id}.yaml")
    theirs = sops.decrypt(upstream, "upstream", sops.Keyring(keys["bob"].file))
    assert f"Title A {SENTINEL}" in theirs
    assert_no_leak(b, SENTINEL, result.stdout, result.stderr)


@pytest.mark.parametrize(("prefer", "title"), [("theirs", "Title A"), ("mine", "Title B")])
def test_prefer_settles_a_conflict_and_keeps_both_timelines(clones, run, keys, case_id,
                                                            tmp_path, prefer, title):
    a, b = clones
    ok(run("-C", str(a), "edit", case_id, as_member=keys["alice"],
           env={"EDITOR": title_editor(tmp_path, "Title A")}))
    ok(run("-C", str(b), "edit", case_id, as_member=keys["bob"],
           env={"EDITOR": title_editor(tmp_path, "Title B")}))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "sync", "--prefer", prefer, as_member=keys["bob"]))
    document = show(run, b, case_id, keys["carol"])
    assert document["report"]["title"] == title
    edits = [e["by"] for e in document["timeline"] if e["note"] == "report edited"]
    assert sorted(edits) == ["alice", "bob"]


def test_a_recusal_on_one_side_wins_and_the_merge_is_not_encrypted_to_them(
        clones, run, keys, case_id, tmp_path):
    a, b = clones
    editor = tmp_path / "recuse-carol.py"
    editor.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\n"
                      "open(p, 'w').write(t.replace('team_handle: null', 'team_handle: carol'))\n")
    ok(run("-C", str(a), "edit", case_id, as_member=keys["alice"],
           env={"EDITOR": f"{sys.executable} {editor}"}))
    ok(run("-C", str(b), "note", case_id, "-m", "bob's note", as_member=keys["bob"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "sync", as_member=keys["bob"]))
    document = show(run, b, case_id, keys["bob"])
    assert document["meta"]["recused"] == ["carol"] and "bob's note" in notes(document)
    recipients = sops.recipients_of((b / "cases" / f"{case_id}.yaml").read_text())
    assert keys["carol"].public not in recipients
    assert run("-C", str(b), "show", case_id, as_member=keys["carol"]).exit_code == 3


def test_plain_git_merge_uses_the_driver_and_a_conflict_writes_no_markers(
        clones, run, keys, case_id, tmp_path):
    a, b = clones
    ok(run("-C", str(a), "edit", case_id, as_member=keys["alice"],
           env={"EDITOR": title_editor(tmp_path, f"A {SENTINEL}")}))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "edit", case_id, as_member=keys["bob"],
           env={"EDITOR": title_editor(tmp_path, f"B {SENTINEL}")}))
    run("-C", str(b), "doctor", "--fix", as_member=keys["bob"])
    git(b, "fetch", "--quiet")
    merged = subprocess.run(["git", "-C", str(b), "merge", "origin/main"], capture_output=True,
                            text=True, env=_env_with_key(keys["bob"]))
    assert merged.returncode != 0
    assert "report.title" in merged.stderr and SENTINEL not in merged.stdout + merged.stderr
    text = (b / "cases" / f"{case_id}.yaml").read_text()
    assert "<<<<<<<" not in text and "\nsops:\n" in text
    stages = git(b, "ls-files", "--unmerged", "--", f"cases/{case_id}.yaml").splitlines()
    assert sorted(line.split()[2] for line in stages) == ["1", "2", "3"]
    assert_no_leak(b)
    git(b, "merge", "--abort")


def test_the_same_id_opened_in_both_clones_renumbers_the_unpushed_one(clones, run, keys,
                                                                      case_id):
    from tests.conftest import report_yaml

    a, b = clones
    start = git(a, "rev-parse", "HEAD").strip()
    ok(run("-C", str(a), "new", "--from", "-", input=report_yaml(title="report A"),
           as_member=keys["alice"]))
    ok(run("-C", str(b), "new", "--from", "-", input=report_yaml(title=f"report B {SENTINEL}"),
           as_member=keys["bob"]))
    ok(run("-C", str(b), "note", "2026-0002", "-m", "bob's note", as_member=keys["bob"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    result = ok(run("-C", str(b), "sync", "--json", as_member=keys["bob"]))
    assert json.loads(result.stdout)["renumbered"] == {"2026-0002": "2026-0003"}
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    for root in (a, b):
        assert show(run, root, "2026-0002", keys["carol"])["report"]["title"] == "report A"
        moved = show(run, root, "2026-0003", keys["carol"])
        assert moved["report"]["title"] == f"report B {SENTINEL}"
        assert moved["meta"]["id"] == "2026-0003" and notes(moved) == ["bob's note"]
        assert moved["meta"]["revision"] == 3  # opened, noted, each version sealed anew
        assert run("-C", str(root), "verify", as_member=keys["carol"]).exit_code == 0
        assert_no_leak(root, SENTINEL, result.stdout, result.stderr)
    messages = git(b, "log", "--format=%s", "-3").splitlines()
    assert messages[:2] == ["note on 2026-0003", "open 2026-0003 (received)"]
    # Renumbering rewrote only unpushed commits: the pushed history only grew.
    checked = run("-C", str(a), "check", "--since", start)
    assert checked.exit_code == 0, checked.stdout
    assert git(b, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_failure_while_renumbering_changes_nothing(clones, run, keys, case_id, tmp_path):
    from tests.conftest import report_yaml
    from tests.test_faults import fake_sops

    a, b = clones
    for root, key in ((a, keys["alice"]), (b, keys["bob"])):
        ok(run("-C", str(root), "new", "--from", "-", input=report_yaml(), as_member=key))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    before = snapshot(b)
    result = run("-C", str(b), "sync", as_member=keys["bob"],
                 env={"COCFLOW_SOPS": fake_sops(tmp_path, "fail")})
    assert result.exit_code == 4 and "sops failed" in result.stderr
    assert snapshot(b) == before
    assert not list((b / ".git").glob("cocflow-renumber-*"))


def test_a_case_opened_twice_is_refused_by_a_plain_git_merge(clones, run, keys, case_id):
    from tests.conftest import report_yaml

    a, b = clones
    for root, key in ((a, keys["alice"]), (b, keys["bob"])):
        ok(run("-C", str(root), "new", "--from", "-", input=report_yaml(), as_member=key))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    run("-C", str(b), "doctor", "--fix", as_member=keys["bob"])
    git(b, "fetch", "--quiet")
    merged = subprocess.run(["git", "-C", str(b), "merge", "origin/main"], capture_output=True,
                            text=True, env=_env_with_key(keys["bob"]))
    assert merged.returncode != 0 and "opened on both sides" in merged.stderr
    assert "<<<<<<<" not in (b / "cases" / "2026-0002.yaml").read_text()


def test_the_first_sync_to_an_empty_remote_pushes_and_sets_the_upstream(repo, run, keys,
                                                                        case_id, tmp_path):
    bare = tmp_path / "empty.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    git(repo, "remote", "add", "origin", str(bare))
    result = ok(run("-C", str(repo), "sync", "--json", as_member=keys["alice"]))
    assert json.loads(result.stdout)["pushed"] is True
    assert git(repo, "rev-parse", "--abbrev-ref", "main@{u}").strip() == "origin/main"
    assert git(bare, "rev-parse", "main") == git(repo, "rev-parse", "HEAD")


def test_sync_when_nothing_changed_says_up_to_date(clones, run, keys):
    result = ok(run("-C", str(clones[0]), "sync", as_member=keys["alice"]))
    assert "Up to date" in result.stdout


def test_sync_json_reports_what_happened(clones, run, keys, case_id):
    a, _b = clones
    ok(run("-C", str(a), "note", case_id, "-m", "x", as_member=keys["alice"]))
    document = json.loads(ok(run("-C", str(a), "sync", "--json", as_member=keys["alice"])).stdout)
    assert document["pushed"] is True and document["outgoing"] == 1
    assert document["remote"] == "origin" and document["branch"] == "main"


def test_sync_without_a_remote_is_exit_4_with_advice(repo, run, keys, unchanged):
    result = run("-C", str(repo), "sync", as_member=keys["alice"])
    assert result.exit_code == 4 and "git remote add" in result.stderr


def test_sync_with_an_uncommitted_change_is_exit_4(clones, run, keys, case_id):
    a, _b = clones
    path = a / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text() + "# local\n")
    result = run("-C", str(a), "sync", as_member=keys["alice"])
    assert result.exit_code == 4 and "uncommitted" in result.stderr


def test_a_refused_push_is_exit_4_and_keeps_the_commits(clones, run, keys, case_id):
    a, _b = clones
    hook = a / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    ok(run("-C", str(a), "note", case_id, "-m", "x", as_member=keys["alice"]))
    head = git(a, "rev-parse", "HEAD")
    result = run("-C", str(a), "sync", as_member=keys["alice"])
    assert result.exit_code == 4 and "safe in this clone" in result.stderr
    assert git(a, "rev-parse", "HEAD") == head


def test_an_unreachable_remote_is_exit_4(clones, run, keys, tmp_path):
    a, _b = clones
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    result = run("-C", str(a), "sync", as_member=keys["alice"])
    assert result.exit_code == 4 and "fetch" in result.stderr


def test_init_and_doctor_fix_register_the_merge_driver(repo, run, keys):
    assert ATTRIBUTE in (repo / ".gitattributes").read_text().splitlines()
    assert git(repo, "check-attr", "merge", "--", "cases/2026-0001.yaml").strip().endswith(
        "cocflow")
    git(repo, "config", "--unset", "merge.cocflow.driver")
    run("-C", str(repo), "doctor", "--fix", as_member=keys["alice"])
    driver = git(repo, "config", "--get", "merge.cocflow.driver")
    assert sys.executable in driver and "merge-driver %O %A %B %P" in driver


def test_the_merge_driver_refuses_a_path_that_is_not_a_case(repo, run, keys, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    result = run("-C", str(repo), "merge-driver", str(empty), str(empty), str(empty),
                 "../team.yaml", as_member=keys["alice"])
    assert result.exit_code == 2


def _env_with_key(key) -> dict[str, str]:  # type: ignore[no-untyped-def]
    import os

    return {**os.environ, "SOPS_AGE_KEY_FILE": str(key.file)}


def test_a_conflict_after_renumbering_undoes_the_renumbering_too(clones, run, keys, case_id,
                                                                   tmp_path):
    from tests.conftest import report_yaml

    a, b = clones
    for root, key in ((a, keys["alice"]), (b, keys["bob"])):
        ok(run("-C", str(root), "new", "--from", "-", input=report_yaml(), as_member=key))
    ok(run("-C", str(a), "edit", case_id, as_member=keys["alice"],
           env={"EDITOR": title_editor(tmp_path, "Title A")}))
    ok(run("-C", str(b), "edit", case_id, as_member=keys["bob"],
           env={"EDITOR": title_editor(tmp_path, "Title B")}))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    before = snapshot(b)
    result = run("-C", str(b), "sync", as_member=keys["bob"])
    assert result.exit_code == 4 and "report.title" in result.stderr
    assert snapshot(b) == before  # the unpushed 2026-0002 keeps its id and its commits


def test_renumbering_moves_the_evidence_with_its_case(clones, run, keys, case_id, tmp_path):
    from tests.conftest import report_yaml

    a, b = clones
    ok(run("-C", str(a), "new", "--from", "-", input=report_yaml(), as_member=keys["alice"]))
    ok(run("-C", str(b), "new", "--from", "-", input=report_yaml(), as_member=keys["bob"]))
    screenshot = tmp_path / "shot.png"
    screenshot.write_bytes(b"\x89PNG evidence bytes")
    ok(run("-C", str(b), "attach", "2026-0002", str(screenshot), as_member=keys["bob"]))
    ok(run("-C", str(a), "sync", as_member=keys["alice"]))
    ok(run("-C", str(b), "sync", as_member=keys["bob"]))
    assert not (b / "cases" / "2026-0002").exists()
    assert (b / "cases" / "2026-0003" / "evidence-001.sops.json").is_file()
    out = tmp_path / "out.png"
    ok(run("-C", str(b), "evidence", "2026-0003", "1", "--out", str(out), as_member=keys["carol"]))
    assert out.read_bytes() == screenshot.read_bytes()
    assert run("-C", str(b), "check").exit_code == 0


def test_a_commit_made_with_plumbing_is_checked_like_the_pre_commit_hook(repo, run, open_case):
    """Renumbering rewrites commits without the hook; require_clean_commit stands in for it."""
    from cocflow.adapters.git import GitRepo
    from cocflow.errors import ProblemsFound
    from cocflow.operations.check_changes import require_clean_commit

    case_id = open_case()
    repository = GitRepo(repo)
    require_clean_commit(repository, "HEAD", {f"cases/{case_id}.yaml"})  # a sealed case passes
    plain = repo / "cases" / "2026-0099.yaml"
    plain.write_text("meta: {id: '2026-0099'}\nreport: {title: plaintext}\n")
    git(repo, "add", str(plain))
    git(repo, "commit", "--no-verify", "-qm", "plaintext")
    with pytest.raises(ProblemsFound, match=r"not-sops|plaintext"):
        require_clean_commit(repository, "HEAD", {"cases/2026-0099.yaml"})
