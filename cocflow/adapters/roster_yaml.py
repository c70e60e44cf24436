"""Edits of team.yaml that keep the team's comments, order, quoting and indentation.

`team add`, `team remove` and `team set-keys` change one entry of `members`; everything
else in the file (comments explaining who is who, the escrow note, key order, flow or block
style) stays as the team wrote it. The result is read back and must equal the roster the
command meant to write, or the file is written plainly instead (correct first, pretty second).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from cocflow.adapters import yamlio
from cocflow.domain.access import Member, Roster

_SEQUENCE_ITEM = re.compile(r"^( *)- ", re.M)


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long ssh key
    item = _SEQUENCE_ITEM.search(text)
    offset = len(item.group(1)) if item else 2
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def _edit(path: Path, change: Any) -> str:
    text = path.read_text(encoding="utf-8")
    yaml = _yaml(text)
    document = yaml.load(text)
    change(document)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def _member_entry(member: Member) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    entry = CommentedMap()
    for key, value in member.to_document().items():
        entry[key] = CommentedSeq(value) if isinstance(value, list) else value
    return entry


def _keys_like(old: Any, keys: tuple[str, ...]) -> Any:
    """A new key list in the style (flow or block, quoting) of the one it replaces."""
    from ruamel.yaml.comments import CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    quoted = type(old[0]) if len(old) and isinstance(old[0], ScalarString) else None
    seq = CommentedSeq(quoted(key) if quoted else key for key in keys)
    if old.fa.flow_style():
        seq.fa.set_flow_style()
    return seq


def edited_text(path: Path, updated: Roster, member: Member | None = None,
                removed: str | None = None, rekeyed: Member | None = None) -> str | None:
    """team.yaml with `member` added, handle `removed`, or the keys of `rekeyed` replaced,
    edited in place: `updated` as text.

    None when the file cannot be edited in place faithfully; the caller then writes the
    roster plainly.
    """
    def change(document: Any) -> None:
        members = document["members"]
        if member is not None:
            if members.fa.flow_style():
                members.fa.set_block_style()  # `members: []` grows into a block list
            members.append(_member_entry(member))
        if removed is not None:
            [index] = [i for i, m in enumerate(members) if m.get("handle") == removed]
            del members[index]
        if rekeyed is not None:
            [entry] = [m for m in members if m.get("handle") == rekeyed.handle]
            entry["keys"] = _keys_like(entry["keys"], rekeyed.keys)

    try:
        text = _edit(path, change)
        written_back = Roster.from_document(yamlio.load_untrusted(text.encode(), path.name))
    except Exception:  # any surprise in a hand-edited file: write it plainly
        return None
    if written_back.to_document() != updated.to_document():
        return None
    return text
