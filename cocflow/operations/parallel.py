"""Running one sops call per file in a few threads (sops is a subprocess; threads suffice)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

MAX_JOBS = 8
T = TypeVar("T")
R = TypeVar("R")


def parallel(function: Callable[[T], R], items: Sequence[T], jobs: int = MAX_JOBS) -> list[R]:
    """`function` over `items`, results in order; the first error is raised."""
    if len(items) <= 1 or jobs <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        return list(pool.map(function, items))
