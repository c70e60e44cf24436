"""Integrity of case files: what counts as tampering, and how it is reported.

A case file changed without the key (meta included, which the SOPS MAC covers) is an
integrity failure, exit 1, naming the file and how to restore it; it is never shown as data.
This module decides that from the file's text alone, before and after sops has run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cocflow.errors import IntegrityError, InvalidInput

# Far above any real case (its long texts are capped at 100,000 characters each), far below
# what could exhaust memory.
CASE_FILE_MAX_BYTES = 32_000_000


class Tampered(IntegrityError):
    """A case file changed without the key; carries which file and why, never content."""

    def __init__(self, label: str, reason: str, file: str | None = None) -> None:
        self.label, self.reason, self.file = label, reason, file
        where = file or "FILE"
        super().__init__(
            f"{label} failed its integrity check ({reason}): it was changed without the key "
            f"and is not shown; restore it from git history (`git log -- {where}` lists its "
            f"versions, `git checkout COMMIT -- {where}` brings one back) and tell the team"
        )


def tampered(label: str, reason: str, file: str | None = None) -> Tampered:
    """The one integrity error: which file, why, and how to get it back."""
    return Tampered(label, reason, file)


def envelope(text: str, label: str, file: str | None = None) -> dict[str, Any]:
    """The parsed encrypted document, or an integrity error when it is not a sops case.

    Parsed with the untrusted-input limits: a case file is whatever was last pushed.
    """
    try:
        from cocflow.adapters import yamlio  # imported late so that `show` can start sops first

        document = yamlio.load_untrusted(text, "the file", max_bytes=CASE_FILE_MAX_BYTES)
    except InvalidInput as exc:
        raise tampered(label, str(exc), file) from None
    if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
        raise tampered(label, "no meta block", file)
    metadata = document.get("sops")
    if not isinstance(metadata, dict) or not metadata.get("mac"):
        raise tampered(label, "no sops metadata or MAC", file)
    return document


def listed_recipients(document: dict[str, Any]) -> list[str]:
    """The age recipients named in a parsed sops document."""
    entries = (document.get("sops") or {}).get("age") or []
    return [str(e.get("recipient", "")) for e in entries if isinstance(e, dict)]


def is_listed(document: dict[str, Any], local_keys: Iterable[str]) -> bool:
    """Whether any local public key is a recipient of this document."""
    return bool(set(local_keys) & set(listed_recipients(document)))
