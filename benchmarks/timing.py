"""Timing helpers: medians of whole commands."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    """Median wall time of `repeats` runs, after one warm-up run."""
    action()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def run_quiet(args: list[str], env: dict[str, str], cwd: Path | None = None,
              stdin: bytes | None = None) -> None:
    done = subprocess.run(args, env=env, cwd=cwd, input=stdin, capture_output=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(args[:4])}")
