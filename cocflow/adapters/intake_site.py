"""The intake page's files: the templates and the bundle shipped in the package
(cocflow/intake_static, built by `make intake-bundle`), and a site folder on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cocflow.adapters.store import write_atomic_bytes
from cocflow.errors import EnvironmentProblem, InvalidInput

STATIC = Path(__file__).resolve().parent.parent / "intake_static"
SITE_FILES = ("index.html", "status.html", "intake.js", "intake.css")


def asset(name: str) -> bytes:
    """One shipped file; the bundle only when its bytes match the recorded sha256."""
    try:
        data = (STATIC / name).read_bytes()
        if name == "intake.js":
            recorded = (STATIC / "intake.js.sha256").read_text(encoding="ascii").strip()
            if hashlib.sha256(data).hexdigest() != recorded:
                raise EnvironmentProblem("the installed intake bundle does not match its "
                                         "recorded checksum: reinstall cocflow")
    except FileNotFoundError:
        raise EnvironmentProblem(f"the intake page file {name} is missing from this cocflow "
                                 "installation: reinstall it") from None
    return data


def write_site(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Write the site's files into `out` (created if needed; other files left alone)."""
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is not a directory")
    written = []
    for name, data in files.items():
        write_atomic_bytes(out / name, data, mode=0o644)
        written.append(out / name)
    return written


def read_site(folder: Path) -> dict[str, bytes]:
    """A site folder written by `cocflow intake form`."""
    try:
        return {name: (folder / name).read_bytes() for name in SITE_FILES}
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidInput(f"{folder} is not a site written by `cocflow intake form` (it needs "
                           f"{', '.join(SITE_FILES)})") from None
