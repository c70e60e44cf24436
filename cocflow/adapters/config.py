"""The two plaintext files of a case repository: team.yaml and cocflow.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters import schema, yamlio
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.adapters.store import write_atomic
from cocflow.domain.access import Member, Roster
from cocflow.errors import EnvironmentProblem, InvalidInput

TEAM_FILE = "team.yaml"
# Inside the git directory: each clone's own, never committed, never pushed.
ACCEPTED_ROSTER = "cocflow/accepted-team.json"


@dataclass(frozen=True)
class Config:
    response_days: int = 14
    warn_days: int = 3
    acknowledge_days: int = 7
    decide_days: int = 60
    report_min_count: int = 3
    attachment_max_bytes: int = 25 * 1024 * 1024
    triage_readers: tuple[str, ...] = ()
    inbox_url: str | None = None
    community: str | None = None


def _load(path: Path, name: str) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EnvironmentProblem(f"{path.name} is missing from {path.parent}") from None
    document = yamlio.load_untrusted(data, path.name)
    schema.validate(name, document, path.name)
    return document


def load_config(root: Path) -> Config:
    document = schema.with_defaults("config", _load(root / CONFIG_FILE, "config") or {})
    return Config(**{k: document.get(k) if k == "community" else document[k]
                     for k in Config.__dataclass_fields__})


def load_roster(root: Path) -> Roster:
    """team.yaml as it is in the working tree (anyone with push access wrote it)."""
    document = _load(root / TEAM_FILE, "team")
    return validate_roster(Roster.from_document(document))


@dataclass(frozen=True)
class AcceptedRoster:
    """The roster this clone has accepted, and the commit it was accepted at."""

    roster: Roster
    commit: str | None


def load_accepted_roster(path: Path) -> AcceptedRoster | None:
    """The accepted roster kept in the git directory, or None when this clone has none yet."""
    import json

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise EnvironmentProblem(f"{path} cannot be read: restore it, or delete it and run "
                                 "`cocflow team accept` after checking team.yaml with the "
                                 "team") from None
    schema.validate("team", document.get("roster"), "the accepted roster")
    return AcceptedRoster(validate_roster(Roster.from_document(document["roster"])),
                          document.get("commit"))


def save_accepted_roster(path: Path, accepted: AcceptedRoster) -> None:
    """Keep the accepted roster (mode 0600, like the rest of a clone's private state)."""
    import json

    text = json.dumps({"commit": accepted.commit, "roster": accepted.roster.to_document()},
                      indent=2)
    write_atomic(path, text + "\n", mode=0o600)


def validate_roster(roster: Roster) -> Roster:
    """Unique handles, keys held by one member only, keys that parse."""
    seen: dict[str, str] = {}
    if len(set(roster.handles)) != len(roster.handles):
        raise InvalidInput("team.yaml: duplicate handle")
    for member in roster.members:
        for key in member.keys:
            check_recipient(key)
            if key in seen:
                raise InvalidInput(f"team.yaml: {member.handle} and {seen[key]} share a key")
            seen[key] = member.handle
    for key in roster.escrow:
        check_recipient(key)
        if key in seen:
            raise InvalidInput(f"team.yaml: an escrow key is also {seen[key]}'s key: a key "
                               "belongs to one member or to escrow")
    return roster


def check_recipient(key: str) -> str:
    """An age (age1...) or ssh-ed25519 public key that really parses."""
    import pyrage

    try:
        if key.startswith("age1"):
            pyrage.x25519.Recipient.from_str(key)
        elif key.startswith("ssh-ed25519 "):
            pyrage.ssh.Recipient.from_str(key)
        else:
            raise ValueError
    except (ValueError, pyrage.RecipientError):
        shown = key if len(key) < 80 else key[:77] + "..."
        raise InvalidInput(
            f"not an age or ssh-ed25519 public key: {shown!r} (age keys start with age1)"
        ) from None
    return key


def roster_text(roster: Roster, current: Path | None = None, added: Member | None = None,
                removed: str | None = None) -> str:
    """team.yaml as cocflow writes it, validated against its schema.

    With the `current` file and one `added` member or one `removed` handle, the file is
    edited in place instead, keeping the team's comments and order.
    """
    document = roster.to_document()
    schema.validate("team", document, TEAM_FILE)
    if current is not None and (added or removed) and current.is_file():
        from cocflow.adapters.roster_yaml import edited_text

        text = edited_text(current, roster, added, removed)
        if text is not None:
            return text
    return TEAM_HEADER + yamlio.dump(document)


TEAM_HEADER = (
    "# The response team: handles and public keys (plaintext, no secrets).\n"
    "# Change it with `cocflow team add` (then `cocflow share`) or `cocflow team remove`\n"
    "# (then `cocflow rekey`).\n"
)

CONFIG_TEXT = """\
# cocflow repository settings
response_days: 14     # the promise: a first response within two weeks
warn_days: 3          # `due` and CI alerts warn this many days ahead
acknowledge_days: 7   # `due` lists an acknowledged case not investigated or dismissed by then
decide_days: 60       # `due` lists an open case not decided or dismissed this long after receipt
report_min_count: 3   # transparency report: smaller counts show as "fewer than N"
"""
