"""The GitHub transport: `gh`, the GitHub CLI, run in the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from cocflow.errors import EnvironmentProblem

GH_TIMEOUT = 60.0

Runner = Callable[[Sequence[str]], str]


def gh_runner(root: Path) -> Runner:
    """Run `gh` in the repository; gh authenticates itself (GH_TOKEN, GITHUB_TOKEN,
    GH_ENTERPRISE_TOKEN, or `gh auth login`)."""
    gh = shutil.which("gh")
    if gh is None:
        raise EnvironmentProblem("gh (the GitHub CLI) not found on PATH: install it, or use "
                                 "`cocflow notify webhook`")
    environment = {**os.environ, "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1"}

    def run(args: Sequence[str]) -> str:
        try:
            done = subprocess.run([gh, *args], cwd=root, env=environment, capture_output=True,
                                  text=True, timeout=GH_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(f"gh {args[0]} {args[1]} did not finish within "
                                     f"{GH_TIMEOUT:.0f}s") from None
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[0][:200]
            hint = ""
            if done.returncode == 4 or "auth" in reason.lower() or "401" in reason:
                hint = ("; authenticate gh with `gh auth login`, or GH_TOKEN (in a workflow: "
                        "`GH_TOKEN: ${{ github.token }}` with `issues: write`)")
            raise EnvironmentProblem(f"gh {args[0]} {args[1]} failed (exit {done.returncode}): "
                                     f"{reason}{hint}")
        return done.stdout

    return run
