"""The two plaintext files of a case repository: team.yaml and cocflow.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters import schema, yamlio
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.domain.access import Member, Roster
from cocflow.errors import EnvironmentProblem, InvalidInput

TEAM_FILE = "team.yaml"


@dataclass(frozen=True)
class Config:
    response_days: int = 14
    warn_days: int = 3
    report_min_count: int = 3
    attachment_max_bytes: int = 25 * 1024 * 1024


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
    return Config(**{k: document[k] for k in Config.__dataclass_fields__})


def load_roster(root: Path) -> Roster:
    document = _load(root / TEAM_FILE, "team")
    return validate_roster(Roster.from_document(document))


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
    "# Change it with `cocflow team add/remove`, then run `cocflow rekey`.\n"
)

CONFIG_TEXT = """\
# cocflow repository settings
response_days: 14     # the promise: a first response within two weeks
warn_days: 3          # `due` and CI alerts warn this many days ahead
report_min_count: 3   # transparency report: smaller counts show as "fewer than N"
"""
