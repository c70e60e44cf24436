"""Evidence files of a case: attach, list, extract, and re-encrypt when recipients change.

Each piece of evidence is a sops binary document (JSON) at `cases/<id>/evidence-NNN.sops.json`,
encrypted to exactly the case's recipients; it is committed in the same commit as the case
whose encrypted `evidence` list describes it.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cocflow.adapters import sops
from cocflow.adapters.store import CASES_DIR, CaseStore
from cocflow.domain import evidence as domain
from cocflow.domain.access import desired_recipients
from cocflow.domain.case import require_case_id
from cocflow.domain.evidence import Attachment
from cocflow.errors import IntegrityError, InvalidInput
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import Workspace, decrypt_case, save_case


def evidence_dir(root: Path, case_id: str) -> Path:
    """The folder of a case's evidence files: cases/<id>/."""
    return root / CASES_DIR / require_case_id(case_id)


def evidence_path(root: Path, case_id: str, number: int) -> Path:
    """The neutral path of evidence `number`, e.g. cases/2026-0001/evidence-001.sops.json."""
    return evidence_dir(root, case_id) / domain.file_name(number)


def evidence_files(store_or_root: CaseStore | Path, case_id: str) -> list[Path]:
    """Every evidence file of a case on disk, by number (for recuse, rekey, check, audit)."""
    root = store_or_root.root if isinstance(store_or_root, CaseStore) else Path(store_or_root)
    folder = evidence_dir(root, case_id)
    if not folder.is_dir():
        return []
    found = [(domain.number_of(p.name), p) for p in folder.iterdir() if p.is_file()]
    return [path for number, path in sorted((n, p) for n, p in found if n is not None)]


def case_recipients(ws: Workspace, case: dict[str, Any]) -> list[str]:
    """The keys a case and its evidence are encrypted to: keys(members - recused) + escrow."""
    return desired_recipients(ws.roster, case["meta"]["recused"])


def seal_attachments(ws: Workspace, case: dict[str, Any], attachments: Sequence[Attachment]
                     ) -> tuple[dict[str, Any], tuple[tuple[Path, str], ...]]:
    """The case with evidence records, and each encrypted evidence file to write with it."""
    if not attachments:
        return case, ()
    limit = ws.config.attachment_max_bytes
    for index, attachment in enumerate(attachments, start=1):
        domain.require_size(attachment, limit, f"attachment {index}")
    case_id = case["meta"]["id"]
    on_disk = [domain.number_of(p.name) or 0 for p in evidence_files(ws.root, case_id)]
    numbers = domain.next_numbers(case, on_disk, len(attachments))
    recipients = case_recipients(ws, case)
    ciphertexts = parallel(lambda a: _encrypt(ws, a.data, recipients), list(attachments))
    updated = domain.with_evidence(case, attachments, numbers, ws.actor, ws.now())
    files = tuple((evidence_path(ws.root, case_id, n), text)
                  for n, text in zip(numbers, ciphertexts, strict=True))
    return updated, files


def _encrypt(ws: Workspace, data: bytes, recipients: list[str]) -> str:
    ciphertext = sops.encrypt_bytes(data, recipients, ws.keyring)
    _require_recipients(ciphertext, recipients, "new evidence")
    return ciphertext


def _require_recipients(ciphertext: str, recipients: Iterable[str], what: str) -> None:
    if set(sops.recipients_of(ciphertext)) != set(recipients):
        raise IntegrityError(f"refusing to write {what}: sops did not encrypt it to exactly the "
                             "case's recipients")


def save_with_evidence(ws: Workspace, case: dict[str, Any], message: str,
                       files: Iterable[tuple[Path, str]]) -> Path:
    """save_case with evidence files in the same commit; a failure leaves no empty folder."""
    folder = evidence_dir(ws.root, case["meta"]["id"])
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
    return updated["evidence"][-1]


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


def list_evidence(ws: Workspace, case_id: str) -> list[dict[str, Any]]:
    """The evidence records of a case (decrypted), by number."""
    case = decrypt_case(ws, require_case_id(case_id))
    return sorted(case.get("evidence") or [], key=lambda item: item["number"])


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
    path = evidence_path(ws.root, case_id, number)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IntegrityError(f"{what} is listed in the case but its file is missing; restore "
                             "it from git history") from None
    except (OSError, UnicodeDecodeError):
        raise IntegrityError(f"{what} is not a sops document; restore it from git history") \
            from None
    _require_sops_document(text, what)
    data = sops.decrypt_bytes(text, what, ws.keyring)
    if len(data) != item["size"] or hashlib.sha256(data).hexdigest() != item["sha256"]:
        raise IntegrityError(f"{what} does not match its recorded sha256: the file was replaced; "
                             "restore it from git history and tell the team")
    return data


def _require_sops_document(text: str, what: str) -> None:
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "data" not in document or "sops" not in document:
        raise IntegrityError(f"{what} is not a sops document; restore it from git history")


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


def reencrypt_evidence(ws: Workspace, case_id: str, recipients: Iterable[str]
                       ) -> list[tuple[Path, str]]:
    """Every evidence file of a case whose recipients differ, rotated to exactly `recipients`.

    A new data key each time (sops rotate). Returns (path, new text) pairs for
    `save_case(..., also=...)`, so the case and its evidence change in one commit; nothing
    is written here.
    """
    wanted = list(dict.fromkeys(recipients))
    pending = [(path, path.read_text(encoding="utf-8"))
               for path in evidence_files(ws.root, case_id)]
    pending = [(p, text) for p, text in pending if set(sops.recipients_of(text)) != set(wanted)]

    def rotate(entry: tuple[Path, str]) -> tuple[Path, str]:
        path, text = entry
        what = f"evidence {domain.number_of(path.name)} of case {case_id}"
        _require_sops_document(text, what)
        current = sops.recipients_of(text)
        rotated = sops.rotate(text, what, add=[k for k in wanted if k not in current],
                              remove=[k for k in current if k not in wanted],
                              input_type="json", keyring=ws.keyring)
        _require_recipients(rotated, wanted, what)
        return path, rotated

    return parallel(rotate, pending)
