"""What the local key files hold, so a failure to decrypt is explained truthfully.

sops says only "no key could decrypt": that is true of a recused member, and also of a
member whose key file is missing, holds only a public key, or whose SSH key needs a
passphrase that sops could not ask for. This module tells those apart from the files
alone (it never decrypts, never reads a passphrase, never prints a secret).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

OPENSSH_HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"
OPENSSH_MAGIC = b"openssh-key-v1\x00"
MAKE_AGE_KEY = ("or make an age key for cocflow (`cocflow keygen`) and ask a member to run "
                "`cocflow team set-keys HANDLE --key age1...` for you")


def default_key_file() -> Path:
    """SOPS_AGE_KEY_FILE, else sops' own default ($XDG_CONFIG_HOME/sops/age/keys.txt)."""
    configured = os.environ.get("SOPS_AGE_KEY_FILE")
    if configured:
        return Path(configured).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "sops" / "age" / "keys.txt"


def ssh_key_file() -> Path:
    """The SSH private key sops tries: SOPS_AGE_SSH_PRIVATE_KEY_FILE, else ~/.ssh/id_ed25519."""
    configured = os.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
    return Path(configured).expanduser() if configured else Path.home() / ".ssh" / "id_ed25519"


def needs_passphrase(path: Path) -> bool:
    """Whether an OpenSSH (or old PEM) private key file is encrypted with a passphrase."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    if "Proc-Type: 4,ENCRYPTED" in text:  # the PEM format of older ssh-keygen
        return True
    if OPENSSH_HEADER not in text:
        return False
    body = "".join(line.strip() for line in text.split(OPENSSH_HEADER, 1)[1].splitlines()
                   if line.strip() and not line.startswith("-----"))
    try:
        raw = base64.b64decode(body[:200] + "=" * (-len(body[:200]) % 4))
    except ValueError:
        return False
    if not raw.startswith(OPENSSH_MAGIC):
        return False
    rest = raw[len(OPENSSH_MAGIC):]
    length = int.from_bytes(rest[:4], "big")
    cipher = rest[4:4 + length]
    return cipher not in (b"", b"none")


def ssh_key_needs_passphrase() -> bool:
    """Whether sops will have to ask for an SSH key's passphrase (one prompt at a time)."""
    return ssh_key_file().is_file() and needs_passphrase(ssh_key_file())


def _has_age_secret() -> bool:
    if "AGE-SECRET-KEY-" in os.environ.get("SOPS_AGE_KEY", ""):
        return True
    try:
        return "AGE-SECRET-KEY-" in default_key_file().read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def local_key_problem() -> str | None:
    """Why no local key can decrypt anything, when the key files say so; else None."""
    if _has_age_secret():
        return None
    key_file, ssh_file = default_key_file(), ssh_key_file()
    if ssh_file.is_file():
        if needs_passphrase(ssh_file):
            return (f"your SSH key {ssh_file} is protected by a passphrase and sops could not "
                    "ask for it (no terminal): run cocflow in a terminal and type it when "
                    f"asked, {MAKE_AGE_KEY}")
        return None
    try:
        text = key_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return (f"no local key found (looked in {key_file} and {ssh_file}): create one with "
                "`cocflow keygen`, or set SOPS_AGE_KEY_FILE to your key file")
    words = text.split()
    if any(w.startswith("age1") for w in words) or "ssh-ed25519" in words:
        return (f"{key_file} holds only a public key, not the secret key: point "
                "SOPS_AGE_KEY_FILE at the file `cocflow keygen` wrote (its key line starts "
                "with AGE-SECRET-KEY-)")
    return (f"{key_file} holds no age secret key (a line starting with AGE-SECRET-KEY-): "
            "create one with `cocflow keygen`")
