"""Who may read a case: desired recipients from roster and recusals, min_recipients guard."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cocflow.errors import InvalidInput

HANDLE = re.compile(r"^[a-z][a-z0-9_-]{0,38}$")


def require_handle(handle: str) -> str:
    """A roster handle: lower-case letters, digits, - and _, starting with a letter."""
    if not HANDLE.fullmatch(handle or ""):
        raise InvalidInput(
            f"not a valid handle: {handle!r} (lower-case letters, digits, - and _; "
            "starts with a letter)"
        )
    return handle


@dataclass(frozen=True)
class Member:
    handle: str
    keys: tuple[str, ...]
    name: str | None = None
    since: str | None = None

    def to_document(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"handle": self.handle}
        if self.name:
            entry["name"] = self.name
        entry["keys"] = list(self.keys)
        if self.since:
            entry["since"] = self.since
        return entry


@dataclass(frozen=True)
class Roster:
    members: tuple[Member, ...] = ()
    escrow: tuple[str, ...] = ()
    min_recipients: int = 2
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Roster:
        """Build from a schema-valid team.yaml document."""
        members = tuple(
            Member(m["handle"], tuple(m["keys"]), m.get("name"), m.get("since"))
            for m in document.get("members") or []
        )
        return cls(members, tuple(document.get("escrow") or []), document.get("min_recipients", 2))

    def to_document(self) -> dict[str, Any]:
        return {
            "members": [m.to_document() for m in self.members],
            "escrow": list(self.escrow),
            "min_recipients": self.min_recipients,
        }

    @property
    def handles(self) -> list[str]:
        return [m.handle for m in self.members]

    def member(self, handle: str) -> Member | None:
        return next((m for m in self.members if m.handle == handle), None)

    def require(self, handle: str) -> Member:
        """The member with this handle, or an error naming the known handles."""
        found = self.member(handle)
        if found is None:
            known = ", ".join(self.handles) or "none yet"
            raise InvalidInput(f"unknown handle {handle!r} (members: {known})")
        return found

    def handle_for_key(self, key: str) -> str | None:
        return next((m.handle for m in self.members if key in m.keys), None)


def readers(roster: Roster, recused: Iterable[str]) -> list[str]:
    """Handles of the members who may read a case: everyone not recused."""
    excluded = set(recused)
    return [m.handle for m in roster.members if m.handle not in excluded]


def desired_recipients(roster: Roster, recused: Iterable[str]) -> list[str]:
    """keys(members - recused) + escrow, de-duplicated, in roster order."""
    excluded = set(recused)
    keys = [k for m in roster.members if m.handle not in excluded for k in m.keys]
    return list(dict.fromkeys([*keys, *roster.escrow]))


def next_readers(roster: Roster, recused: Iterable[str], previous: Iterable[str],
                 granted: Iterable[str] = (), excluded: Iterable[str] = ()) -> list[str]:
    """The keys a case is encrypted to after a write: removals automatic, additions explicit.

    `previous` is the verified list the case held (inside its encryption); every key the
    policy no longer allows goes (and every `excluded` key: one a recused member held, under
    whatever name it comes back); a key comes in only when `granted` (by `share`) and
    allowed. Never more than the policy allows, never a reader nobody granted.
    """
    allowed = set(desired_recipients(roster, recused)) - set(excluded)
    kept = [key for key in previous if key in allowed]
    return list(dict.fromkeys([*kept, *(key for key in granted if key in allowed)]))


def count_readers(roster: Roster, readers: Iterable[str], recused: Iterable[str],
                  escrow_counts: bool = False) -> int:
    """Distinct people who can read: members not recused (and escrow as one, in triage)."""
    keys = set(readers)
    holders = {roster.handle_for_key(key) for key in keys} - {None, *recused}
    return len(holders) + int(escrow_counts and bool(keys & set(roster.escrow)))


def triage_readers(roster: Roster, opener: str, triage: Iterable[str],
                   message: str) -> tuple[list[str], list[str]]:
    """Who reads a case no one has triaged yet (an email, a web form): the member who opened
    it, the triage readers and escrow; a triage reader the message names is left out.

    Returns (keys, handles left out). Names are matched case-insensitively: the handle as a
    word, the display name as written in team.yaml.
    """
    text = message.casefold()
    left_out = [h for h in triage if h != opener and _named(roster.require(h), text)]
    handles = dict.fromkeys([opener, *(h for h in triage if h not in left_out)])
    keys = [key for handle in handles for key in roster.require(handle).keys]
    return list(dict.fromkeys([*keys, *roster.escrow])), left_out


def members_named(roster: Roster, person: dict[str, Any]) -> list[str]:
    """Handles of members a reported person's name or contact matches (no team_handle set)."""
    text = " ".join(str(person.get(field) or "") for field in ("name", "contact")).casefold()
    return [m.handle for m in roster.members if text.strip() and _named(m, text)]


def _named(member: Member, text: str) -> bool:
    if re.search(rf"(?<![a-z0-9_-]){re.escape(member.handle)}(?![a-z0-9_-])", text):
        return True
    return bool(member.name) and len(member.name or "") >= 3 and \
        (member.name or "").casefold() in text


def require_enough_readers(roster: Roster, recused: Iterable[str], case: str) -> list[str]:
    """The readers of a case, refusing fewer than `min_recipients` members."""
    found = readers(roster, recused)
    if len(found) < roster.min_recipients:
        raise InvalidInput(
            f"case {case} would be readable by {len(found)} member(s), fewer than "
            f"min_recipients ({roster.min_recipients}); add members to team.yaml first"
        )
    return found


def key_owners(roster: Roster, keys: Iterable[str]) -> dict[str, str | None]:
    """Each recipient key mapped to its member's handle, `escrow`, or None when nobody's."""
    owners: dict[str, str | None] = {}
    for key in keys:
        owners[key] = roster.handle_for_key(key) or ("escrow" if key in roster.escrow else None)
    return owners


@dataclass(frozen=True)
class RecipientChange:
    """The exact keys to add to and remove from a case's recipients."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        return bool(self.add or self.remove)


def recipient_change(current: Iterable[str], desired: Iterable[str]) -> RecipientChange:
    """From current to desired recipients; a key already present is never added again.

    `sops rotate --add-age` of an existing recipient would list it twice.
    """
    have, want = list(dict.fromkeys(current)), list(dict.fromkeys(desired))
    return RecipientChange(tuple(k for k in want if k not in have),
                           tuple(k for k in have if k not in want))


REKEY = "run `cocflow rekey`"


def key_status(roster: Roster, key: str, recused: Iterable[str]) -> str | None:
    """Why a recipient key should not be one: "recused", "departed", or None when allowed."""
    owner = roster.handle_for_key(key)
    if owner is not None:
        return "recused" if owner in set(recused) else None
    return None if key in roster.escrow else "departed"


def short_key(key: str) -> str:
    """A public key, shortened but still searchable in team.yaml's history."""
    return key if len(key) <= 24 else f"{key[:16]}...{key[-6:]}"


@dataclass(frozen=True)
class Finding:
    """One way a case's recipients break the policy: a stable code and words (no content)."""

    code: str
    message: str


@dataclass(frozen=True)
class Assessment:
    """THE recipient policy applied to one file: who can read it, who may, what to change.

    Removals are automatic, additions explicit: `desired` is the current recipients minus
    every key the policy no longer allows (a departed member, a recused one, a key taken off
    the roster), never more; `allowed` is everyone who may read it, which only `share`
    grants. `check`, `audit`, `rekey --dry-run` and `doctor` all render this one value, so
    they cannot disagree.
    """

    case_id: str
    current: tuple[str, ...]
    allowed: tuple[str, ...]
    desired: tuple[str, ...]
    change: RecipientChange
    readers: tuple[str, ...]
    recused: tuple[str, ...]
    departed: tuple[str, ...]
    recused_recipients: tuple[str, ...]
    missing: tuple[str, ...]
    missing_escrow: tuple[str, ...]
    duplicated: tuple[str, ...]
    allowed_readers: tuple[str, ...]
    min_recipients: int
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    def problems(self) -> list[str]:
        """Each way this case breaks the policy, in words (ids and handles only)."""
        return [finding.message for finding in self.findings]


def assess(roster: Roster, case_id: str, recused: Iterable[str],
           recipients: Iterable[str], triage: bool = False) -> Assessment:
    """Compare a file's recipient keys with the roster and the case's recusals.

    In triage (an email or form case nobody has shared with the team yet) escrow counts as
    one reader towards min_recipients.
    """
    excluded = tuple(dict.fromkeys(recused))
    listed = list(recipients)
    current = tuple(dict.fromkeys(listed))
    allowed = tuple(desired_recipients(roster, excluded))
    desired = tuple(key for key in current if key in allowed)
    owners = key_owners(roster, current)
    holders = {owner for owner in owners.values() if owner not in (None, "escrow")}
    readers = tuple(h for h in roster.handles if h in holders)
    allowed = tuple(h for h in readers if h not in excluded)
    assessment = Assessment(
        case_id=case_id, current=current, allowed=allowed, desired=desired,
        change=recipient_change(current, desired), readers=readers, recused=excluded,
        departed=tuple(sorted(k for k in current if key_status(roster, k, excluded)
                              == "departed")),
        recused_recipients=tuple(h for h in excluded if h in holders),
        missing=tuple(m.handle for m in roster.members
                      if m.handle not in excluded and not set(m.keys) <= set(current)),
        missing_escrow=tuple(k for k in roster.escrow if k not in current),
        duplicated=tuple(sorted({k for k in listed if listed.count(k) > 1})),
        allowed_readers=allowed, min_recipients=roster.min_recipients,
    )
    return _with_findings(assessment, roster, listed, triage)


def _with_findings(found: Assessment, roster: Roster, listed: list[str],
                   triage: bool) -> Assessment:
    findings = [Finding("recipient-duplicate", f"recipient {short_key(k)} is listed "
                        f"{listed.count(k)} times; {REKEY}") for k in found.duplicated]
    for key in found.current:
        status = key_status(roster, key, found.recused)
        if status == "recused":
            findings.append(Finding("recipient-recused", f"{roster.handle_for_key(key)} is "
                                    f"recused, yet their key {short_key(key)} is a recipient; "
                                    f"{REKEY}"))
        elif status == "departed":
            findings.append(Finding("recipient-unknown", f"recipient {short_key(key)} is no "
                                    f"member's key and not escrow (a departed member?); "
                                    f"{REKEY}"))
    readers = count_readers(roster, found.current, found.recused, escrow_counts=triage)
    if readers < found.min_recipients:
        findings.append(Finding("too-few-recipients", f"readable by {readers} reader(s), fewer "
                                f"than min_recipients ({found.min_recipients})"))
    return dataclasses.replace(found, findings=tuple(findings))
