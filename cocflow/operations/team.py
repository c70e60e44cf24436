"""The roster: list, add and remove members (team.yaml only; `rekey` applies it to cases)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from cocflow.adapters.config import (
    TEAM_FILE,
    check_recipient,
    load_roster,
    roster_text,
    validate_roster,
)
from cocflow.adapters.paths import find_root
from cocflow.domain.access import Member, readers, require_handle
from cocflow.domain.case import recused_handles
from cocflow.errors import InvalidInput
from cocflow.operations.workspace import Workspace, commit


def roster_handles(repo: Path | None) -> list[str]:
    """The handles in team.yaml of the repository at or above `repo` (for completion)."""
    return load_roster(find_root(repo)).handles


def normalize_key(key: str) -> str:
    """Strip a trailing ssh comment and whitespace; the stored form has none."""
    parts = key.strip().split()
    if len(parts) >= 2 and parts[0] == "ssh-ed25519":
        return check_recipient(f"{parts[0]} {parts[1]}")
    return check_recipient(key.strip())


def add_member(ws: Workspace, handle: str, keys: Iterable[str], name: str | None = None) -> Member:
    """Add a member to team.yaml and commit; cases change only with `rekey`."""
    roster = ws.roster
    if roster.member(handle):
        raise InvalidInput(f"{handle} is already a member; remove them first to change keys")
    require_handle(handle)
    clean = tuple(dict.fromkeys(normalize_key(k) for k in keys))
    if not clean:
        raise InvalidInput("a member needs at least one --key")
    member = Member(handle, clean, name, ws.now().date().isoformat())
    updated = validate_roster(dataclasses.replace(roster, members=(*roster.members, member)))
    path = ws.root / TEAM_FILE
    commit(ws, [(path, roster_text(updated, path, added=member))], f"team: add member {handle}")
    return member


def remove_member(ws: Workspace, handle: str) -> list[str]:
    """Remove a member from team.yaml and commit; returns the cases they can still read today."""
    roster = ws.roster
    roster.require(handle)
    updated = dataclasses.replace(
        roster, members=tuple(m for m in roster.members if m.handle != handle)
    )
    readable = []
    for meta in ws.store.all_meta():
        recused = recused_handles(meta) or ()
        remaining = readers(updated, recused)
        if len(remaining) < roster.min_recipients:
            raise InvalidInput(
                f"removing {handle} would leave case {meta['id']} with {len(remaining)} "
                f"reader(s), fewer than min_recipients ({roster.min_recipients}): add a member "
                "first"
            )
        if handle not in recused:
            readable.append(meta["id"])
    path = ws.root / TEAM_FILE
    commit(ws, [(path, roster_text(updated, path, removed=handle))],
           f"team: remove member {handle}")
    return readable
