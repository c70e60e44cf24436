"""The age identities sops 3.11 loads to open a data key (age/keysource.go loadIdentities),
read in-process from the same environment the sops binary gets from a Keyring.

sops takes the union of every source: SOPS_AGE_SSH_PRIVATE_KEY_FILE, ~/.ssh/id_ed25519,
~/.ssh/id_rsa, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY (one identity per line) and
$XDG_CONFIG_HOME/sops/age/keys.txt (read even when SOPS_AGE_KEY_FILE is set). A source this
module cannot read exactly as sops does (a key command, a protected or unreadable key, a line
that is not an age X25519 identity) makes the whole set unsupported: the binary decides then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cocflow.adapters.sops import Keyring
from cocflow.errors import NotHandled


@dataclass(frozen=True)
class Identities:
    """The age identities sops would load with a Keyring, or why they cannot be known here."""

    keys: tuple[Any, ...] = ()
    unsupported: str | None = None


def load_identities(keyring: Keyring | None = None) -> Identities:
    """Read the identities sops would use, from the same places and the same environment."""
    environment = (keyring or Keyring()).environment()
    try:
        return Identities(tuple(_identities(environment)))
    except NotHandled as exc:
        return Identities(unsupported=str(exc))


def _identities(env: dict[str, str]) -> list[Any]:
    for command in ("SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_CMD"):
        if command in env:
            raise NotHandled(f"{command} is set: keys come from a command")
    home = env.get("HOME", "")
    if not home:
        raise NotHandled("no HOME")
    found: list[Any] = []
    ssh_file = env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    if ssh_file is not None:
        found.append(_ssh_identity(Path(ssh_file)))
    for name in ("id_ed25519", "id_rsa"):
        if (Path(home) / ".ssh" / name).exists():
            found.append(_ssh_identity(Path(home) / ".ssh" / name))
    if "SOPS_AGE_KEY_FILE" in env:
        found += _age_identities(_read(Path(env["SOPS_AGE_KEY_FILE"])))
    if "SOPS_AGE_KEY" in env:
        found += _age_identities(env["SOPS_AGE_KEY"])
    default = _config_dir(env, home) / "sops" / "age" / "keys.txt"
    if default.exists():
        found += _age_identities(_read(default))
    return found


def _config_dir(env: dict[str, str], home: str) -> Path:
    # Go's os.UserConfigDir on Linux.
    configured = env.get("XDG_CONFIG_HOME", "")
    if configured and not Path(configured).is_absolute():
        raise NotHandled("a relative XDG_CONFIG_HOME")
    return Path(configured) if configured else Path(home) / ".config"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise NotHandled("a key file that cannot be read") from None


def _age_identities(text: str) -> list[Any]:
    """age/keysource.go parseIdentities: one identity per line, "" and # lines skipped."""
    import pyrage

    found = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")  # bufio.ScanLines
        if not line or line.startswith("#"):
            continue
        if not line.startswith("AGE-SECRET-KEY-1"):
            raise NotHandled("an identity that is not an age X25519 key")
        try:
            identity = pyrage.x25519.Identity.from_str(line)
        except pyrage.IdentityError:
            raise NotHandled("an age identity that does not parse") from None
        if str(identity) != line:  # Go's parser wants the canonical upper-case form
            raise NotHandled("an age identity not in canonical form")
        found.append(identity)
    return found


def _ssh_identity(path: Path) -> Any:
    import pyrage

    try:
        return pyrage.ssh.Identity.from_buffer(path.read_bytes())
    except (OSError, ValueError, pyrage.IdentityError):
        raise NotHandled("an ssh key this reader cannot use (protected, or unreadable)") from None
