"""Evidence files of a case: attach, list, extract, and re-encrypt when recipients change.

Each piece of evidence is a sops binary document (JSON) at `cases/<id>/evidence-NNN.sops.json`,
encrypted to exactly the case's recipients; it is committed in the same commit as the case
whose encrypted `evidence` list describes it.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cocflow.adapters import sops
from cocflow.domain import evidence as domain
from cocflow.domain import sealed
from cocflow.domain.case import require_case_id
from cocflow.domain.evidence import Attachment
from cocflow.errors import IntegrityError, InvalidInput, Unreadable
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import (
    Workspace,
    case_readers,
    decrypt_case,
    require_evidence_document,
    require_recipients,
    save_case,
)


def seal_attachments(ws: Workspace, case: dict[str, Any], attachments: Sequence[Attachment]
                     ) -> tuple[dict[str, Any], tuple[tuple[Path, str], ...]]:
    """The case with evidence records, and each encrypted evidence file to write with it."""
    if not attachments:
        return case, ()
    limit = ws.config.attachment_max_bytes
    for index, attachment in enumerate(attachments, start=1):
        domain.require_size(attachment, limit, f"attachment {index}")
    case_id = case["meta"]["id"]
    on_disk = [domain.number_of(p.name) or 0 for p in ws.store.evidence_files(case_id)]
    numbers = domain.next_numbers(case, on_disk, len(attachments))
    recipients = case_readers(ws, case)
    ciphertexts = parallel(lambda pair: _encrypt(ws, *pair, recipients, case_id),
                           list(zip(attachments, numbers, strict=True)))
    updated = domain.with_evidence(case, attachments, numbers, ws.actor, ws.now())
    files = tuple((ws.store.evidence_path(case_id, n), text)
                  for n, text in zip(numbers, ciphertexts, strict=True))
    return updated, files


def _encrypt(ws: Workspace, attachment: Attachment, number: int, recipients: list[str],
             case_id: str) -> str:
    plaintext = sealed.seal_evidence(attachment.data, number, attachment.sha256, case_id)
    ciphertext = sops.encrypt_bytes(plaintext, recipients, ws.keyring)
    require_recipients(ciphertext, recipients, "new evidence")
    return ciphertext



def save_with_evidence(ws: Workspace, case: dict[str, Any], message: str,
                       files: Iterable[tuple[Path, str]]) -> Path:
    """save_case with evidence files in the same commit; a failure leaves no empty folder."""
    folder = ws.store.evidence_dir(case["meta"]["id"])
    existed = folder.exists()
    try:
        return save_case(ws, case, message, also=tuple(files))
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def attach(ws: Workspace, case_id: str, file: Path, note: str | None = None) -> dict[str, Any]:
    """Encrypt one file as evidence of a case; one commit with the case. Returns its record."""
    require_case_id(case_id)
    attachment = _read_attachment(ws, Path(file), note)
    case = decrypt_case(ws, case_id)
    updated, files = seal_attachments(ws, case, [attachment])
    save_with_evidence(ws, updated, f"attach evidence to {case_id}", files)
    return dict(updated["evidence"][-1])


def _read_attachment(ws: Workspace, file: Path, note: str | None) -> Attachment:
    # The file's name is evidence too: no message here repeats it.
    if not file.is_file():
        raise InvalidInput("the file to attach does not exist or is not a regular file")
    if _inside(file, ws.root):
        raise InvalidInput("the file to attach lies inside the case repository: move it out "
                           "(plaintext must never be committed), then attach it")
    limit = ws.config.attachment_max_bytes
    if file.stat().st_size > limit:
        raise InvalidInput(f"the file is over attachment_max_bytes ({limit} bytes in "
                           "cocflow.yaml); nothing was written")
    try:
        data = file.read_bytes()
    except OSError:
        raise InvalidInput("the file to attach cannot be read") from None
    media_type = mimetypes.guess_type(file.name)[0]
    return Attachment(file.name, data, media_type, note.strip() if note else None)


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def list_evidence(ws: Workspace, case_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The evidence records of a case (decrypted), by number, and the files in its folder
    that the case does not list (see `unlisted_evidence`)."""
    case = decrypt_case(ws, require_case_id(case_id))
    records = sorted(case.get("evidence") or [], key=lambda item: item["number"])
    return records, unlisted_evidence(ws, case)


def unlisted_evidence(ws: Workspace, case: dict[str, Any]) -> list[str]:
    """Files in a verified case's folder that its encrypted evidence list does not name: not
    its evidence (copied in, perhaps from another case); never re-encrypted, never read."""
    case_id = case["meta"]["id"]
    listed = {ws.store.evidence_path(case_id, item["number"]).name
              for item in case.get("evidence") or []}
    return sorted(p.name for p in ws.store.evidence_files(case_id) if p.name not in listed)


def extract(ws: Workspace, case_id: str, number: int, out: Path) -> dict[str, Any]:
    """Decrypt evidence `number` to `out` (mode 0600, never overwritten) after checking its hash."""
    out = Path(out)
    if _inside(out, ws.root):
        raise InvalidInput("--out lies inside the case repository: write evidence elsewhere "
                           "(plaintext must never be committed)")
    if out.exists() or out.is_symlink():
        raise InvalidInput("--out already exists; cocflow never overwrites a file")
    if not out.parent.is_dir():
        raise InvalidInput("the folder of --out does not exist")
    case = decrypt_case(ws, require_case_id(case_id))
    item = domain.find(case, number)
    data = read_evidence(ws, case_id, item)
    _write_private(out, data)
    return item


def read_evidence(ws: Workspace, case_id: str, item: dict[str, Any]) -> bytes:
    """The decrypted bytes of one piece of evidence, verified against its record."""
    number = item["number"]
    what = f"evidence {number} of case {case_id}"
    path = ws.store.evidence_path(case_id, number)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IntegrityError(f"{what} is listed in the case but its file is missing; restore "
                             "it from git history") from None
    except (OSError, UnicodeDecodeError):
        raise IntegrityError(f"{what} is not a sops document; restore it from git history") \
            from None
    require_evidence_document(text, what)
    try:
        plaintext = ws.reader.decrypt_bytes(text, what)
        data, binding = sealed.open_evidence(plaintext), sealed.evidence_binding(plaintext)
    except Unreadable as exc:
        raise exc.about(what, str(path.relative_to(ws.root))) from None
    problem = sealed.binding_problem(binding, case_id, number, item["sha256"])
    if problem is not None:
        raise IntegrityError(f"{what}: {problem}; restore it from git history and tell the team")
    if len(data) != item["size"] or hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise IntegrityError(f"{what} does not match its recorded sha256: the file was replaced; "
                             "restore it from git history and tell the team")
    return data



def _write_private(out: Path, data: bytes) -> None:
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput("--out already exists; cocflow never overwrites a file") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
