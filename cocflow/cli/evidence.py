"""Evidence commands: attach, evidence (list, and extract one with --out)."""

from __future__ import annotations

from pathlib import Path

import click

from cocflow.cli.common import (
    case_id_argument,
    emit_json,
    free_text,
    json_option,
    message_option,
    next_step,
    repo_option,
    say,
    workspace,
)
from cocflow.cli.render import table
from cocflow.domain.case import require_case_id


@click.command("attach")
@case_id_argument
@click.argument("file", metavar="FILE", type=click.Path(path_type=Path))
@message_option("What this evidence shows (encrypted).")
@repo_option
@json_option
def attach_command(case_id: str, file: Path, note: str | None, as_json: bool) -> None:
    """Encrypt FILE as evidence of a case (one commit with the case).

    The file is stored as cases/ID/evidence-NNN.sops.json, encrypted to exactly the case's
    recipients; its name, size, sha256, type and your note are kept in the encrypted case.
    Delete your plaintext copy afterwards.

    \b
    Examples:
      cocflow attach 2026-0007 ~/Downloads/screenshot.png -m "the message of 18 Nov"
      cocflow attach 2026-0007 chat-export.txt
    """
    from cocflow.operations.evidence import attach

    require_case_id(case_id)  # before any text is asked for
    note = free_text(note, "What this evidence shows (encrypted)")
    item = attach(workspace(), case_id, file, note)
    if as_json:
        emit_json({"id": case_id, "number": item["number"], "size": item["size"],
                   "sha256": item["sha256"]})
        return
    say(f"Attached evidence {item['number']} to {case_id} ({item['size']} bytes, encrypted; "
        "one commit).")
    next_step(f"delete your plaintext copy; see it with `cocflow evidence {case_id}`")


@click.command("evidence")
@case_id_argument
@click.argument("number", metavar="[N]", type=click.IntRange(min=1), required=False)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="With N: write that evidence to this new file (mode 0600, outside the "
                   "repository, never overwritten).")
@repo_option
@json_option
def evidence_command(case_id: str, number: int | None, out: Path | None, as_json: bool) -> None:
    """List a case's evidence, or write evidence N to a file with --out.

    Extraction checks the sha256 recorded when the evidence was attached; a mismatch is an
    integrity failure (exit 1) and nothing is written.

    \b
    Examples:
      cocflow evidence 2026-0007
      cocflow evidence 2026-0007 --json
      cocflow evidence 2026-0007 1 --out /tmp/evidence-1.png
    """
    from cocflow.operations import evidence

    if number is None and out is not None:
        raise click.UsageError("--out needs the number of the evidence: evidence ID N --out FILE")
    if number is not None and out is None:
        raise click.UsageError("give --out FILE to write evidence N (it is never printed)")
    ws = workspace()
    if number is not None and out is not None:
        item = evidence.extract(ws, case_id, number, out)
        if as_json:
            emit_json({"id": case_id, "number": number, "size": item["size"],
                       "sha256": item["sha256"], "verified": True})
            return
        say(f"Wrote evidence {number} of {case_id} to the file given (mode 0600, "
            f"{item['size']} bytes, sha256 verified).")
        next_step("delete it when you no longer need it; never add it to the repository")
        return
    items = evidence.list_evidence(ws, case_id)
    if as_json:
        emit_json(items)
        return
    if not items:
        say(f"No evidence in {case_id}.")
        return
    rows = [(i["number"], i["original_name"], i.get("media_type"), i["size"], i["sha256"][:12],
             i["added_at"][:10], i["added_by"], i.get("note")) for i in items]
    say(table(["n", "original name", "type", "bytes", "sha256", "added", "by", "note"], rows))
