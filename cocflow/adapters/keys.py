"""Local age identities: where they live, key generation, and who the local user is."""

from __future__ import annotations

import os
from pathlib import Path

from cocflow.adapters.key_files import default_key_file
from cocflow.adapters.sops import Keyring
from cocflow.domain.access import Roster
from cocflow.errors import AccessDenied, EnvironmentProblem, InvalidInput


def local_keyring() -> Keyring:
    """The keyring sops will use; a configured key file that is missing is an error."""
    configured = os.environ.get("SOPS_AGE_KEY_FILE")
    if configured and not Path(configured).expanduser().is_file():
        raise EnvironmentProblem(
            f"SOPS_AGE_KEY_FILE points to {configured}, which does not exist: "
            "fix the path, or create a key with `cocflow keygen`"
        )
    return Keyring(Path(configured).expanduser() if configured else None)


def generate(out: Path) -> str:
    """Write a new age identity to `out` (mode 0600, never overwriting); return its recipient."""
    import pyrage

    if out.exists():
        raise InvalidInput(f"{out} already exists; cocflow never overwrites a key")
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{out} already exists; cocflow never overwrites a key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"# created by cocflow keygen\n# public key: {public}\n{identity}\n")
    return public


def public_keys(keyring: Keyring) -> list[str]:
    """Public recipients of every local identity sops would try."""
    import pyrage

    found: list[str] = []
    secrets = []
    key_file = keyring.age_key_file or default_key_file()
    if key_file.is_file():
        secrets += key_file.read_text(encoding="utf-8").splitlines()
    secrets += os.environ.get("SOPS_AGE_KEY", "").splitlines()
    for line in secrets:
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-"):
            try:
                found.append(str(pyrage.x25519.Identity.from_str(line).to_public()))
            except pyrage.IdentityError:
                continue
    found += _ssh_public_keys()
    return list(dict.fromkeys(found))


def _ssh_public_keys() -> list[str]:
    private = os.environ.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE") or str(
        Path.home() / ".ssh" / "id_ed25519"
    )
    public = Path(private + ".pub")
    if not public.is_file():
        return []
    parts = public.read_text(encoding="utf-8").split()
    return [f"{parts[0]} {parts[1]}"] if len(parts) >= 2 and parts[0] == "ssh-ed25519" else []


def whoami(roster: Roster, keyring: Keyring) -> str:
    """The roster handle of the local key."""
    keys = public_keys(keyring)
    if not keys:
        from cocflow.adapters.key_files import local_key_problem

        problem = local_key_problem()
        if problem is not None:
            raise AccessDenied(problem)
        raise AccessDenied(
            f"no local key found (looked in {keyring.age_key_file or default_key_file()}): "
            "create one with `cocflow keygen`, or set SOPS_AGE_KEY_FILE"
        )
    for key in keys:
        handle = roster.handle_for_key(key)
        if handle:
            return handle
    raise AccessDenied(
        "your key is not in team.yaml: ask a member to run `cocflow team add` for you "
        f"(your public key: {keys[0]})"
    )
