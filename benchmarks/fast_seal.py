"""An in-process stand-in for `sops encrypt` of a case, for building large benchmark
repositories only (10,000 cases with their histories would take hours of sops processes).

For each set of recipients one case is encrypted by the real sops binary; its data key is
opened with a member's age key, and every later case to the same recipients is encrypted
in-process with that data key, exactly as sops writes a file: AES-256-GCM values with a
32-byte nonce and the key path as additional data, the SHA-512 MAC over every leaf, and the
same `sops:` block layout. `check_with_sops` has the real binary decrypt samples (MAC
included). Sharing a data key between cases is unlike cocflow, which draws one per write; it
changes nothing a benchmark measures (every file still needs its own key slot opened).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cocflow.adapters import sops, yamlio


class FastSealer:
    """`sops.encrypt` for case documents, in-process after one real call per recipient set."""

    def __init__(self, identity_file: Path, real: Callable[..., str]) -> None:
        import pyrage

        secret = next(line for line in identity_file.read_text().splitlines()
                      if line.startswith("AGE-SECRET-KEY-"))
        self.identity = pyrage.x25519.Identity.from_str(secret)
        self.real = real
        self.templates: dict[frozenset[str], tuple[bytes, str]] = {}
        self.lock = threading.Lock()

    def encrypt(self, document: str, recipients: Iterable[str], keyring: Any = None) -> str:
        recipients = list(recipients)
        key = frozenset(recipients)
        with self.lock:
            if key not in self.templates:
                text = self.real(document, recipients, keyring)
                self.templates[key] = self._template(text)
                return text
        data_key, age_block = self.templates[key]
        return _seal(json.loads(document), data_key, age_block)

    def _template(self, text: str) -> tuple[bytes, str]:
        import pyrage

        block = yamlio.load(text)["sops"]
        for entry in block["age"]:
            try:
                data_key = pyrage.decrypt(_dearmor(entry["enc"]), [self.identity])
                break
            except pyrage.DecryptError:
                continue
        else:
            raise SystemExit("the builder's key opens no slot of the template")
        start = text.index("    age:\n")
        end = text.index("    lastmodified:")
        return data_key, text[start:end]


def _dearmor(armored: str) -> bytes:
    lines = [line for line in armored.splitlines() if line and not line.startswith("-----")]
    return base64.b64decode("".join(lines))


def _value(cipher: Any, plaintext: bytes, additional: str, kind: str = "str") -> str:
    nonce = os.urandom(32)
    sealed = cipher.encrypt(nonce, plaintext, additional.encode("utf-8"))
    data, tag = sealed[:-16], sealed[-16:]
    b64 = base64.b64encode
    return (f"ENC[AES256_GCM,data:{b64(data).decode()},iv:{b64(nonce).decode()},"
            f"tag:{b64(tag).decode()},type:{kind}]")


def _leaf_bytes(value: Any) -> bytes:
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, (int, str)):
        return str(value).encode("utf-8")
    raise SystemExit(f"the fast sealer does not write a {type(value).__name__} in meta")


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for sub in value.values():
            yield from _leaves(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _leaves(sub)
    elif value is not None:
        yield value


def _scalar(value: Any) -> str:
    """A meta value as sops (go-yaml v3) writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value[:4].isdigit() and "T" in value and value.endswith("Z"):
        return f'"{value}"'  # a timestamp: go-yaml quotes it to keep it a string
    return str(value)


def _meta_yaml(meta: dict[str, Any]) -> str:
    lines = ["meta:"]
    for key, value in meta.items():
        if isinstance(value, list):
            if not value:
                lines.append(f"    {key}: []")
            else:
                lines.append(f"    {key}:")
                lines += [f"        - {_scalar(item)}" for item in value]
        else:
            lines.append(f"    {key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def _seal(document: dict[str, Any], data_key: bytes, age_block: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if set(document) != {"meta", "body"} or not isinstance(document["body"], str):
        raise SystemExit("the fast sealer writes sealed cases only (meta and body)")
    cipher = AESGCM(data_key)
    digest = hashlib.sha512()
    for leaf in _leaves(document["meta"]):
        digest.update(_leaf_bytes(leaf))
    body = document["body"].encode("utf-8")
    digest.update(body)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = _value(cipher, digest.hexdigest().upper().encode("ascii"), stamp)
    return (_meta_yaml(document["meta"]) + f"body: {_value(cipher, body, 'body:')}\n"
            + "sops:\n" + age_block + f'    lastmodified: "{stamp}"\n    mac: {mac}\n'
            + "    unencrypted_regex: ^meta$\n    version: 3.11.0\n")


def check_with_sops(files: list[Path], env: dict[str, str]) -> None:
    """The real sops binary decrypts each file (MAC checked), or the build stops."""
    for path in files:
        done = subprocess.run([sops.sops_binary(), "decrypt", "--output-type", "json",
                               str(path)], env=env, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"sops cannot read the fast-sealed {path.name}: "
                             f"{done.stderr.decode()[-300:]}")
        json.loads(done.stdout)
