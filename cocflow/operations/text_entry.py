"""Free text written in the editor: a note, a rationale, a reason, a description.

The text goes through the same private copy as `edit` (0600 file, 0700 directory, on
/dev/shm where it exists), never a file in /tmp on disk, and never the command line.
"""

from __future__ import annotations

from cocflow.errors import InvalidInput

HINT = "# Lines starting with # are dropped. Save an empty text to cancel.\n"


def write_in_editor(what: str, start: str = "") -> str:
    """Open the editor on an empty text (or `start`); the text written, without # lines."""
    from cocflow.adapters.editor import edit_text

    written = edit_text(f"# {what}\n{HINT}{start}")
    text = "\n".join(line for line in written.splitlines() if not line.startswith("#")).strip()
    if not text:
        raise InvalidInput("the text written in the editor is empty; nothing was changed")
    return text
