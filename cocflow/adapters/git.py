"""The git adapter: safe-state guard, exactly one commit per change, file history."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters.interrupts import deferred_interrupts
from cocflow.adapters.store import write_atomic_bytes
from cocflow.errors import EnvironmentProblem, GitFailed

_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or git am",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
}


# Set by cocflow on its own commits after checking the staged tree in-process; the pre-commit
# hook skips its (slower, separate-process) check when the tree it sees is that very tree.
CHECKED_TREE_ENV = "COCFLOW_CHECKED_TREE"



# git maps whole pack files and keeps up to 96 MiB of delta bases: reading every case or
# walking the history of a large repository would grow git's memory with the repository.
# These limits keep it small at no cost in speed (benchmarks/README.md).
MEMORY_LIMITS = {"core.packedGitLimit": "32m", "core.packedGitWindowSize": "1m",
                 "core.deltaBaseCacheLimit": "16m"}


def bounded_memory(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment that gives every git process cocflow starts MEMORY_LIMITS, after any
    configuration the environment already passes the same way (GIT_CONFIG_COUNT)."""
    try:
        first = int(environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        return {}  # someone else's malformed setting: git will say so, not cocflow
    added = {}
    for offset, (key, value) in enumerate(MEMORY_LIMITS.items()):
        added[f"GIT_CONFIG_KEY_{first + offset}"] = key
        added[f"GIT_CONFIG_VALUE_{first + offset}"] = value
    return {**added, "GIT_CONFIG_COUNT": str(first + len(MEMORY_LIMITS))}


def require_git() -> None:
    if shutil.which("git") is None:
        raise EnvironmentProblem("git not found: install git and try again")


@dataclass(frozen=True)
class GitResult:
    """What one git call returned: its exit status and its output."""

    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0


class GitRepo:
    """One working tree; the one way cocflow runs git (the git CLI: hooks and signing apply)."""

    def __init__(self, root: Path,
                 verify_staged: Callable[[GitRepo], None] | None = None) -> None:
        self.root = root
        self._repo: Any = None
        self._git_dir: Path | None = None
        # Raises when the staged changes must not be committed (cocflow's own check).
        self.verify_staged = verify_staged

    @property
    def _git(self) -> Any:
        """GitPython's command wrapper, opened on first use."""
        if self._repo is None:
            require_git()
            import git

            try:
                self._repo = git.Repo(self.root)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                raise EnvironmentProblem(
                    f"{self.root} is not a git repository: run `cocflow init` or `git init`"
                ) from None
            self._repo.git.update_environment(**bounded_memory(os.environ))
        return self._repo.git

    @classmethod
    def init(cls, root: Path) -> GitRepo:
        """`git init` a new repository with main as its first branch."""
        require_git()
        import git

        git.Repo.init(root, initial_branch="main")
        return cls(root)

    def attempt(self, *args: str, env: dict[str, str] | None = None, strip: bool = True,
                stdin: bytes | None = None) -> GitResult:
        """Run `git ARGS` in the repository; a failing status is returned, never raised."""
        with ExitStack() as stack:
            stream = None
            if stdin is not None:  # through a file in the git directory: ciphertext only
                stream = stack.enter_context(tempfile.TemporaryFile(dir=self.git_dir()))
                stream.write(stdin)
                stream.seek(0)
            status, out, err = self._git.execute(
                ["git", *args], with_extended_output=True, with_exceptions=False,
                env=env or None, strip_newline_in_stdout=strip, istream=stream)
        return GitResult(int(status), str(out), str(err))

    def run(self, *args: str, env: dict[str, str] | None = None, strip: bool = True,
            stdin: bytes | None = None) -> str:
        """Run `git ARGS`; its output, or GitFailed saying what went wrong (never content)."""
        result = self.attempt(*args, env=env, strip=strip, stdin=stdin)
        if not result.ok:
            raise GitFailed(_explain(args[0], result))
        return result.out

    def config(self, key: str) -> str | None:
        """A config value, or None when unset."""
        result = self.attempt("config", "--get", key)
        return result.out.strip() if result.ok else None

    def branch_config(self, branch: str) -> dict[str, str]:
        """`branch.BRANCH.*` settings of this clone (remote, merge...), in one git call."""
        result = self.attempt("config", "-z", "--get-regexp", r"^branch\.")
        prefix, found = f"branch.{branch}.", {}
        for item in result.out.split("\0") if result.ok else ():
            key, _newline, value = item.partition("\n")
            if key.startswith(prefix) and "." not in key[len(prefix):]:
                found[key[len(prefix):]] = value
        return found

    def index_history_paths(self) -> None:
        """Record, in git's commit-graph, which paths each commit changes (Bloom filters):
        walking one file's history (`blobs_in_history`) then skips the commits that leave it
        alone instead of reading their trees. Incremental; only speed depends on it."""
        self.attempt("commit-graph", "write", "--reachable", "--changed-paths", "--split")

    def set_config(self, key: str, value: str) -> None:
        self.run("config", key, value)

    def attribute(self, name: str, path: str) -> str | None:
        """The value of a git attribute for a path (None when unset or unspecified)."""
        result = self.attempt("check-attr", name, "--", path)
        value = result.out.strip().rsplit(": ", 1)[-1] if result.ok else ""
        return None if value in ("", "unspecified", "unset") else value

    def hash_object(self, data: bytes) -> str:
        """Write `data` as a blob into the object database; its id."""
        return self.run("hash-object", "-w", "--stdin", stdin=data).strip()

    @contextmanager
    def private_index(self, prefix: str) -> Iterator[dict[str, str]]:
        """An empty index file of its own, as the environment that points git at it."""
        fd, index = tempfile.mkstemp(prefix=prefix, suffix=".index", dir=self.git_dir())
        os.close(fd)
        try:
            yield {"GIT_INDEX_FILE": index}
        finally:
            Path(index).unlink(missing_ok=True)

    def head(self) -> str | None:
        """The commit HEAD points at, or None in a repository with no commit yet."""
        found = self.attempt("rev-parse", "--verify", "--quiet", "HEAD")
        return found.out.strip() if found.ok else None

    def git_dir(self) -> Path:
        if self._git_dir is None:  # a working tree's git directory never moves
            self._git_dir = Path(self.run("rev-parse", "--absolute-git-dir"))
        return self._git_dir

    def ensure_safe(self, paths: Sequence[Path]) -> None:
        """Refuse to touch a repository mid-merge/rebase, or files with uncommitted changes."""
        git_dir = self.git_dir()
        for marker, what in _IN_PROGRESS.items():
            if (git_dir / marker).exists():
                raise EnvironmentProblem(
                    f"the repository is in the middle of {what}: finish or abort it first"
                )
        if not paths:
            return
        status = self.run("status", "--porcelain", "--untracked-files=all", "--",
                           *self._relative(paths))
        if status.strip():
            names = sorted({line[3:] for line in status.splitlines()})
            raise EnvironmentProblem(
                f"uncommitted changes to {', '.join(names)}: commit or restore them "
                "(git status) before cocflow changes them"
            )

    def _tracked_at_head(self, paths: Sequence[Path]) -> set[str]:
        """The relative paths among these that HEAD holds: one git call, however many paths."""
        if not paths:
            return set()
        listing = self.run("ls-tree", "-z", "--name-only", "HEAD", "--", *self._relative(paths))
        return set(filter(None, listing.split("\0")))

    @contextmanager
    def one_commit(self, paths: Sequence[Path], message: str) -> Iterator[None]:
        """Run the body (which writes `paths`), then commit exactly those paths once.

        On any failure, the body's or git's, the paths, the index and HEAD are put back.
        """
        self.ensure_safe(paths)
        head = self.run("rev-parse", "HEAD").strip()
        tracked = self._tracked_at_head(paths)  # rekey commits thousands of paths at once
        existed = {path: self._relative([path])[0] in tracked for path in paths}
        try:
            yield
            relative = self._relative(paths)
            # An interrupt here waits for git to finish, then rolls back like any failure.
            with deferred_interrupts():
                self.run("add", "--all", "--", *relative)
                self.run("commit", "--quiet", "-m", message, "--", *relative,
                          env=self._checked_tree(relative))
        except BaseException:
            with deferred_interrupts():
                self._restore(existed, head)
            raise

    def _restore(self, existed: dict[Path, bool], head: str) -> None:
        """Put HEAD, the paths and their index entries back as they were at `head`.

        File contents come from the commit itself, not through the index, so the working
        tree is restored even while another git process holds index.lock.
        """
        if self.run("rev-parse", "HEAD").strip() != head:
            self.run("reset", "--soft", head)
        relative = self._relative(list(existed))
        for path, tracked in existed.items():
            if tracked:
                self._put_back(path, head)
            elif path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        # The index only changed if `git add` got as far as writing it.
        if self.run("diff", "--cached", "--name-only", head, "--", *relative).strip():
            self.run("reset", "--quiet", head, "--", *relative)

    def _put_back(self, path: Path, head: str) -> None:
        name = self._relative([path])[0]
        if self.run("cat-file", "-t", f"{head}:{name}").strip() != "blob":
            self.run("checkout", head, "--", name)  # a directory: git restores it
            return
        content = self.blob(self.run("rev-parse", f"{head}:{name}"))
        if not path.is_file() or path.read_bytes() != content:
            write_atomic_bytes(path, content)

    def commit_all(self, message: str) -> None:
        """Stage everything and commit (only for `init`, on a brand-new repository)."""
        self.run("add", "--all")
        self.run("commit", "--quiet", "-m", message, env=self._checked_tree(None))

    def _checked_tree(self, relative: list[str] | None) -> dict[str, str]:
        """Check what is staged in-process; tell the hook which tree was checked.

        Only when the index holds nothing staged but `relative`: then the tree git commits
        is the index's tree, and the hook can recognise it.
        """
        if self.verify_staged is None:
            return {}
        if relative is not None and not all(
            _within(path, set(relative)) for path in self.staged_paths()
        ):
            return {}  # someone else's staged changes: the hook checks the commit itself
        self.verify_staged(self)
        return {CHECKED_TREE_ENV: self.run("write-tree").strip()}

    def index_entries(self, *pathspecs: str) -> dict[str, str]:
        """Path -> blob id of every file staged in the index (GIT_INDEX_FILE honoured)."""
        listing = self.run("ls-files", "--stage", "-z", "--", *pathspecs)
        entries = {}
        for record in filter(None, listing.split("\0")):
            info, _, path = record.partition("\t")
            mode, blob, _stage = info.split()
            if mode != "160000":  # submodules have no blob
                entries[path] = blob
        return entries

    def tree_entries(self, commit: str, *pathspecs: str) -> dict[str, str]:
        """Path -> blob id of every file a commit holds under `pathspecs`."""
        listing = self.run("ls-tree", "-r", "-z", commit, "--", *pathspecs)
        entries = {}
        for record in filter(None, listing.split("\0")):
            info, _, path = record.partition("\t")
            _mode, kind, blob = info.split()
            if kind == "blob":
                entries[path] = blob
        return entries

    def commits_between(self, since: str, until: str) -> list[tuple[str, list[str]]]:
        """Each commit in `since..until`, oldest first, with its parents."""
        listing = self.run("rev-list", "--reverse", "--parents", f"{since}..{until}", "--")
        return [(line.split()[0], line.split()[1:]) for line in listing.splitlines() if line]

    def changed_paths(self, parent: str | None, commit: str, *pathspecs: str) -> set[str]:
        """Paths whose blob differs between `parent` (None: nothing) and `commit`; no renames."""
        base = ["--root", commit] if parent is None else [parent, commit]
        listing = self.run("diff-tree", "-r", "--no-renames", "--name-only", "-z", *base, "--",
                           *pathspecs)
        names = set(filter(None, listing.split("\0")))
        return names - {commit}  # --root prints the commit id first

    def blobs_in_history(self, commits: Sequence[str], paths: Sequence[str]
                         ) -> dict[str, set[str]]:
        """Every blob each of `paths` held in the history of `commits` (inclusive)."""
        found: dict[str, set[str]] = {path: set() for path in paths}
        if not commits or not paths:
            return found
        listing = self.run("log", "--format=", "--raw", "--no-abbrev", "--no-renames", "-m",
                           "-z", *commits, "--", *paths)
        fields = listing.split("\0")
        for index, info in enumerate(fields[:-1]):
            parts = info.strip().split()
            path = fields[index + 1]
            if info.strip().startswith(":") and len(parts) >= 4 and path in found:
                found[path].update(b for b in parts[2:4] if set(b) != {"0"})
        return found

    def blob(self, blob_id: str) -> bytes:
        """The content of one blob, read through a persistent `git cat-file --batch`."""
        _ = self._git
        data: bytes = self._repo.odb.stream(bytes.fromhex(blob_id)).read()
        return data

    def changed_blobs(self, *commits: str) -> dict[str, tuple[str | None, str | None]]:
        """Path -> (old blob, new blob) of every file that differs, one git call: the index
        against HEAD (no commits; everything before a first commit), or between two commits.
        None stands for the side where the file does not exist."""
        span = list(commits) if commits else ["--cached"]
        listing = self.run("diff", "--raw", "--no-renames", "--no-abbrev", "-z", *span, "--")
        fields = listing.split("\0")
        changes: dict[str, tuple[str | None, str | None]] = {}
        for info, path in zip(fields[0::2], fields[1::2], strict=False):
            if not info.startswith(":"):
                continue
            old_mode, new_mode, old, new = info[1:].split()[:4]
            changes[path] = (None if _no_blob(old_mode) else old,
                             None if _no_blob(new_mode) else new)
        return changes

    def unstaged_paths(self, *pathspecs: str) -> set[str]:
        """Tracked paths whose working-tree file differs from the index (git's own stat
        check, racy timestamps included)."""
        listing = self.run("diff", "--name-only", "--no-renames", "-z", "--", *pathspecs)
        return set(filter(None, listing.split("\0")))

    def staged_paths(self) -> set[str]:
        """Paths whose staged version differs from HEAD (all staged paths before a first commit)."""
        listing = self.run("diff", "--cached", "--name-only", "--no-renames", "-z")
        return set(filter(None, listing.split("\0")))

    def git_path(self, name: str) -> Path:
        """A path inside the git directory, as git resolves it (core.hooksPath honoured)."""
        return (self.root / self.run("rev-parse", "--git-path", name).strip()).resolve()

    def _relative(self, paths: Sequence[Path]) -> list[str]:
        return [str(Path(p).resolve().relative_to(self.root.resolve())) for p in paths]



def _no_blob(mode: str) -> bool:
    """No file on this side of a diff (000000), or a submodule (160000), which has no blob."""
    return mode in ("000000", "160000")


def _within(path: str, mine: set[str]) -> bool:
    """`path` is one of `mine`, or inside a folder among them."""
    parts = path.split("/")
    return any("/".join(parts[:end]) in mine for end in range(len(parts), 0, -1))


def _explain(command: str, result: GitResult) -> str:
    stderr = result.err
    if "Please tell me who you are" in stderr or "empty ident" in stderr:
        return "git does not know who you are: set git config user.name and user.email"
    if command == "commit":
        return (f"git commit failed (exit {result.status}): a hook refused it or git is "
                "misconfigured; nothing was changed")
    if "index.lock" in stderr:
        return "another git process is running in this repository (index.lock); try again"
    return f"git {command} failed (exit {result.status})"

