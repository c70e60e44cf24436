"""Showing a case: sops starts before the heavier modules load, so `show` costs about one
sops call (benchmarks/README.md) with every check of `decrypt_case` still made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cocflow.adapters import sops
from cocflow.adapters.keys import local_keyring
from cocflow.adapters.paths import find_root
from cocflow.adapters.store import CaseStore, case_label
from cocflow.domain.case import require_case_id


def show_case(repo: Path | None, case_id: str) -> tuple[Any, dict[str, Any]]:
    """(the workspace, the whole decrypted case) for display: MAC, name and shape checked."""
    require_case_id(case_id)
    root, keyring = find_root(repo), local_keyring()
    text = CaseStore(root).read(case_id)
    started = sops.start_decrypt(text, case_label(case_id), keyring)
    # These imports run while sops decrypts.
    from cocflow.operations.workspace import Workspace, decrypt_case

    ws = Workspace(root, keyring)
    return ws, decrypt_case(ws, case_id, text, full_schema=False, started=started)
