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


def transparency_report(ws: Workspace, year: int, progress: Any = None) -> dict[str, Any]:
    """The anonymised report of cases received in `year`, small counts already hidden.

    Cases this member cannot decrypt (recused) still count from their plaintext meta; a case
    that fails its integrity check stops the report rather than being counted wrongly.
    `progress` (start(total), tick()) follows the decryption.
    """
    if not 1970 <= year <= 9999:
        raise InvalidInput(f"not a year: {year}")
    metas = [meta for meta in ws.store.all_meta() if received_in(meta, year)]
    if progress is not None:
        progress.start(len(metas))

    def read(meta: dict[str, Any]) -> CaseFacts:
        found = _facts(ws, meta)
        if progress is not None:
            progress.tick()
        return found

    facts = parallel(read, metas)
    config = ws.config
    return build_report(year, facts, ws.now(), config.report_min_count, config.response_days)


def _facts(ws: Workspace, meta: dict[str, Any]) -> CaseFacts:
    # MAC, name and shape checked; the full schema is `verify`'s (every write checked it, and
    # the tally counts only the values it knows).
    try:
        return facts_from_case(decrypt_case(ws, meta["id"], full_schema=False))
    except AccessDenied:
        return facts_from_meta(meta)


def save_report(path: Path, text: str) -> None:
    """Write a rendered report (counts only, no case content) atomically."""
    write_atomic(path, text)
