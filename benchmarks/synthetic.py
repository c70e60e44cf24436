"""Synthetic case repositories: a few real cases, and cheap copies with rewritten meta."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cocflow.adapters import sops
from cocflow.adapters.keys import generate
from cocflow.adapters.sops import Keyring
from cocflow.operations.cases import open_case
from cocflow.operations.setup import init_repository
from cocflow.operations.team import add_member
from cocflow.operations.workspace import Workspace, seal

NOW = "2026-11-25T12:00:00Z"
MEMBERS = ("alice", "bob", "carol")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@cocflow.invalid",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@cocflow.invalid",
}
INTAKE = {
    "report": {
        "title": "Benchmark report", "channel": "form", "description": "Synthetic text.",
        "reported": [{"name": "Someone"}], "categories": ["disruption"], "space": "online",
    }
}
STATUSES = ("received", "acknowledged", "investigating", "decided", "closed", "dismissed")


def cocflow_command() -> list[str]:
    """The installed console script, as a user runs it."""
    return [str(Path(sys.executable).parent / "cocflow")]


def environment(key_file: Path) -> dict[str, str]:
    return {**os.environ, **GIT_IDENTITY, "SOPS_AGE_KEY_FILE": str(key_file), "COCFLOW_NOW": NOW}


def build_repository(root: Path, size: int, real: bool = False) -> tuple[Path, Path]:
    """A case repository with `size` cases; returns (root, alice's key file)."""
    os.environ.update(GIT_IDENTITY)
    os.environ["COCFLOW_NOW"] = NOW
    init_repository(root, ci="none")
    keys = {}
    for handle in MEMBERS:
        keys[handle] = root.parent / f"{root.name}-{handle}.txt"
        public = generate(keys[handle])
        add_member(Workspace(root, Keyring(keys[handle])), handle, [public])
    ws = Workspace(root, Keyring(keys["alice"]))
    sample = open_case(ws, INTAKE)
    if real:
        _write_real_cases(ws, sample, size - 1)
    else:
        _write_meta_copies(root, sample["meta"]["id"], size - 1)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "bench: cases"], check=True)
    return root, keys["alice"]


def sample_case_path(root: Path) -> Path:
    return root / "cases" / "2026-0001.yaml"


def _case_id(number: int) -> str:
    return f"{2000 + number // 9999:04d}-{number % 9999 + 1:04d}"


def _write_meta_copies(root: Path, sample_id: str, count: int) -> None:
    # Keyless commands never decrypt, so copies with rewritten plaintext meta are enough.
    text = (root / "cases" / f"{sample_id}.yaml").read_text()
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for number in range(1, count + 1):
        case_id = _case_id(number)
        received = base + timedelta(hours=7 * number % (24 * 320))
        copy = _rewrite_meta(text, case_id, STATUSES[number % len(STATUSES)], received)
        (root / "cases" / f"{case_id}.yaml").write_text(copy)


def _rewrite_meta(text: str, case_id: str, status: str, received: datetime) -> str:
    stamp = received.strftime("%Y-%m-%dT%H:%M:%SZ")
    due = (received + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = re.sub(r"(?m)^    id: .*$", f"    id: {case_id}", text, count=1)
    text = re.sub(r"(?m)^    status: .*$", f"    status: {status}", text, count=1)
    text = re.sub(r"(?m)^    received_at: .*$", f'    received_at: "{stamp}"', text, count=1)
    return re.sub(r"(?m)^    respond_by: .*$", f'    respond_by: "{due}"', text, count=1)


def _write_real_cases(ws: Workspace, sample: dict, count: int) -> None:
    # Real, decryptable cases (for rekey): encrypted in parallel, committed once.
    def make(number: int) -> None:
        case_id = _case_id(number)
        document = {**sample, "meta": {**sample["meta"], "id": case_id}}
        ws.store.write(case_id, seal(ws, document))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(make, range(1, count + 1)))


def rotate_sequentially(files: list[Path], remove: str, env: dict[str, str]) -> None:
    """The baseline for rekey: one `sops rotate` after another."""
    for path in files:
        subprocess.run(
            [sops.sops_binary(), "rotate", "--rm-age", remove, "--input-type", "yaml",
             "--output-type", "yaml", "/dev/stdin"],
            input=path.read_bytes(), env=env, capture_output=True, check=True,
        )
