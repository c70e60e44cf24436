"""Running cocflow itself as a child process (the demo shows each command as a user runs it)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    """A finished command: exit status and output."""

    status: int
    stdout: str
    stderr: str


def run_cocflow(args: list[str], cwd: Path, env: dict[str, str],
                stdin: str | None = None) -> Ran:
    """`python -m cocflow ARGS` with this interpreter, in `cwd`, with exactly `env`."""
    done = subprocess.run([sys.executable, "-m", "cocflow", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, text=True, check=False)
    return Ran(done.returncode, done.stdout, done.stderr)
