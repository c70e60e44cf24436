"""The age recipients of a sops document, read fast: many thousands of files or versions
(`verify`, `audit --history`) are read without a YAML parse when their `sops:` block is exactly
as sops writes it; any other block is parsed as `sops.recipients_of` parses it."""

from __future__ import annotations

import re

from cocflow.adapters import sops

# The `sops:` block of a YAML case exactly as sops writes it for age recipients: nothing in
# it can be read two ways, so its recipients are the ones a YAML parser finds.
_SOPS_BLOCK = re.compile(
    r"    age:\n((?:        - recipient: age1[0-9a-z]+\n          enc: \|\n"
    r"(?:            [A-Za-z0-9+/= -]+\n)+)+)"
    r"(?:    (?:lastmodified|mac|mac_only_encrypted|version|(?:un)?encrypted_(?:regex|suffix)):"
    r" [^\n]*\n)*")
_RECIPIENT = re.compile(r"        - recipient: (age1[0-9a-z]+)\n")


def recipients_of(text: str) -> list[str]:
    """`sops.recipients_of`, without a YAML parse when the block is exactly as sops wrote it
    (thousands of versions in a history: the parse is most of the cost)."""
    if not text.lstrip().startswith("{"):
        _head, found, block = text.partition("\nsops:\n")
        written = _SOPS_BLOCK.fullmatch(block) if found else None
        if written is not None:
            return _RECIPIENT.findall(written.group(1))
    return sops.recipients_of(text)
