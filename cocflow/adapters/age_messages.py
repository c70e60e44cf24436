"""age messages outside sops: a form submission opened with the local identities, a reply
sealed to a reporter's key (armored, as the status page reads it)."""

from __future__ import annotations

from cocflow.adapters.age_identities import load_identities
from cocflow.adapters.sops import Keyring
from cocflow.errors import EnvironmentProblem, InvalidInput


def open_message(data: bytes, keyring: Keyring) -> bytes:
    """Decrypt an age file (armored or binary) with the identities sops would use."""
    import pyrage

    identities = load_identities(keyring)
    if identities.unsupported is not None:
        raise EnvironmentProblem(f"cannot open a form submission in-process: "
                                 f"{identities.unsupported}")
    if not identities.keys:
        raise EnvironmentProblem("no local age key: create one with `cocflow keygen`")
    try:
        return bytes(pyrage.decrypt(data, list(identities.keys)))
    except pyrage.DecryptError:
        raise InvalidInput("no local key opens this submission, or it is damaged") from None


def seal_message(data: bytes, recipient: str) -> bytes:
    """Encrypt `data` to one age X25519 recipient, ASCII-armored."""
    import pyrage

    try:
        key = pyrage.x25519.Recipient.from_str(recipient)
    except pyrage.RecipientError:
        raise InvalidInput("the reporter's reply key is not an age public key") from None
    return bytes(pyrage.encrypt(data, [key], armored=True))
