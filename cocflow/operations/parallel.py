"""The one thread pool: one sops call per file, a few at a time (sops is a subprocess)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

MAX_JOBS = 8
T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    """Two workers per CPU, at most MAX_JOBS: while one thread does its Python part (which
    holds the interpreter), another's sops process keeps a core busy (`rekey` of 200 cases on
    2 cores: 25-29 s with 4 workers, 37-46 s with 2; benchmarks/README.md)."""
    return max(1, min(MAX_JOBS, 2 * (os.cpu_count() or 1)))


def parallel(function: Callable[[T], R], items: Sequence[T], jobs: int | None = None,
             done: Callable[[T], None] | None = None) -> list[R]:
    """`function` over `items`, results in order; `done(item)` after each one (a progress bar).

    The first error is raised, and nothing still queued is started.
    """
    workers = min(jobs or default_jobs(), len(items))
    if workers > 1 and _prompts_for_passphrase():
        workers = 1  # each sops asks for the SSH key's passphrase: one prompt at a time
    if workers <= 1:
        return [_call(function, item, done) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[R]] = [pool.submit(_call, function, item, done) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _prompts_for_passphrase() -> bool:
    from cocflow.adapters.key_files import ssh_key_needs_passphrase

    return ssh_key_needs_passphrase()


def _call(function: Callable[[T], R], item: T, done: Callable[[T], None] | None) -> R:
    result = function(item)
    if done is not None:
        done(item)
    return result
