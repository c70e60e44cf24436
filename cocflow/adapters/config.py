"""The two plaintext files of a case repository: team.yaml and cocflow.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters import schema, yamlio
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.domain.access import Roster
from cocflow.errors import EnvironmentProblem, InvalidInput

TEAM_FILE = "team.yaml"


@dataclass(frozen=True)
class Config:
    response_days: int = 14
    warn_days: int = 3
    report_min_count: int = 3
    attachment_max_bytes: int = 25 * 1024 * 1024
    install: str | None = None


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
    if document.get("install") is not None:
        from cocflow.domain import install_spec

        install_spec.parse(document["install"])  # CI must never install a bare name
    return Config(**{k: document.get(k) for k in Config.__dataclass_fields__})


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


def roster_text(roster: Roster) -> str:
    """team.yaml as cocflow writes it, validated against its schema."""
    document = roster.to_document()
    schema.validate("team", document, TEAM_FILE)
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
