"""Showing a case: decrypted in-process (sops_reader), with every check of `decrypt_case`
made, so `show` costs about one interpreter start (benchmarks/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cocflow.domain.case import require_case_id
from cocflow.operations.workspace import Workspace, decrypt_case


def show_case(repo: Path | None, case_id: str) -> tuple[Workspace, dict[str, Any]]:
    """(the workspace, the whole decrypted case) for display: MAC, name and shape checked."""
    require_case_id(case_id)
    ws = Workspace.open(repo)
    return ws, decrypt_case(ws, case_id, full_schema=False)
