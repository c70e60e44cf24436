"""A small per-user cache of facts about external tools (e.g. a system sops's version).

Kept in $XDG_CACHE_HOME/cocflow (or ~/.cache/cocflow), keyed by a file's path, size and
modification time, so a replaced binary is asked again. It holds no case data.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cocflow" / "tools.json"


def file_key(path: str) -> str | None:
    """Path, size and mtime of a file: a new binary at the same path gets a new key."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return f"{os.path.realpath(path)}:{info.st_size}:{info.st_mtime_ns}"


def _read() -> dict[str, Any]:
    try:
        document = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def get(kind: str, key: str) -> Any:
    """The cached value, or None."""
    entries = _read().get(kind)
    return entries.get(key) if isinstance(entries, dict) else None


def put(kind: str, key: str, value: Any) -> None:
    """Remember a value; a cache that cannot be written is simply not used."""
    from cocflow.adapters.store import write_atomic
    from cocflow.errors import CocflowError

    document = _read()
    found = document.get(kind)
    entries: dict[str, Any] = found if isinstance(found, dict) else {}
    entries[key] = value
    document[kind] = entries
    with contextlib.suppress(OSError, CocflowError):
        write_atomic(cache_file(), json.dumps(document, indent=1, sort_keys=True))
