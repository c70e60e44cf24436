"""The receiver's inbox folder: encrypted submissions and replies, named by random ids.

Nothing here can decrypt anything. Several receivers may share one folder: every file is
written under a fresh random name through a temp file and a rename.

    submissions/<id>.age     an age file as the browser sent it
    submissions/<id>.json    {"received_at": ...}: when this receiver stored it
    seen/<sha256>            ciphertexts already received (a replay is refused)
    replies/<lookup>/<name>.age   the team's replies, encrypted to the reporter's key
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from cocflow.adapters import clock
from cocflow.adapters.store import write_atomic_bytes
from cocflow.domain.intake import LOOKUP, SUBMISSION_ID
from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput, SubmissionReplayed


@dataclass(frozen=True)
class InboxFolder:
    root: Path

    def create(self) -> InboxFolder:
        for name in ("submissions", "seen", "replies"):
            (self.root / name).mkdir(parents=True, exist_ok=True, mode=0o700)
        return self

    def add_submission(self, data: bytes) -> str:
        """Store one checked submission; a ciphertext seen before is SubmissionReplayed."""
        seen = self.root / "seen" / hashlib.sha256(data).hexdigest()
        try:
            seen.touch(mode=0o600, exist_ok=False)
        except FileExistsError:
            raise SubmissionReplayed("this submission was already received") from None
        submission = secrets.token_hex(16)
        stamp = json.dumps({"received_at": format_timestamp(clock.now())})
        write_atomic_bytes(self._file(submission, ".json"), stamp.encode(), mode=0o600)
        write_atomic_bytes(self._file(submission, ".age"), data, mode=0o600)
        return submission

    def submissions(self) -> list[dict[str, object]]:
        """Every complete submission, oldest first: id, received_at, size."""
        found = []
        for path in (self.root / "submissions").glob("*.age"):
            stamp = path.with_suffix(".json")
            if not SUBMISSION_ID.fullmatch(path.stem) or not stamp.is_file():
                continue
            received = json.loads(stamp.read_text(encoding="utf-8"))["received_at"]
            found.append({"id": path.stem, "received_at": received,
                          "size": path.stat().st_size})
        return sorted(found, key=lambda s: (str(s["received_at"]), str(s["id"])))

    def submission(self, submission: str) -> bytes | None:
        try:
            return self._file(submission, ".age").read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, submission: str) -> bool:
        path = self._file(submission, ".age")
        existed = path.is_file()
        path.unlink(missing_ok=True)
        self._file(submission, ".json").unlink(missing_ok=True)
        return existed

    def add_reply(self, lookup: str, data: bytes) -> None:
        name = f"{format_timestamp(clock.now()).replace(':', '')}-{secrets.token_hex(8)}.age"
        write_atomic_bytes(self._replies(lookup) / name, data, mode=0o600)

    def replies(self, lookup: str) -> list[str]:
        folder = self._replies(lookup)
        if not folder.is_dir():
            return []
        return [p.read_text(encoding="ascii") for p in sorted(folder.glob("*.age"))]

    def _file(self, submission: str, suffix: str) -> Path:
        if not SUBMISSION_ID.fullmatch(submission):
            raise InvalidInput("not a submission id")
        return self.root / "submissions" / f"{submission}{suffix}"

    def _replies(self, lookup: str) -> Path:
        if not LOOKUP.fullmatch(lookup):
            raise InvalidInput("not a lookup id")
        return self.root / "replies" / lookup
