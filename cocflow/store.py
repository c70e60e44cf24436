"""Case files on disk: ids to paths, atomic writes, and the keyless meta-only read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from cocflow import yamlio
from cocflow.domain.case import require_case_id
from cocflow.errors import InvalidInput

CASES_DIR = "cases"


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write through a temp file in the same directory, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class CaseStore:
    """The `cases/` folder of one repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = root / CASES_DIR

    def path(self, case_id: str) -> Path:
        """The file of a case; the id is validated before it touches a path."""
        return self.directory / f"{require_case_id(case_id)}.yaml"

    def ids(self) -> list[str]:
        """Every case id with a file, sorted."""
        if not self.directory.is_dir():
            return []
        found = []
        for entry in os.scandir(self.directory):
            stem, dot, ext = entry.name.rpartition(".")
            if dot and ext == "yaml" and entry.is_file():
                try:
                    found.append(require_case_id(stem))
                except InvalidInput:
                    continue
        return sorted(found)

    def case_files(self) -> list[Path]:
        """Every *.yaml file in cases/, case-named or not (for checks)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.yaml") if p.is_file())

    def read(self, case_id: str) -> str:
        """The encrypted text of a case, or an error naming the unknown id."""
        path = self.path(case_id)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInput(f"no case {case_id}: see `cocflow list`") from None

    def write(self, case_id: str, ciphertext: str) -> Path:
        path = self.path(case_id)
        write_atomic(path, ciphertext)
        return path

    def meta(self, case_id: str) -> dict[str, Any]:
        """The plaintext meta of one case, without sops and without a key."""
        return read_meta(self.path(case_id).read_text(encoding="utf-8"))

    def all_meta(self) -> list[dict[str, Any]]:
        return [self.meta(case_id) for case_id in self.ids()]


def read_meta(text: str) -> dict[str, Any]:
    """Parse only the leading `meta:` block (cocflow writes it first); full parse otherwise."""
    if text.startswith("meta:\n"):
        end = _end_of_first_block(text)
        document = yamlio.load(text[:end])
    else:
        document = yamlio.load(text)
    meta = document.get("meta") if isinstance(document, dict) else None
    if not isinstance(meta, dict):
        raise InvalidInput("case file has no meta block")
    return meta


def _end_of_first_block(text: str) -> int:
    position = text.find("\n", 0) + 1
    while position < len(text):
        following = text.find("\n", position)
        following = len(text) if following < 0 else following + 1
        line = text[position:following]
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            return position
        position = following
    return len(text)
