"""The transparency report of one year, from every case this member can or cannot read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cocflow.adapters.store import write_atomic
from cocflow.domain.transparency import (
    CaseFacts,
    build_report,
    facts_from_case,
    facts_from_meta,
    received_in,
)
from cocflow.errors import AccessDenied, InvalidInput
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import Workspace, decrypt_case


def last_full_year(ws: Workspace) -> int:
    """The year a report is made for by default: the last one that has ended."""
    return ws.now().year - 1


def transparency_report(ws: Workspace, year: int, progress: Any = None) -> dict[str, Any]:
    """The anonymised report of cases received in `year`, small counts already hidden.

    Cases this member cannot decrypt (recused) still count from their plaintext meta; a case
    that fails its integrity check stops the report rather than being counted wrongly.
    `progress` (start(total), tick()) follows the decryption.
    """
    if not 1970 <= year <= 9999:
        raise InvalidInput(f"not a year: {year}")
    metas = [meta for meta in ws.store.iter_meta() if received_in(meta, year)]
    if progress is not None:
        progress.start(len(metas))

    def read(meta: dict[str, Any]) -> CaseFacts:
        found = _facts(ws, meta)
        if progress is not None:
            progress.tick()
        return found

    facts = parallel(read, metas)
    config = ws.config
    report = build_report(year, facts, ws.now(), config.report_min_count, config.response_days)
    return {**report, "community": config.community}


def _facts(ws: Workspace, meta: dict[str, Any]) -> CaseFacts:
    try:
        return facts_from_case(decrypt_case(ws, meta["id"]))
    except AccessDenied:
        return facts_from_meta(meta)


def save_report(path: Path, text: str) -> None:
    """Write a rendered report (counts only, no case content) atomically."""
    write_atomic(path, text)
