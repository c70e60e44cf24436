"""The one place decrypted text touches disk: a 0600 file in a private 0700 directory."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cocflow.errors import EnvironmentProblem, InvalidInput

SHARED_MEMORY = Path("/dev/shm")
PREFIX = "cocflow-edit-"
# vi, vim and nvim write swap, undo and viminfo/shada files next to the file or in the home
# directory: on disk, outside the private directory. These flags turn each of them off for
# the private copy. Other editors are documented in the README (Editors).
_VIM_FLAGS = ["-n", "-i", "NONE", "--cmd", "set noswapfile noundofile nobackup nowritebackup"]
_NVIM_FLAGS = [*_VIM_FLAGS[:-1], _VIM_FLAGS[-1] + " shada="]


def private_directory_base() -> str | None:
    """/dev/shm when it exists (memory, not disk), else the system temp directory."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK):
        return str(SHARED_MEMORY)
    return None


@contextmanager
def private_copy(text: str, suffix: str = ".yaml") -> Iterator[Path]:
    """A 0600 file holding `text` in a fresh 0700 directory, removed on every exit path."""
    # The pid in the name lets a later run tell a copy left by a crash from one in use.
    directory = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=private_directory_base())
    try:
        path = Path(directory) / f"case{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def remove_stale_copies() -> list[str]:
    """Remove private edit directories a crashed cocflow of this user left behind.

    Only directories named by `private_copy` (with the pid of their process), owned by this
    user, whose process is gone. Returns the names removed.
    """
    base = Path(private_directory_base() or tempfile.gettempdir())
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return []
    for entry in entries:
        pid = _owner_pid(entry.name)
        if pid is None or _alive(pid):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir() or entry.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(PREFIX):
        return None
    pid, dash, _rest = name[len(PREFIX):].partition("-")
    return int(pid) if dash and pid.isdigit() and int(pid) > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or not a pid): not ours to judge
    return True


def editor_command() -> list[str]:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    words = shlex.split(command)
    return [*words, *private_flags(words[0])] if words else words


def private_flags(program: str) -> list[str]:
    """The flags that keep vim or nvim from writing swap, undo and viminfo files.

    `vi` is often vim under another name (followed through its links); a vi that is not vim
    (busybox, nvi) gets nothing, since it would refuse the flags.
    """
    found = shutil.which(program)
    names = {os.path.basename(program)}
    if found:
        names.add(os.path.basename(os.path.realpath(found)))
    if any(n.startswith("nvim") for n in names):
        return list(_NVIM_FLAGS)
    if any(n.startswith("vim") or n in ("gvim", "mvim") for n in names):
        return list(_VIM_FLAGS)
    return []


def edit_text(text: str) -> str:
    """Open `text` in $VISUAL/$EDITOR through a private copy; return what was saved."""
    with private_copy(text) as path:
        command = [*editor_command(), str(path)]
        try:
            done = subprocess.run(command, check=False)
        except FileNotFoundError:
            raise EnvironmentProblem(
                f"editor {command[0]!r} not found: set VISUAL or EDITOR"
            ) from None
        if done.returncode != 0:
            raise InvalidInput(f"the editor exited with {done.returncode}; nothing was changed")
        return path.read_text(encoding="utf-8")
