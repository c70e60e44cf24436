"""`search`: every case the local key can read that mentions a person, contact, handle or
phrase; and, for `show`, the other cases that name the same reported people.

Each case is decrypted in memory by the in-process reader (MAC, name and shape checked by
`decrypt_case`) and forgotten once looked at: nothing is cached, on disk or otherwise. Cases
the local key is not a recipient of are skipped without decrypting (a keyless look at the
recipients); a case that fails its checks is reported apart, never searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cocflow.adapters import sops_recipients
from cocflow.adapters.keys import public_keys
from cocflow.adapters.store import case_file
from cocflow.domain.rules import Problem
from cocflow.domain.search import fold, matches, people_of, searched_fields
from cocflow.errors import (
    AccessDenied,
    CocflowError,
    EnvironmentProblem,
    IntegrityError,
    InvalidInput,
)
from cocflow.operations.parallel import parallel
from cocflow.operations.workspace import Workspace, decrypt_case


@dataclass(frozen=True)
class Hit:
    """A case that matched: its plaintext-meta facts and the fields, never their text unless
    asked (`excerpts`, with `--show`)."""

    case_id: str
    status: str
    received_at: str
    respond_by: str
    closed_at: str | None
    fields: tuple[str, ...]
    excerpts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.case_id, "status": self.status,
                                 "received_at": self.received_at, "respond_by": self.respond_by,
                                 "closed_at": self.closed_at, "fields": list(self.fields)}
        if self.excerpts:
            found["excerpts"] = dict(zip(self.fields, self.excerpts, strict=True))
        return found


@dataclass
class SearchResult:
    """Matches, how many cases were read, and those that could not be."""

    hits: list[Hit] = field(default_factory=list)
    searched: int = 0
    not_readable: list[str] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"matches": [hit.to_json() for hit in self.hits], "searched": self.searched,
                "not_readable": self.not_readable,
                "failed": [problem.to_json() for problem in self.failed]}


# What one case gave: a Hit or None (read, no match), "unreadable", or a Problem.
_Outcome = Hit | None | str | Problem
Examine = Callable[[dict[str, Any]], "Hit | None"]


def search(ws: Workspace, query: str, show: bool = False, jobs: int | None = None,
           progress: Any = None) -> SearchResult:
    """Every readable case mentioning `query` (case- and accent-insensitive); `progress`
    (start(total), tick()) follows the cases read."""
    if not fold(query):
        raise InvalidInput("nothing to search for: give a name, contact, handle or phrase")

    def examine(document: dict[str, Any]) -> Hit | None:
        found = matches(document, query)
        return _hit(document, [f for f, _ in found], [e for _, e in found] if show else [])

    return _over_cases(ws, examine, ws.store.ids(), jobs, progress)


def related_cases(ws: Workspace, document: dict[str, Any], jobs: int | None = None
                  ) -> list[Hit]:
    """Other readable cases naming one of this case's reported people (name, contact or
    handle, folded) as reporter, reported person or witness; those that cannot be read are
    left out."""
    people = people_of(document)
    if not people:
        return []
    own = document["meta"]["id"]

    def examine(other: dict[str, Any]) -> Hit | None:
        fields = [f for f, text in searched_fields(other)
                  if f.split(".")[0] in ("reporter", "reported", "witnesses")
                  and fold(text) in people]
        return _hit(other, list(dict.fromkeys(fields)), [])

    others = [case_id for case_id in ws.store.ids() if case_id != own]
    return _over_cases(ws, examine, others, jobs, None).hits


def _over_cases(ws: Workspace, examine: Examine, case_ids: list[str], jobs: int | None,
                progress: Any) -> SearchResult:
    mine = set(public_keys(ws.keyring))
    _ = ws.reader.identities  # loaded once, before the threads share the reader
    if progress is not None:
        progress.start(len(case_ids))
    outcomes = parallel(lambda case_id: _one(ws, case_id, mine, examine), case_ids, jobs,
                        (lambda _id: progress.tick()) if progress is not None else None)
    result = SearchResult()
    for case_id, outcome in zip(case_ids, outcomes, strict=True):
        if isinstance(outcome, Hit):
            result.hits.append(outcome)
        elif isinstance(outcome, Problem):
            result.failed.append(outcome)
        elif outcome == "unreadable":
            result.not_readable.append(case_id)
        if not isinstance(outcome, (Problem, str)):
            result.searched += 1
    return result


def _one(ws: Workspace, case_id: str, mine: set[str], examine: Examine) -> _Outcome:
    try:
        text = ws.store.read(case_id)
        if not mine & set(sops_recipients.recipients_of(text)):
            return "unreadable"
        return examine(decrypt_case(ws, case_id, text, full_schema=False))
    except AccessDenied:
        return "unreadable"
    except EnvironmentProblem:
        raise  # sops missing is no finding about a case: the whole search stops, exit 4
    except (CocflowError, UnicodeDecodeError) as exc:
        code = "integrity" if isinstance(exc, IntegrityError) else "unreadable"
        message = str(exc) if isinstance(exc, CocflowError) else "not UTF-8 text"
        return Problem(case_file(case_id), case_id, code, message)


def _hit(document: dict[str, Any], fields: list[str], excerpts: list[str]) -> Hit | None:
    if not fields:
        return None
    meta = document["meta"]
    return Hit(meta["id"], meta["status"], meta["received_at"], meta["respond_by"],
               meta.get("closed_at"), tuple(fields), tuple(excerpts))
