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

import hashlib
import re

from cocflow.adapters import sops
from cocflow.adapters.store import CASES_DIR, case_file, case_id_of
from cocflow.domain import sealed
from cocflow.domain.case import next_case_id
from cocflow.domain.evidence import number_of as evidence_number
from cocflow.errors import EnvironmentProblem, IntegrityError
from cocflow.operations.check_changes import require_clean_commit
from cocflow.operations.workspace import (
    Workspace,
    decrypt_case,
    require_evidence_document,
    require_recipients,
    seal,
)


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
    readers: dict[str, list[str]] = {}  # case id -> readers of its latest verified version
    parent = base
    with ws.git.private_index("cocflow-renumber-") as env:
        for commit in commits:
            tree = _rewrite_tree(ws, commit, mapping, resealed, readers, env)
            parent = _recommit(ws, commit, tree, parent, mapping)
    return parent


def _rewrite_tree(ws: Workspace, commit: str, mapping: dict[str, str],
                  resealed: dict[str, str], readers: dict[str, list[str]],
                  env: dict[str, str]) -> str:
    ws.git.run("read-tree", commit, env=env)
    for old, new in mapping.items():
        entry = ws.git.run("ls-files", "--stage", "--", case_file(old), env=env).split()
        if entry:
            mode, blob = entry[0], entry[1]
            if blob not in resealed:
                resealed[blob], readers[old] = _reseal(ws, blob, old, new)
            ws.git.run("update-index", "--force-remove", "--", case_file(old), env=env)
            ws.git.run("update-index", "--add", "--cacheinfo",
                       f"{mode},{resealed[blob]},{case_file(new)}", env=env)
        # Evidence follows the verified readers of its case, never its own `sops:` block.
        _move_evidence(ws, old, new, env, resealed, readers.get(old, []))
    return ws.git.run("write-tree", env=env).strip()


def _move_evidence(ws: Workspace, old: str, new: str, env: dict[str, str],
                   resealed: dict[str, str], readers: list[str]) -> None:
    # Evidence is bound to its case inside the encryption: each version is sealed anew
    # under the new id (same recipients), like the case itself.
    folder = f"{CASES_DIR}/{old}/"
    for line in ws.git.run("ls-files", "--stage", "--", folder, env=env).splitlines():
        info, path = line.split("\t", 1)
        mode, blob = info.split()[:2]
        name = path[len(folder):]
        moved = f"{CASES_DIR}/{new}/{name}"
        if blob not in resealed:
            resealed[blob] = _reseal_evidence(ws, blob, old, new, name, readers)
        ws.git.run("update-index", "--force-remove", "--", path, env=env)
        ws.git.run("update-index", "--add", "--cacheinfo", f"{mode},{resealed[blob]},{moved}",
                   env=env)


def _reseal_evidence(ws: Workspace, blob: str, old: str, new: str, name: str,
                     readers: list[str]) -> str:
    """One version of an evidence file bound to the new id, re-encrypted; the new blob."""
    what = f"evidence {name} of case {old}"
    text = ws.git.run("cat-file", "blob", blob, strip=False)
    number = evidence_number(name) or 0
    require_evidence_document(text, what)
    plaintext = sops.decrypt_bytes(text, what, ws.keyring)
    problem = sealed.binding_problem(sealed.evidence_binding(plaintext), old, number, None)
    if problem is not None:
        raise IntegrityError(f"{what}: {problem}; nothing was renumbered")
    data = sealed.open_evidence(plaintext)
    recipients = readers
    if not recipients:
        raise IntegrityError(f"{what} has no verified case version to take readers from; "
                             "nothing was renumbered")
    ciphertext = sops.encrypt_bytes(
        sealed.seal_evidence(data, number, hashlib.sha256(data).hexdigest(), new),
        recipients, ws.keyring)
    require_recipients(ciphertext, recipients, what)
    return ws.git.hash_object(ciphertext.encode("utf-8"))


def _reseal(ws: Workspace, blob: str, old: str, new: str) -> tuple[str, list[str]]:
    """One version of the case under its new id, re-encrypted: the new blob, and the readers
    it was sealed to (its evidence follows them)."""
    document = decrypt_case(ws, old, ws.git.run("cat-file", "blob", blob, strip=False))
    document["meta"]["id"] = new
    ciphertext = seal(ws, document).encode("utf-8")
    return ws.git.hash_object(ciphertext), list(document["readers"])


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



