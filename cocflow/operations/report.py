"""The transparency report of one year, from every case this member can or cannot read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cocflow.adapters.store import write_atomic
from cocflow.domain.layout import MIN_REPORT_COUNT
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


def transparency_report(ws: Workspace, year: int, progress: Any = None,
                        allow_small_counts: bool = False) -> dict[str, Any]:
    """The anonymised report of cases received in `year`, small counts already hidden.

    Every case this member can decrypt is decrypted before the year is chosen, so a
    plaintext date edited without the key cannot move a case out of the report; cases this
    member cannot decrypt (recused) count from their plaintext meta. A case that fails its
    integrity check stops the report rather than being counted wrongly. A report_min_count
    under 3 is refused unless `allow_small_counts`. `progress` (start(total), tick())
    follows the decryption.
    """
    if not 1970 <= year <= 9999:
        raise InvalidInput(f"not a year: {year}")
    config = ws.config
    if config.report_min_count < MIN_REPORT_COUNT and not allow_small_counts:
        raise InvalidInput(f"report_min_count in cocflow.yaml is {config.report_min_count}: "
                           f"counts under {MIN_REPORT_COUNT} can identify the people in a case; "
                           "raise it, or publish anyway with --allow-small-counts")
    ids = ws.store.ids()
    if progress is not None:
        progress.start(len(ids))

    def read(case_id: str) -> CaseFacts:
        found = _facts(ws, case_id)
        if progress is not None:
            progress.tick()
        return found

    facts = [f for f in parallel(read, ids) if received_in(f.meta, year)]
    report = build_report(year, facts, ws.now(), config.report_min_count, config.response_days)
    return {**report, "community": config.community}


def _facts(ws: Workspace, case_id: str) -> CaseFacts:
    # MAC, name and shape checked; the full schema is `verify`'s (every write checked it, and
    # the tally counts only the values it knows).
    try:
        return facts_from_case(decrypt_case(ws, case_id, full_schema=False))
    except AccessDenied:
        return facts_from_meta(ws.store.meta(case_id))


def save_report(path: Path, text: str) -> None:
    """Write a rendered report (counts only, no case content) atomically."""
    write_atomic(path, text)
