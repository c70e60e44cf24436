"""Integrity of case files: what counts as tampering, and how it is reported.

A case file changed without the key (meta included, which the SOPS MAC covers) is an
integrity failure, exit 1, naming the file and how to restore it; it is never shown as data.
This module decides that from the file's text alone, before and after sops has run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cocflow.errors import InvalidInput, Tampered

# Far above any real case (its long texts are capped at 100,000 characters each), far below
# what could exhaust memory.
CASE_FILE_MAX_BYTES = 32_000_000




def envelope(text: str, label: str, file: str | None = None) -> dict[str, Any]:
    """The parsed encrypted document, or an integrity error when it is not a sops case.

    Parsed with the untrusted-input limits: a case file is whatever was last pushed.
    """
    try:
        from cocflow.adapters import yamlio  # imported late so that `show` can start sops first

        document = yamlio.load_untrusted(text, "the file", max_bytes=CASE_FILE_MAX_BYTES)
    except InvalidInput as exc:
        raise Tampered(label, str(exc), file) from None
    if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
        raise Tampered(label, "no meta block", file)
    metadata = document.get("sops")
    if not isinstance(metadata, dict) or not metadata.get("mac"):
        raise Tampered(label, "no sops metadata or MAC", file)
    return document


def listed_recipients(document: dict[str, Any]) -> list[str]:
    """The age recipients named in a parsed sops document."""
    entries = (document.get("sops") or {}).get("age") or []
    return [str(e.get("recipient", "")) for e in entries if isinstance(e, dict)]


def is_listed(document: dict[str, Any], local_keys: Iterable[str]) -> bool:
    """Whether any local public key is a recipient of this document."""
    return bool(set(local_keys) & set(listed_recipients(document)))
