"""Evidence of a case: records in the encrypted body, neutral file names, size limits.

The bytes of a piece of evidence live in their own sops file under `cases/<id>/`, named
only by number; what the file was called, its size, hash, type and note live in the
case's encrypted `evidence` list, so nothing about it is readable without a key.
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cocflow.domain.case import event
from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput

FILE_NAME = re.compile(r"^evidence-([0-9]{3,})\.sops\.json$")
MAX_NAME_LENGTH = 1000
DEFAULT_NAME = "attachment"


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its bytes, what its sender called it, and an optional note."""

    name: str
    data: bytes
    media_type: str | None = None
    note: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def file_name(number: int) -> str:
    """The neutral on-disk name of evidence `number`, e.g. evidence-001.sops.json."""
    if number < 1:
        raise InvalidInput(f"evidence numbers start at 1, not {number}")
    return f"evidence-{number:03d}.sops.json"


def number_of(name: str) -> int | None:
    """The evidence number a file name stands for, or None when it is not an evidence file."""
    match = FILE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def clean_name(name: str | None) -> str:
    """The last path component, without control characters, within the schema's length."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return text[:MAX_NAME_LENGTH] or DEFAULT_NAME


def require_size(attachment: Attachment, limit: int, label: str) -> None:
    """Refuse an attachment over `attachment_max_bytes`; the message names no file."""
    if attachment.size > limit:
        raise InvalidInput(
            f"{label} is {attachment.size} bytes, over attachment_max_bytes ({limit} bytes in "
            "cocflow.yaml); nothing was written"
        )


def next_numbers(case: dict[str, Any], on_disk: Iterable[int], count: int) -> list[int]:
    """`count` fresh evidence numbers, after every number in the case or on disk."""
    used = [item["number"] for item in case.get("evidence") or []]
    start = max([*used, *on_disk], default=0) + 1
    return list(range(start, start + count))


def record(attachment: Attachment, number: int, actor: str, at: datetime) -> dict[str, Any]:
    """The encrypted description of one piece of evidence."""
    return {
        "number": number,
        "original_name": clean_name(attachment.name),
        "media_type": attachment.media_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "note": attachment.note,
        "added_at": format_timestamp(at),
        "added_by": actor,
    }


def with_evidence(case: dict[str, Any], attachments: Sequence[Attachment], numbers: list[int],
                  actor: str, at: datetime) -> dict[str, Any]:
    """The case with one evidence record and one `attached` timeline event per attachment."""
    updated = copy.deepcopy(case)
    updated.setdefault("evidence", [])
    updated.setdefault("timeline", [])
    for attachment, number in zip(attachments, numbers, strict=True):
        updated["evidence"].append(record(attachment, number, actor, at))
        updated["timeline"].append(event("attached", actor, at, f"evidence {number}"))
    return updated


def find(case: dict[str, Any], number: int) -> dict[str, Any]:
    """The record of evidence `number`, or an error listing the numbers there are."""
    for item in case.get("evidence") or []:
        if item["number"] == number:
            return dict(item)
    known = ", ".join(str(i["number"]) for i in case.get("evidence") or []) or "none"
    raise InvalidInput(f"case {case['meta']['id']} has no evidence {number} (evidence: {known})")
