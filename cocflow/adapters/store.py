"""Case files on disk: ids to paths, atomic writes, and the keyless meta-only read."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cocflow.domain.case import CASE_ID, require_case_id
from cocflow.errors import EnvironmentProblem, InvalidInput, Tampered

CASES_DIR = "cases"
# Far above any real case (its long texts are capped at 100,000 characters each), far below
# what could exhaust memory.
CASE_FILE_MAX_BYTES = 32_000_000


def case_file(case_id: str) -> str:
    """The repository path of a case file: cases/<id>.yaml."""
    return f"{CASES_DIR}/{case_id}.yaml"


def case_id_of(repo_path: str) -> str | None:
    """The case id of a repository path `cases/<id>.yaml`; None for any other path."""
    folder, _, name = repo_path.rpartition("/")
    stem = name.removesuffix(".yaml")
    if folder != CASES_DIR or stem == name or not CASE_ID.fullmatch(stem):
        return None
    return stem


def case_label(case_id: str) -> str:
    """How messages name a case: its id and its file, never its content."""
    return f"case {case_id} ({case_file(case_id)})"


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write through a temp file in the same directory, then rename into place.

    A full disk or a read-only directory is an EnvironmentProblem naming the file (never
    its content); the file itself is untouched until the rename.
    """
    write_atomic_bytes(path, text.encode("utf-8"), mode)


def write_atomic_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`write_atomic` for bytes."""
    put_in_place(write_beside(path, data, mode), path)


def write_beside(path: Path, data: bytes, mode: int = 0o644) -> Path:
    """Write `data` to a temp file next to `path` (ignored by git: *.tmp); its path.

    `put_in_place` renames it over `path`: a write of thousands of files holds none of them
    in memory between the two.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_failed(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_failed(path, exc) from None
        raise
    return Path(temp)


def put_in_place(temp: Path, path: Path) -> None:
    """Rename a file from `write_beside` over its target; the temp file is gone either way."""
    try:
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _write_failed(path, exc) from None


def _write_failed(path: Path, exc: OSError) -> EnvironmentProblem:
    reason = exc.strerror or type(exc).__name__
    return EnvironmentProblem(f"could not write {path.name} ({reason}): is the disk full or "
                              "the directory read-only?")


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

    def evidence_dir(self, case_id: str) -> Path:
        """The folder of a case's evidence files: cases/<id>/."""
        return self.directory / require_case_id(case_id)

    def evidence_path(self, case_id: str, number: int) -> Path:
        """The neutral path of evidence `number`, e.g. cases/2026-0001/evidence-001.sops.json."""
        from cocflow.domain.evidence import file_name

        return self.evidence_dir(case_id) / file_name(number)

    def evidence_files(self, case_id: str) -> list[Path]:
        """Every evidence file of a case on disk, by number."""
        from cocflow.domain.evidence import number_of

        folder = self.evidence_dir(case_id)
        if not folder.is_dir():
            return []
        found = [(number_of(p.name), p) for p in folder.iterdir() if p.is_file()]
        return [path for number, path in sorted((n, p) for n, p in found if n is not None)]

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

    def meta(self, case_id: str) -> dict[str, Any]:
        """The plaintext meta of one case, without sops and without a key.

        A file whose meta does not even parse was changed without cocflow: an integrity error.
        """
        path = self.path(case_id)
        try:
            return read_meta(path.read_bytes().decode("utf-8"))
        except (InvalidInput, UnicodeDecodeError):
            file = f"{CASES_DIR}/{path.name}"
            raise Tampered(f"case {case_id} ({file})", "its meta block does not parse",
                           file) from None

    def all_meta(self) -> list[dict[str, Any]]:
        return list(self.iter_meta())

    def iter_meta(self) -> Iterator[dict[str, Any]]:
        """The meta of each case, one at a time: nothing but the current one is held."""
        return (self.meta(case_id) for case_id in self.ids())


def read_meta(text: str) -> dict[str, Any]:
    """Parse only the leading `meta:` block (cocflow writes it first); full parse otherwise.

    With the untrusted-input limits: whoever can push can write this file.
    """
    from cocflow.adapters import yamlio  # keyless reads need it; `show` starts sops before paying

    if text.startswith("meta:\n"):
        end = _end_of_first_block(text)
        document = yamlio.load_untrusted(text[:end], "case meta")
    else:
        document = yamlio.load_untrusted(text, "case file", max_bytes=CASE_FILE_MAX_BYTES)
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
