"""Two members opened a case at the same time and drew the same id: renumber ours.

Ids are handed out in order (`YYYY-NNNN`), so two members who open a case while out of
sync both get the next free one. The two files are different reports: they must never
be merged. Before `sync` replays unpushed commits onto upstream, every case those commits
added under an id that upstream also added is moved to the next id free on both sides.
Only unpushed commits are rewritten; each version of the case is decrypted, given its new
id and re-encrypted with `seal`, in memory, and the commits are rebuilt with git plumbing
in a private index. The branch moves only when everything worked: on any failure, nothing
has changed.
"""

from __future__ import annotations

import re

from cocflow.adapters.store import CASES_DIR, case_file, case_id_of
from cocflow.domain.case import next_case_id
from cocflow.errors import EnvironmentProblem
from cocflow.operations.check_changes import require_clean_commit
from cocflow.operations.workspace import Workspace, decrypt_case, seal


def renumber_collisions(ws: Workspace, upstream: str) -> dict[str, str]:
    """Move unpushed cases whose id upstream also used; returns {old id: new id}."""
    base = ws.git.run("merge-base", "HEAD", upstream).strip()
    colliding = colliding_ids(ws, base, upstream)
    if not colliding:
        return {}
    if ws.git.run("rev-list", "--min-parents=2", f"{base}..HEAD").strip():
        raise EnvironmentProblem(
            f"case(s) {', '.join(colliding)} were opened here and upstream under the same "
            "id, and your unpushed commits include a merge: cocflow cannot renumber them; "
            "ask for help before changing anything"
        )
    mapping = _new_ids(ws, colliding, upstream)
    head = _rewrite(ws, base, mapping)
    # The rewritten commits skip the pre-commit hook: check what they changed ourselves.
    changed = set(ws.git.run("diff", "--name-only", "--no-renames", "-z", base, head)
                  .split("\0")) - {""}
    require_clean_commit(ws.git, head, changed, base)
    ws.git.run("reset", "--quiet", "--keep", head)
    return mapping


def colliding_ids(ws: Workspace, base: str, upstream: str) -> list[str]:
    """Case ids added both by unpushed commits and upstream since `base`, as different files."""
    both = _added(ws, base, "HEAD") & _added(ws, base, upstream)
    return sorted(i for i in both if _blob(ws, "HEAD", i) != _blob(ws, upstream, i))


def _new_ids(ws: Workspace, colliding: list[str], upstream: str) -> dict[str, str]:
    taken = _ids_at(ws, upstream) | _ids_at(ws, "HEAD")
    mapping = {}
    for old in colliding:
        new = next_case_id(int(old[:4]), taken)
        taken.add(new)
        mapping[old] = new
    return mapping


def _rewrite(ws: Workspace, base: str, mapping: dict[str, str]) -> str:
    """Rebuild base..HEAD with the cases moved; returns the new head commit."""
    commits = ws.git.run("rev-list", "--reverse", f"{base}..HEAD").split()
    resealed: dict[str, str] = {}  # old blob -> new blob: unchanged versions stay unchanged
    parent = base
    with ws.git.private_index("cocflow-renumber-") as env:
        for commit in commits:
            tree = _rewrite_tree(ws, commit, mapping, resealed, env)
            parent = _recommit(ws, commit, tree, parent, mapping)
    return parent


def _rewrite_tree(ws: Workspace, commit: str, mapping: dict[str, str],
                  resealed: dict[str, str], env: dict[str, str]) -> str:
    ws.git.run("read-tree", commit, env=env)
    for old, new in mapping.items():
        _move_evidence(ws, old, new, env)
        entry = ws.git.run("ls-files", "--stage", "--", case_file(old), env=env).split()
        if not entry:
            continue
        mode, blob = entry[0], entry[1]
        if blob not in resealed:
            resealed[blob] = _reseal(ws, blob, old, new)
        ws.git.run("update-index", "--force-remove", "--", case_file(old), env=env)
        ws.git.run("update-index", "--add", "--cacheinfo",
                   f"{mode},{resealed[blob]},{case_file(new)}", env=env)
    return ws.git.run("write-tree", env=env).strip()


def _move_evidence(ws: Workspace, old: str, new: str, env: dict[str, str]) -> None:
    # Evidence files hold no id (only their folder does): the same blobs move folder.
    folder = f"{CASES_DIR}/{old}/"
    for line in ws.git.run("ls-files", "--stage", "--", folder, env=env).splitlines():
        info, path = line.split("\t", 1)
        mode, blob = info.split()[:2]
        moved = f"{CASES_DIR}/{new}/{path[len(folder):]}"
        ws.git.run("update-index", "--force-remove", "--", path, env=env)
        ws.git.run("update-index", "--add", "--cacheinfo", f"{mode},{blob},{moved}", env=env)


def _reseal(ws: Workspace, blob: str, old: str, new: str) -> str:
    """One version of the case under its new id, re-encrypted; returns the new blob."""
    document = decrypt_case(ws, old, ws.git.run("cat-file", "blob", blob, strip=False))
    document["meta"]["id"] = new
    ciphertext = seal(ws, document).encode("utf-8")
    return ws.git.hash_object(ciphertext)


def _recommit(ws: Workspace, commit: str, tree: str, parent: str,
              mapping: dict[str, str]) -> str:
    name, email, date, *body = ws.git.run("log", "-1", "--format=%an%n%ae%n%aI%n%B",
                                    commit).split("\n")
    message = "\n".join(body).strip()
    for old, new in mapping.items():  # messages hold ids and states only
        message = re.sub(rf"\b{re.escape(old)}\b", new, message)
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date}
    return ws.git.run("commit-tree", tree, "-p", parent, "-m", message, env=env).strip()


def _added(ws: Workspace, base: str, tip: str) -> set[str]:
    names = ws.git.run("diff", "--name-only", "--diff-filter=A", base, tip, "--", CASES_DIR)
    return {case_id for name in names.split() if (case_id := case_id_of(name))}


def _ids_at(ws: Workspace, tip: str) -> set[str]:
    names = ws.git.run("ls-tree", "--name-only", tip, f"{CASES_DIR}/")
    return {case_id for name in names.split() if (case_id := case_id_of(name))}



def _blob(ws: Workspace, tip: str, case_id: str) -> str:
    return ws.git.run("rev-parse", f"{tip}:{case_file(case_id)}").strip()



