"""The roster: list, add and remove members (team.yaml only; `rekey` applies it to cases)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters.config import (
    TEAM_FILE,
    AcceptedRoster,
    check_recipient,
    load_roster,
    roster_text,
    save_accepted_roster,
    validate_roster,
)
from cocflow.adapters.paths import CONFIG_FILE, find_root
from cocflow.domain.access import Member, Roster, readers, require_handle
from cocflow.domain.case import recused_handles
from cocflow.domain.roster import RosterChange, recused_renames
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
    """Add a member to team.yaml and commit; they read no existing case until `share`.

    The change is this member's own, so this clone accepts it; other clones show it and wait
    for their `team accept`.
    """
    roster = ws.team_roster
    if roster.member(handle):
        raise InvalidInput(f"{handle} is already a member; change keys with "
                           f"`cocflow team set-keys {handle} --key ...`")
    require_handle(handle)
    member = Member(handle, _clean_keys(keys), name, ws.now().date().isoformat())
    _commit_roster(ws, lambda r: dataclasses.replace(r, members=(*r.members, member)),
                   f"team: add member {handle}", added=member)
    return member


def set_keys(ws: Workspace, handle: str, keys: Iterable[str]) -> Member:
    """Replace a member's keys (a new laptop): removed keys stop at once, new ones wait.

    Other clones see the change per key, with fingerprints, and accept it after checking
    with the member; existing cases reach a new key only through `share`.
    """
    current = ws.team_roster.require(handle)
    member = dataclasses.replace(current, keys=_clean_keys(keys))

    def change(roster: Roster) -> Roster:
        return dataclasses.replace(roster, members=tuple(
            member if m.handle == handle else m for m in roster.members))

    _commit_roster(ws, change, f"team: new keys for {handle}", rekeyed=member)
    return member


def _clean_keys(keys: Iterable[str]) -> tuple[str, ...]:
    clean = tuple(dict.fromkeys(normalize_key(k) for k in keys))
    if not clean:
        raise InvalidInput("a member needs at least one --key")
    return clean


def _commit_roster(ws: Workspace, change: Callable[[Roster], Roster], message: str,
                   added: Member | None = None, removed: str | None = None,
                   rekeyed: Member | None = None) -> None:
    """Apply one change to team.yaml and to this clone's accepted roster, one commit.

    team.yaml is edited in place where it can be (comments and order kept).
    """
    updated = validate_roster(change(ws.team_roster))
    accepted = ws.accepted
    path = ws.root / TEAM_FILE
    commit(ws, [(path, roster_text(updated, path, added=added, removed=removed,
                                   rekeyed=rekeyed))], message)
    save_accepted_roster(ws.accepted_roster_path, dataclasses.replace(
        accepted, roster=validate_roster(change(accepted.roster))))


def remove_member(ws: Workspace, handle: str) -> list[str]:
    """Remove a member from team.yaml and commit; returns the cases they can still read today."""
    roster = ws.team_roster
    roster.require(handle)
    updated = dataclasses.replace(
        roster, members=tuple(m for m in roster.members if m.handle != handle)
    )
    readable = []
    for meta in ws.store.iter_meta():
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
    _commit_roster(ws, lambda r: dataclasses.replace(
        r, members=tuple(m for m in r.members if m.handle != handle)),
        f"team: remove member {handle}", removed=handle)
    return readable


@dataclass(frozen=True)
class RosterReview:
    """team.yaml against the accepted roster: each change, and the commits that made them."""

    changes: tuple[RosterChange, ...]
    commits: tuple[str, ...]

    @property
    def pending(self) -> tuple[RosterChange, ...]:
        return tuple(change for change in self.changes if change.widening)

    def to_json(self) -> dict[str, Any]:
        return {"changes": [c.to_json() for c in self.changes],
                "pending": [c.to_json() for c in self.pending], "commits": list(self.commits)}


def review_roster(ws: Workspace) -> RosterReview:
    """What changed in team.yaml since this clone accepted the roster, and who changed it."""
    changes = ws.roster_changes()
    since = ws.accepted.commit
    revisions = [f"{since}..HEAD"] if since and ws.git.attempt(
        "merge-base", "--is-ancestor", since, "HEAD").ok else ["HEAD"]
    log = ws.git.run("log", "--format=%h %an <%ae> %ad %s", "--date=short", *revisions,
                     "--", TEAM_FILE, CONFIG_FILE) if changes and ws.git.head() else ""
    return RosterReview(tuple(changes), tuple(filter(None, log.splitlines())))


def accept_roster(ws: Workspace, review: RosterReview) -> RosterReview:
    """Accept team.yaml as it is now (after `review` was shown and confirmed)."""
    if review.changes != tuple(ws.roster_changes()):
        raise InvalidInput("team.yaml changed while you were reviewing it; run "
                           "`cocflow team accept` again")
    renamed = recused_renames(review.changes, _recused_anywhere(ws))
    if renamed:
        change, case_id = renamed[0]
        raise InvalidInput(f"team.yaml renames {change.handle} ({change.detail}), who is "
                           f"recused from case {case_id}: a recused handle is never renamed; "
                           f"put {change.handle} back in team.yaml (revert the commit that "
                           "renamed it), then accept")
    save_accepted_roster(ws.accepted_roster_path,
                         AcceptedRoster(ws.team_roster, ws.git.head(),
                                        ws.config.triage_readers))
    return review


def _recused_anywhere(ws: Workspace) -> dict[str, list[str]]:
    """Each handle recused from some case, with those cases (plaintext meta: a forged meta
    can only make this refuse more; the keys recorded inside each case still decide)."""
    found: dict[str, list[str]] = {}
    for meta in ws.store.all_meta():
        for handle in recused_handles(meta) or ():
            found.setdefault(handle, []).append(meta["id"])
    return found
