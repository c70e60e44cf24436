"""Roster changes are security events: what changed since the roster a clone accepted.

Each clone keeps the roster it has accepted (like ssh's known_hosts). A `team.yaml` pushed by
anyone can only take readers away until a member accepts it: removals take effect at once,
additions (a new member, a new or changed key, a new escrow key, a rename, a weaker setting)
wait for `cocflow team accept`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cocflow.domain.access import Member, Roster

ADDED = "added"
REMOVED = "removed"
KEY_ADDED = "key added"
KEY_REMOVED = "key removed"
RENAMED = "handle renamed"
ESCROW_ADDED = "escrow key added"
ESCROW_REMOVED = "escrow key removed"
SETTINGS = "settings changed"
TRIAGE_ADDED = "triage reader added"
TRIAGE_REMOVED = "triage reader removed"
# Changes that would widen who can read, or weaken a protection: they wait for acceptance.
WIDENING = frozenset({ADDED, KEY_ADDED, RENAMED, ESCROW_ADDED, SETTINGS, TRIAGE_ADDED})


def fingerprint(key: str) -> str:
    """A short, stable name for a public key that people can compare over the phone."""
    digest = hashlib.sha256(key.strip().encode("utf-8")).hexdigest()
    return f"SHA256:{digest[:16]}"


@dataclass(frozen=True)
class RosterChange:
    """One change between the accepted roster and team.yaml, per handle."""

    kind: str
    handle: str  # the member's handle, "escrow", or "min_recipients"
    keys: tuple[str, ...] = ()
    detail: str = ""

    @property
    def widening(self) -> bool:
        return self.kind in WIDENING

    def describe(self) -> str:
        """In words, with key fingerprints; never a key's holder's name beyond the handle."""
        prints = ", ".join(fingerprint(k) for k in self.keys)
        parts = [f"{self.handle}: {self.kind}", self.detail, f"keys {prints}" if prints else ""]
        return " ".join(part for part in parts if part)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "handle": self.handle, "detail": self.detail,
                "keys": [{"key": k, "fingerprint": fingerprint(k)} for k in self.keys]}


def roster_changes(accepted: Roster, current: Roster) -> list[RosterChange]:
    """Every change from `accepted` to `current`, per handle (renames recognised by keys)."""
    before = {m.handle: m for m in accepted.members}
    after = {m.handle: m for m in current.members}
    gone = [before[h] for h in before if h not in after]
    new = [after[h] for h in after if h not in before]
    changes: list[RosterChange] = []
    for old in gone:
        twin = next((m for m in new if set(m.keys) & set(old.keys)), None)
        if twin is not None:
            new.remove(twin)
            changes.append(RosterChange(RENAMED, old.handle, twin.keys, f"to {twin.handle}"))
        else:
            changes.append(RosterChange(REMOVED, old.handle, old.keys))
    changes += [RosterChange(ADDED, m.handle, m.keys) for m in new]
    for handle in before.keys() & after.keys():
        changes += _key_changes(before[handle], after[handle])
    changes += _escrow_changes(accepted.escrow, current.escrow)
    if current.min_recipients != accepted.min_recipients:
        changes.append(RosterChange(SETTINGS, "min_recipients", (),
                                    f"{accepted.min_recipients} -> {current.min_recipients}"))
    return sorted(changes, key=lambda c: (c.handle, c.kind))


def _key_changes(before: Member, after: Member) -> list[RosterChange]:
    added = tuple(k for k in after.keys if k not in before.keys)
    removed = tuple(k for k in before.keys if k not in after.keys)
    found = [RosterChange(KEY_ADDED, after.handle, added)] if added else []
    return found + ([RosterChange(KEY_REMOVED, after.handle, removed)] if removed else [])


def _escrow_changes(before: tuple[str, ...], after: tuple[str, ...]) -> list[RosterChange]:
    added = tuple(k for k in after if k not in before)
    removed = tuple(k for k in before if k not in after)
    found = [RosterChange(ESCROW_ADDED, "escrow", added)] if added else []
    return found + ([RosterChange(ESCROW_REMOVED, "escrow", removed)] if removed else [])


def triage_changes(accepted: Sequence[str], current: Sequence[str]) -> list[RosterChange]:
    """Handles cocflow.yaml adds to or removes from `triage_readers` (who reads email cases
    before anyone knows who is involved) since this clone accepted them."""
    where = "in cocflow.yaml"
    return [*(RosterChange(TRIAGE_ADDED, h, (), where) for h in current if h not in accepted),
            *(RosterChange(TRIAGE_REMOVED, h, (), where) for h in accepted if h not in current)]


def effective_triage_readers(accepted: Sequence[str], current: Sequence[str]) -> tuple[str, ...]:
    """The triage readers intake may use: cocflow.yaml's, minus any this clone has not
    accepted (a removal counts at once, an addition after `team accept`)."""
    return tuple(handle for handle in current if handle in accepted)


def effective_roster(accepted: Roster, current: Roster) -> Roster:
    """The roster a command may encrypt to: the accepted one, minus what team.yaml removed.

    A member or key gone from team.yaml is gone at once; a member, key or escrow key that
    team.yaml adds is not there until accepted; min_recipients takes the stricter value.
    """
    now = {m.handle: set(m.keys) for m in current.members}
    members = tuple(
        dataclasses.replace(m, keys=tuple(k for k in m.keys if k in now[m.handle]))
        for m in accepted.members if m.handle in now
    )
    return Roster(
        members=tuple(m for m in members if m.keys),
        escrow=tuple(k for k in accepted.escrow if k in current.escrow),
        min_recipients=max(accepted.min_recipients, current.min_recipients),
    )


def recused_renames(changes: Iterable[RosterChange],
                    recused: Mapping[str, Sequence[str]]) -> list[tuple[RosterChange, str]]:
    """Renames of a handle recused from some case (`recused`: handle -> case ids), each with
    the first case: a recused handle is never renamed."""
    return [(change, recused[change.handle][0]) for change in changes
            if change.kind == RENAMED and recused.get(change.handle)]


def pending(accepted: Roster, current: Roster) -> list[RosterChange]:
    """The changes that wait for `team accept` (everything that would widen access)."""
    return [change for change in roster_changes(accepted, current) if change.widening]
