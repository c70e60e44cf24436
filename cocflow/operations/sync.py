"""`sync`: fetch the team's changes, rebase (or merge) onto them, push; nothing lost.

Case files that both sides changed go through the cocflow merge driver (timelines and
recusals merge by union). When git cannot finish, the rebase or merge is aborted, so the
clone is exactly as before: local commits on the branch, upstream in the remote-tracking
ref, both versions of every case still there to choose from (`sync --prefer`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cocflow.adapters.interrupts import deferred_interrupts
from cocflow.errors import EnvironmentProblem, HistoryRefused, InvalidInput, SyncConflict
from cocflow.operations import merge_driver as mergedriver
from cocflow.operations.history import history_problems
from cocflow.operations.renumber import renumber_collisions
from cocflow.operations.workspace import Workspace

Method = Literal["rebase", "merge"]
Preference = Literal["mine", "theirs"]
PUSH_ATTEMPTS = 3
# Which driver side is "mine": a rebase replays my commits onto upstream ("theirs" to git).
MY_SIDE = {"rebase": "theirs", "merge": "ours"}
OTHER_SIDE = {"ours": "theirs", "theirs": "ours"}



@dataclass(frozen=True)
class Upstream:
    """Where this branch syncs to."""

    remote: str
    branch: str
    local: str
    configured: bool = True  # the branch names its remote (else: set after the first push)

    @property
    def tracking(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    @property
    def name(self) -> str:
        return f"{self.remote}/{self.branch}"


@dataclass
class SyncResult:
    """What `sync` did, for people and for `--json`."""

    remote: str
    branch: str
    method: str = "up to date"
    incoming: int = 0
    outgoing: int = 0
    pushed: bool = False
    set_up: list[str] = field(default_factory=list)
    renumbered: dict[str, str] = field(default_factory=dict)
    roster_pending: list[str] = field(default_factory=list)
    roster_in_effect: list[str] = field(default_factory=list)
    roster_commits: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sync(ws: Workspace, method: Method = "rebase", prefer: Preference | None = None,
         push: bool = True) -> SyncResult:
    """Fetch, integrate upstream (fast-forward, rebase or merge), push; exit 4 when stuck."""
    if method not in MY_SIDE:
        raise InvalidInput("method must be rebase or merge")
    ws.git.ensure_safe([])
    _require_clean(ws)
    _ = ws.accepted  # this clone's roster is accepted before anything upstream arrives
    set_up = mergedriver.ensure_active(ws.root)
    upstream = _upstream(ws)
    result = SyncResult(upstream.remote, upstream.branch, set_up=set_up)
    for _attempt in range(PUSH_ATTEMPTS):
        previous = _tip(ws, upstream.tracking)
        _fetch(ws, upstream)
        tip = _tip(ws, upstream.tracking)
        if tip != previous:  # the history check walks each changed case's history: fast
            ws.git.index_history_paths()  # with the paths of every commit indexed
        _refuse_broken_history(ws, upstream, previous, tip)
        ahead = _integrate(ws, upstream, tip, method, prefer, result)
        if not push or ahead == 0:
            return _with_roster_changes(ws, result)
        if _push(ws, upstream):
            result.pushed = True
            return _with_roster_changes(ws, result)
    raise EnvironmentProblem(
        f"{upstream.name} kept moving: the push was rejected {PUSH_ATTEMPTS} times; your "
        "commits are safe in this clone: run `cocflow sync` again"
    )


def _refuse_broken_history(ws: Workspace, upstream: Upstream, previous: str | None,
                           tip: str | None) -> None:
    """Accept no upstream commit that rewrites history (a rollback, a dropped recusal, a
    deleted case...): name them, and put the remote-tracking ref back as it was."""
    if tip is None:
        return
    found = history_problems(ws.git, "HEAD", tip)
    if not found:
        return
    if previous is None:
        ws.git.attempt("update-ref", "-d", upstream.tracking)
    else:
        ws.git.attempt("update-ref", upstream.tracking, previous)
    shown = "; ".join(f"{p.file} {p.code}: {p.message}" for p in found[:5])
    more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
    raise HistoryRefused(
        f"sync refused {upstream.name} and changed nothing: its commits break the rule that "
        f"history only grows: {shown}{more}. Tell the team: someone pushed an older or "
        "edited version; restore it from history before anyone writes to these cases"
    )


def _tip(ws: Workspace, ref: str) -> str | None:
    found = ws.git.attempt("rev-parse", "--verify", "--quiet", ref)
    return found.out.strip() if found.ok else None


def _with_roster_changes(ws: Workspace, result: SyncResult) -> SyncResult:
    """Name what the pulled team.yaml changes from this clone's accepted roster: what waits
    for `team accept`, what took effect at once, and the commits (and authors) behind it."""
    from cocflow.operations.team import review_roster

    review = review_roster(Workspace(ws.root, ws.keyring))
    result.roster_pending = [change.describe() for change in review.pending]
    result.roster_in_effect = [change.describe() for change in review.changes
                               if not change.widening]
    result.roster_commits = list(review.commits)
    return result


def _integrate(ws: Workspace, upstream: Upstream, tip: str | None, method: Method,
               prefer: Preference | None, result: SyncResult) -> int:
    """Bring upstream's commits (`tip`, None when upstream has no branch yet) into ours;
    returns how many of our commits upstream still lacks."""
    if tip is None:
        result.method = "first push"
        result.outgoing = _count_all(ws)
        return 1
    incoming, result.outgoing = _counts(ws, tip)
    result.incoming += incoming
    if incoming == 0 or result.outgoing == 0:
        if incoming:
            ws.git.run("merge", "--ff-only", "--quiet", tip)
            result.method = "fast-forward"
        return result.outgoing
    # Two members who opened a case at once drew one id for two reports: move ours first.
    # `before` is taken first, so a failed replay also undoes the renumbering.
    before = ws.git.run("rev-parse", "HEAD").strip()
    result.renumbered.update(renumber_collisions(ws, upstream.tracking))
    _replay(ws, upstream, method, prefer, before)
    result.method = method
    result.outgoing = _counts(ws, tip)[1]
    return result.outgoing


def _replay(ws: Workspace, upstream: Upstream, method: Method,
            prefer: Preference | None, original: str) -> None:
    """Rebase or merge onto upstream; on any failure go back to `original` (HEAD before sync
    touched anything), so nothing has changed."""
    env = {}
    if ws.keyring.age_key_file is not None:  # git runs the driver from the top of the tree
        env["SOPS_AGE_KEY_FILE"] = str(ws.keyring.age_key_file.resolve())
    if prefer is not None:
        mine = MY_SIDE[method]
        env[mergedriver.PREFER_VARIABLE] = mine if prefer == "mine" else OTHER_SIDE[mine]
    command = (["rebase", "--quiet", upstream.tracking] if method == "rebase"
               else ["merge", "--ff", "--no-edit", "--quiet", upstream.tracking])
    try:
        replayed = ws.git.attempt(*command, env=env)
        if replayed.ok:
            return
        err = replayed.err
        conflicted = ws.git.attempt("diff", "--name-only", "--diff-filter=U").out.split()
    except BaseException:
        with deferred_interrupts():
            _abort(ws, method, original)
        raise
    with deferred_interrupts():
        _abort(ws, method, original)
    raise SyncConflict(_conflict_message(upstream, method, conflicted, err))


def _conflict_message(upstream: Upstream, method: Method, conflicted: list[str],
                      stderr: str) -> str:
    # The driver's own messages (lines it printed as `Error: ...`) name fields, never values.
    reasons = [line.split("Error: ", 1)[1] for line in stderr.splitlines() if "Error: " in line]
    if reasons:
        why = "; ".join(dict.fromkeys(reasons))
    elif conflicted:
        why = (f"git could not merge {', '.join(conflicted)} (not a case both sides edited: "
               f"resolve it by hand with `git {method} {upstream.name}`)")
    else:
        why = f"git {method} failed (COCFLOW_DEBUG=1 shows git's message)"
    return (f"sync stopped and changed nothing (your commits are still on {upstream.local}, "
            f"upstream is {upstream.name}): {why}")


def _abort(ws: Workspace, method: Method, original: str) -> None:
    """Leave the clone as it was before the rebase or merge began."""
    git_dir = ws.git.git_dir()
    if method == "rebase" and any((git_dir / d).exists() for d in ("rebase-merge",
                                                                      "rebase-apply")):
        ws.git.attempt("rebase", "--abort")
    if method == "merge" and (git_dir / "MERGE_HEAD").exists():
        ws.git.attempt("merge", "--abort")
    if ws.git.attempt("rev-parse", "HEAD").out.strip() != original:
        # The tree was clean when sync began (checked), so this loses nothing.
        ws.git.attempt("reset", "--quiet", "--hard", original)


def _require_clean(ws: Workspace) -> None:
    status = ws.git.run("status", "--porcelain", "--untracked-files=no")
    if status.strip():
        names = sorted({line[3:] for line in status.splitlines()})
        raise EnvironmentProblem(
            f"uncommitted changes to {', '.join(names)}: commit or restore them "
            "(git status) before sync"
        )


def _upstream(ws: Workspace) -> Upstream:
    head = ws.git.attempt("symbolic-ref", "--quiet", "--short", "HEAD")
    if not head.ok:
        raise EnvironmentProblem("HEAD is detached: switch to your branch (git switch main) "
                                 "before sync")
    local = head.out.strip()
    settings = ws.git.branch_config(local)
    remote = settings.get("remote") or _default_remote(ws)
    merge_ref = settings.get("merge") or f"refs/heads/{local}"
    return Upstream(remote, merge_ref.removeprefix("refs/heads/"), local,
                    configured=bool(settings.get("remote")))


def _default_remote(ws: Workspace) -> str:
    remotes = ws.git.run("remote").split()
    if "origin" in remotes:
        return "origin"
    if len(remotes) == 1:
        return remotes[0]
    raise EnvironmentProblem(
        "no remote to sync with: add the team's private repository with "
        "`git remote add origin URL`" if not remotes else
        f"several remotes ({', '.join(remotes)}) and no upstream: set one with "
        "`git branch --set-upstream-to REMOTE/BRANCH`"
    )


def _fetch(ws: Workspace, upstream: Upstream) -> None:
    fetched = ws.git.attempt("fetch", "--quiet", upstream.remote)
    if not fetched.ok:
        raise EnvironmentProblem(
            f"git fetch {upstream.remote} failed (exit {fetched.status}): check the network "
            "and your access to the repository; nothing was changed"
        )


def _push(ws: Workspace, upstream: Upstream) -> bool:
    """True when pushed; False when rejected because upstream moved (fetch and retry)."""
    pushed = ws.git.attempt("push", "--porcelain", upstream.remote,
                            f"HEAD:refs/heads/{upstream.branch}")
    if pushed.ok:
        if not upstream.configured:
            ws.git.attempt("branch", f"--set-upstream-to={upstream.name}", upstream.local)
        return True
    if "[rejected]" in pushed.out or "rejected" in pushed.err:
        return False
    raise EnvironmentProblem(
        f"git push to {upstream.name} failed (exit {pushed.status}): check your access; your "
        "commits are safe in this clone: run `cocflow sync` again"
    )



def _counts(ws: Workspace, tip: str) -> tuple[int, int]:
    """(commits of `tip` not in HEAD, commits of HEAD not in `tip`), one git call."""
    found = ws.git.run("rev-list", "--left-right", "--count", f"{tip}...HEAD").split()
    return int(found[0]), int(found[1])


def _count_all(ws: Workspace) -> int:
    return int(ws.git.run("rev-list", "--count", "HEAD").strip() or 0)



