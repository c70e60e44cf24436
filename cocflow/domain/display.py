"""Text safe to put on a terminal, in a chat message or a published page.

Report text and plaintext meta come from people outside the team and from whoever can push:
they can hold escape sequences (OSC title and clipboard writes, clear-screen, hidden text),
carriage returns that overwrite a line, and bidirectional overrides that reorder what is
shown. Every renderer passes text through `neutralise`: each such character is shown as a
visible escape (`\\x1b`, `\\u202e`) instead of acting. Meta values a keyless command shows
are checked against their schema pattern first (`shown_meta`).
"""

from __future__ import annotations

import re
from typing import Any

from cocflow.domain.access import HANDLE
from cocflow.domain.case import CASE_ID
from cocflow.domain.lifecycle import STATES

# Bidirectional controls (embeddings, overrides, isolates, marks) and line/paragraph
# separators that terminals and chat clients may act on.
BIDI_AND_SEPARATORS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)
INVALID = "(invalid: see cocflow check)"
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_STATUS = re.compile("^(" + "|".join(STATES) + ")$")
_PATTERNS = {"id": CASE_ID, "status": _STATUS, "received_at": _TIMESTAMP,
             "respond_by": _TIMESTAMP, "responded_at": _TIMESTAMP, "closed_at": _TIMESTAMP}


def is_control(char: str) -> bool:
    """C0 and C1 control characters, DEL, bidirectional controls and line separators."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_AND_SEPARATORS


def neutralise(text: object, *, lines: bool = True) -> str:
    """`text` with every control character shown as a visible escape.

    With `lines`, newlines and tabs are kept (a description, a whole view); without, they are
    escaped too (a table cell, a title: one line must stay one line).
    """
    keep = "\n\t" if lines else ""
    value = str(text)
    if not any(is_control(c) for c in value):
        return value
    return "".join(c if c in keep or not is_control(c) else _escape(c) for c in value)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Meta for a human view: a value that does not match its schema pattern is never shown.

    Plaintext meta is written by whoever can push; `cocflow check` says what is wrong.
    """
    shown = dict(meta)
    for key, pattern in _PATTERNS.items():
        value = meta.get(key)
        if value is not None and not (isinstance(value, str) and pattern.fullmatch(value)):
            shown[key] = INVALID
    recused = meta.get("recused")
    if recused is not None:
        shown["recused"] = [h if isinstance(h, str) and HANDLE.fullmatch(h) else INVALID
                            for h in (recused if isinstance(recused, list) else [recused])]
    return shown


_MARKDOWN = re.compile(r"([\\`*_\[\]<>#!|~])")


def markdown_text(text: object) -> str:
    """Text for Markdown (GitHub, Matrix, Mattermost): controls and markup characters escaped."""
    return _MARKDOWN.sub(r"\\\1", neutralise(text, lines=False))


def slack_text(text: object) -> str:
    """Text for Slack mrkdwn: controls escaped, `&<>` as entities, formatting neutralised."""
    value = neutralise(text, lines=False)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width joiner after each formatting character stops *bold*, _italic_, ~strike~
    # and `code` without changing what a reader sees.
    return re.sub(r"([*_~`])", "\\1\u200b", value)
