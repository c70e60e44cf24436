"""Helpers for the access tests: raw sops, the data key behind a recipient, team changes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyrage
import yaml

from cocflow.adapters.sops import sops_binary
from tests.conftest import Key


def case_file(repo: Path, case_id: str) -> Path:
    return repo / "cases" / f"{case_id}.yaml"


def recipients(repo: Path, case_id: str) -> list[str]:
    """The age recipients listed in a case file's sops block."""
    document = yaml.safe_load(case_file(repo, case_id).read_text())
    return [entry["recipient"] for entry in document["sops"]["age"]]


def raw_sops_decrypt(path: Path, key: Key) -> subprocess.CompletedProcess[str]:
    """sops itself, not cocflow, with only this key (evidence files as binary)."""
    binary = ["--input-type", "json", "--output-type", "binary"] if path.suffix == ".json" else []
    return subprocess.run([sops_binary(), "decrypt", *binary, str(path)],
                          env={"SOPS_AGE_KEY_FILE": str(key.file), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, errors="replace", check=False)


def data_key(text: str, key: Key) -> bytes:
    """The sops data key of a case file, unwrapped from this member's `enc` entry."""
    document = yaml.safe_load(text)
    enc = next(e["enc"] for e in document["sops"]["age"] if e["recipient"] == key.public)
    secret = next(line for line in key.file.read_text().splitlines()
                  if line.startswith("AGE-SECRET-KEY-"))
    return pyrage.decrypt(enc.encode(), [pyrage.x25519.Identity.from_str(secret)])


def rekey(run, repo: Path, key: Key, *args: str, **options):  # type: ignore[no-untyped-def]
    """`cocflow rekey --json` as this member; returns (result, parsed json or None)."""
    result = run("-C", str(repo), "rekey", "--json", *args, as_member=key, **options)
    try:
        return result, json.loads(result.stdout)
    except ValueError:
        return result, None
