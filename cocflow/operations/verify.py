"""`verify`: with the local key, decrypt every case it can read and check it completely.

Unlike the keyless `check`, this proves each readable case is intact: the SOPS MAC (meta
included), the full case schema, and that the file name matches the id inside. Cases the key
cannot open (recused, not a recipient) are listed apart from failures: not being able to read
a case is not a problem with the case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cocflow.adapters import sops, sops_recipients
from cocflow.adapters.keys import public_keys
from cocflow.adapters.store import CASES_DIR, case_id_of, case_label
from cocflow.domain.case import recused_handles
from cocflow.domain.rules import Problem
from cocflow.errors import (
    AccessDenied,
    CocflowError,
    EnvironmentProblem,
    IntegrityError,
    InvalidInput,
    Tampered,
    Unreadable,
)
from cocflow.operations.evidence import read_evidence, unlisted_evidence
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import Workspace, decrypt_case


@dataclass
class Report:
    """verified: ids proven intact; unreadable: not for this key; failed: integrity problems."""

    verified: list[str] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verified": self.verified,
            "unreadable": [f.to_json() for f in self.unreadable],
            "failed": [f.to_json() for f in self.failed],
        }


@dataclass(frozen=True)
class _Outcome:
    case: str | None
    verified: bool = False
    unreadable: Problem | None = None
    failed: Problem | None = None
    evidence: tuple[Problem, ...] = ()



def case_count(ws: Workspace) -> int:
    """How many files `verify` will look at (for a progress bar)."""
    return len(ws.store.case_files())


def verify(ws: Workspace, jobs: int | None = None,
           advance: Callable[[], None] | None = None) -> Report:
    """Check every case file under cases/ that the local key can open, several at a time.

    `advance` is called once per file as it is done (a progress bar).
    """
    if jobs is not None and jobs < 1:
        raise InvalidInput("--jobs needs 1 or more")
    files = ws.store.case_files()
    local_keys = public_keys(ws.keyring)
    handle = _handle(ws)
    report = Report()
    outcomes = parallel(lambda path: _verify_file(ws, path, local_keys, handle), files, jobs,
                        (lambda _path: advance()) if advance else None)
    for outcome in outcomes:
        _record(report, outcome)
    return report


def _record(report: Report, outcome: _Outcome) -> None:
    if outcome.verified and outcome.case:
        report.verified.append(outcome.case)
    if outcome.unreadable:
        report.unreadable.append(outcome.unreadable)
    if outcome.failed:
        report.failed.append(outcome.failed)
    report.failed.extend(outcome.evidence)


def _verify_file(ws: Workspace, path: Path, local_keys: list[str],
                 handle: str | None) -> _Outcome:
    file = f"{CASES_DIR}/{path.name}"
    case_id = case_id_of(file)
    if case_id is None:
        return _Outcome(None, failed=Problem(file, None, "file-name",
                                             f"{file} is not named <id>.yaml (YYYY-NNNN)"))
    try:
        text = path.read_text(encoding="utf-8")
        if not set(local_keys) & set(sops_recipients.recipients_of(text)):
            parsed = sops.envelope(text, case_label(case_id), file)  # a broken file: Tampered
            return _Outcome(case_id, unreadable=_unreadable(file, case_id, parsed, handle))
        document = decrypt_case(ws, case_id, text)
        evidence = _evidence_problems(ws, document)
    except AccessDenied as exc:
        return _Outcome(case_id, unreadable=Problem(file, case_id, "not-a-recipient", str(exc)))
    except UnicodeDecodeError:
        return _Outcome(case_id, failed=Problem(
            file, case_id, "integrity",
            str(Tampered(case_label(case_id), "not UTF-8 text", file))))
    except EnvironmentProblem:
        raise  # sops missing is no finding about a case: the whole run stops, exit 4
    except CocflowError as exc:
        return _Outcome(case_id, failed=Problem(file, case_id, _code(exc), str(exc)))
    return _Outcome(case_id, verified=not evidence, evidence=evidence)


def _evidence_problems(ws: Workspace, case: dict[str, Any]) -> tuple[Problem, ...]:
    """Each listed evidence file decrypted and checked against its record and binding; each
    file in the folder that the case does not list is reported (never read)."""
    case_id = case["meta"]["id"]
    found = [Problem(f"{CASES_DIR}/{case_id}/{name}", case_id, "evidence-unlisted",
                     f"{name} is in the folder of case {case_id} but not in its encrypted "
                     "evidence list: not its evidence (copied from another case?); cocflow "
                     "never re-encrypts it")
             for name in unlisted_evidence(ws, case)]
    for item in case.get("evidence") or []:
        path = f"{CASES_DIR}/{case_id}/{ws.store.evidence_path(case_id, item['number']).name}"
        try:
            read_evidence(ws, case_id, item)
        except AccessDenied as exc:
            found.append(Problem(path, case_id, "not-a-recipient", str(exc)))
        except EnvironmentProblem:
            raise
        except CocflowError as exc:
            found.append(Problem(path, case_id, _code(exc), str(exc)))
    return tuple(found)


def _unreadable(file: str, case_id: str, parsed: dict[str, Any],
                handle: str | None) -> Problem:
    recused = recused_handles(parsed["meta"]) or ()
    if handle and handle in recused:
        return Problem(file, case_id, "recused", f"{handle} is recused from case {case_id}")
    return Problem(file, case_id, "not-a-recipient",
                   f"your key is not a recipient of case {case_id} (not shared with you yet: "
                   "a member who reads it runs `cocflow share`; or not a member)")


def _code(exc: CocflowError) -> str:
    if isinstance(exc, Unreadable):
        return "unreadable"
    return "integrity" if isinstance(exc, IntegrityError) else "error"


def _handle(ws: Workspace) -> str | None:
    try:
        return ws.actor
    except CocflowError:
        return None  # an escrow key, or a key not on the roster: it may still verify cases
