"""Submissions pulled from a receiver, kept in this clone's git directory (never committed):

    cocflow/inbox/pending/<id>.age, <id>.json    pulled, not yet imported
    cocflow/inbox/aside/<id>.age, <id>.json      could not be imported, and why
    cocflow/inbox/imported.json                  sha256 of each imported ciphertext -> case

Every file is private (0600 in a 0700 folder); the ciphertexts are as the browser sent them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cocflow.adapters.store import write_atomic_bytes
from cocflow.domain.intake import SUBMISSION_ID
from cocflow.errors import EnvironmentProblem


@dataclass(frozen=True)
class Pulled:
    id: str
    received_at: str
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class LocalInbox:
    root: Path

    def keep(self, pulled: Pulled) -> None:
        self._write("pending", pulled, {"received_at": pulled.received_at})

    def pending(self) -> list[Pulled]:
        folder = self.root / "pending"
        found = [self._read(folder, path) for path in folder.glob("*.age")
                 if SUBMISSION_ID.fullmatch(path.stem)] if folder.is_dir() else []
        return sorted(found, key=lambda p: (p.received_at, p.id))

    def has(self, submission: str) -> bool:
        return any((self.root / where / f"{submission}.age").exists()
                   for where in ("pending", "aside"))

    def set_aside(self, pulled: Pulled, reason: str) -> None:
        self._write("aside", pulled, {"received_at": pulled.received_at, "reason": reason})
        self.done(pulled)

    def requeue(self) -> int:
        """Put every set-aside submission back in the queue (after a fix, or for another key)."""
        folder = self.root / "aside"
        count = 0
        for path in sorted(folder.glob("*.age")) if folder.is_dir() else []:
            if SUBMISSION_ID.fullmatch(path.stem):
                pulled = self._read(folder, path)
                self._write("pending", pulled, {"received_at": pulled.received_at})
                path.unlink()
                path.with_suffix(".json").unlink(missing_ok=True)
                count += 1
        return count

    def done(self, pulled: Pulled) -> None:
        for suffix in (".age", ".json"):
            (self.root / "pending" / f"{pulled.id}{suffix}").unlink(missing_ok=True)

    def imported(self) -> dict[str, str]:
        try:
            found = json.loads((self.root / "imported.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise EnvironmentProblem(f"{self.root / 'imported.json'} cannot be read") from None
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def record_import(self, digest: str, case_id: str) -> None:
        ledger = {**self.imported(), digest: case_id}
        write_atomic_bytes(self.root / "imported.json",
                           json.dumps(ledger, indent=1, sort_keys=True).encode(), mode=0o600)

    def _write(self, where: str, pulled: Pulled, stamp: dict[str, str]) -> None:
        folder = self.root / where
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
        write_atomic_bytes(folder / f"{pulled.id}.json", json.dumps(stamp).encode(), mode=0o600)
        write_atomic_bytes(folder / f"{pulled.id}.age", pulled.data, mode=0o600)

    @staticmethod
    def _read(folder: Path, path: Path) -> Pulled:
        stamp = json.loads((folder / f"{path.stem}.json").read_text(encoding="utf-8"))
        return Pulled(path.stem, str(stamp["received_at"]), path.read_bytes())
