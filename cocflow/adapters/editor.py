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


def private_directory_base() -> str | None:
    """/dev/shm when it exists (memory, not disk), else the system temp directory."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK):
        return str(SHARED_MEMORY)
    return None


@contextmanager
def private_copy(text: str, suffix: str = ".yaml") -> Iterator[Path]:
    """A 0600 file holding `text` in a fresh 0700 directory, removed on every exit path."""
    directory = tempfile.mkdtemp(prefix="cocflow-edit-", dir=private_directory_base())
    try:
        path = Path(directory) / f"case{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def editor_command() -> list[str]:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(command)


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
