"""What a case repository holds, and settings that turn protection down: keyless rules.

`check`, the pre-commit hook and the history check apply them; `report` refuses a small
report_min_count with the same threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from cocflow.domain.rules import Problem

# Everything `init` writes, and what a host needs; `allow` in cocflow.yaml adds to it (the
# cocflow source repository lists its own source tree there).
ALWAYS_ALLOWED = ("cases/", ".github/", "team.yaml", "cocflow.yaml", ".gitattributes",
                  ".gitignore", ".gitlab-ci.yml", "README", "README.*", "LICENSE",
                  ".pre-commit-config.yaml")
# A pattern that would let these in lets plaintext in: it is a finding itself.
PLAINTEXT_SAMPLES = ("report.yaml", "report.eml", "message.eml", "notes.txt", "case.json")
MIN_REPORT_COUNT = 3
MIN_READERS = 2


def allowed(path: str, patterns: Iterable[str]) -> bool:
    """`path` is under a folder pattern (ending in /) or matches a glob (`*` crosses /)."""
    return any(path.startswith(p) if p.endswith("/") else fnmatchcase(path, p)
               for p in patterns)


def tree_findings(paths: Iterable[str], extra: Sequence[str]) -> list[Problem]:
    """Files outside what a case repository holds: a report, an email, notes, a swap file."""
    patterns = (*ALWAYS_ALLOWED, *extra)
    return [Problem(path, None, "file-not-allowed",
                    "not a file a case repository holds: plaintext must never be committed; "
                    "move it out of the repository (or list it under `allow` in cocflow.yaml)")
            for path in paths if not allowed(path, patterns)]


def settings_weak(report_min_count: Any, allow: Sequence[str]) -> list[Problem]:
    """cocflow.yaml settings that turn protection down."""
    found = []
    if isinstance(report_min_count, int) and report_min_count < MIN_REPORT_COUNT:
        found.append(Problem("cocflow.yaml", None, "setting-weak",
                             f"report_min_count is {report_min_count}: counts below "
                             f"{MIN_REPORT_COUNT} can identify people in the public report"))
    broad = [p for p in allow if any(allowed(s, [p]) for s in PLAINTEXT_SAMPLES)]
    if broad:
        found.append(Problem("cocflow.yaml", None, "setting-weak",
                             f"{len(broad)} `allow` pattern(s) would let a report or an email "
                             "file in (e.g. report.yaml): list folders or exact files"))
    return found


def roster_weak(min_recipients: int) -> list[Problem]:
    if min_recipients >= MIN_READERS:
        return []
    return [Problem("team.yaml", None, "setting-weak",
                    f"min_recipients is {min_recipients}: one lost key would lose a case "
                    f"(at least {MIN_READERS})")]
