"""Three-way merge of decrypted cases: pure data in, pure data out, no I/O.

Concurrent edits merge the way git-bug merges operations, not by diffing text:

- the timeline, the recusal records and the recused handles are sets that merge by union
  (a recusal on either side wins; the timeline stays ordered by time, duplicates dropped);
- evidence records merge by union, keyed by their number;
- the state of a case (status, decisions, dismissal, with closed_at) is one value: a side that
  moved the case wins over a side that only added notes; two different moves conflict;
- the revision is the higher of the two (the write that seals the merge adds one);
- responded_at is the first response: the earlier of the two;
- report categories and the readers (the keys the case is encrypted to) merge as sets: a
  reader removed on either side stays removed, one shared on either side stays;
- report categories merge as a set; every other field is a scalar taken from the side that
  changed it; both sides changing it differently is a conflict, unless the caller prefers a
  side for conflicts.

Conflicts name field paths only (`report.title`), never values.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Side = Literal["ours", "theirs"]
SIDES: tuple[Side, ...] = ("ours", "theirs")
SET_FIELDS = frozenset({"report.categories"})
UNION_FIELDS = ("recusals", "timeline")
STATE_FIELDS = ("decisions", "dismissal")
HANDLED = frozenset({"meta", "report", "evidence", "readers", *UNION_FIELDS, *STATE_FIELDS})
_MISSING: Any = object()


@dataclass(frozen=True)
class MergeResult:
    """The merged case, and what could not be merged (or was settled by preference)."""

    document: dict[str, Any]
    conflicts: tuple[str, ...] = ()
    preferred: tuple[str, ...] = ()
    opened_twice: bool = False

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.opened_twice


@dataclass
class _Merger:
    prefer: Side | None
    conflicts: list[str] = field(default_factory=list)
    preferred: list[str] = field(default_factory=list)

    def pick(self, path: str, base: Any, ours: Any, theirs: Any) -> Any:
        """A scalar: the side that changed it, or a conflict when both changed it differently."""
        if ours == theirs or theirs == base:
            return ours
        if ours == base:
            return theirs
        return self.settle(path, ours, theirs)

    def settle(self, path: str, ours: Any, theirs: Any) -> Any:
        """Both sides changed `path` differently: the preferred side, else a conflict."""
        if self.prefer is None:
            self.conflicts.append(path)
            return ours
        self.preferred.append(path)
        return ours if self.prefer == "ours" else theirs

    def mapping(self, path: str, base: Any, ours: Any, theirs: Any) -> Any:
        """Merge mappings key by key; anything else is a scalar."""
        if not all(isinstance(v, dict) for v in (ours, theirs)):
            return self.pick(path, base, ours, theirs)
        base = base if isinstance(base, dict) else {}
        merged: dict[str, Any] = {}
        for key in _ordered_keys(ours, theirs):
            where = f"{path}.{key}" if path else key
            value = self.value(where, base.get(key, _MISSING), ours.get(key, _MISSING),
                               theirs.get(key, _MISSING))
            if value is not _MISSING:
                merged[key] = value
        return merged

    def value(self, path: str, base: Any, ours: Any, theirs: Any) -> Any:
        if path in SET_FIELDS and all(isinstance(v, list) for v in (ours, theirs)):
            return merge_set(base if isinstance(base, list) else [], ours, theirs)
        return self.mapping(path, base, ours, theirs)


def merge_cases(base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any],
                prefer: Side | None = None) -> MergeResult:
    """Merge two versions of one case that share `base` (None: both sides created it)."""
    if prefer is not None and prefer not in SIDES:
        raise ValueError(f"prefer must be one of {SIDES}")
    if base is None:
        # Two different reports that drew the same id: never blend them into one case.
        if ours == theirs:
            return MergeResult(copy.deepcopy(ours))
        return MergeResult(copy.deepcopy(ours), opened_twice=True)
    merger = _Merger(prefer)
    state = _merge_state(merger, base, ours, theirs)
    document: dict[str, Any] = {
        "meta": _merge_meta(merger, base["meta"], ours["meta"], theirs["meta"], state),
        "report": merger.mapping("report", base.get("report"), ours.get("report"),
                                 theirs.get("report")),
    }
    for name in UNION_FIELDS:
        document[name] = union_by_time(base.get(name), ours.get(name), theirs.get(name))
    document["decisions"], document["dismissal"] = state.decisions, state.dismissal
    if any("evidence" in doc for doc in (base, ours, theirs)):
        document["evidence"] = _merge_evidence(merger, base.get("evidence"),
                                               ours.get("evidence"), theirs.get("evidence"))
    if isinstance(ours.get("readers"), list) and isinstance(theirs.get("readers"), list):
        # A reader removed on either side stays removed; one shared on either side stays.
        document["readers"] = merge_set(base.get("readers") or [], ours["readers"],
                                        theirs["readers"])
    for key in _ordered_keys(ours, theirs):
        if key not in HANDLED:
            value = merger.pick(key, base.get(key, _MISSING), ours.get(key, _MISSING),
                                theirs.get(key, _MISSING))
            if value is not _MISSING:
                document[key] = value
    return MergeResult(document, tuple(merger.conflicts), tuple(merger.preferred))


@dataclass(frozen=True)
class _State:
    status: str
    decisions: Any
    dismissal: Any
    closed_at: str | None


def _state_of(document: dict[str, Any]) -> tuple[str, Any, Any]:
    return (document["meta"].get("status"), document.get("decisions"),
            document.get("dismissal"))


def _merge_state(merger: _Merger, base: dict[str, Any], ours: dict[str, Any],
                 theirs: dict[str, Any]) -> _State:
    """Status, decisions and dismissal move together: a move on one side wins over none."""
    b, o, t = _state_of(base), _state_of(ours), _state_of(theirs)
    closed = [ours["meta"].get("closed_at"), theirs["meta"].get("closed_at")]
    if o == t:  # the same move on both sides (or none): keep the earlier closing time
        return _State(*o, closed_at=_earliest(closed))
    if o == b:
        return _State(*t, closed_at=closed[1])
    if t == b:
        return _State(*o, closed_at=closed[0])
    differing = [name for name, x, y in zip(("meta.status", *STATE_FIELDS), o, t, strict=True)
                 if x != y]
    if merger.prefer is None:
        merger.conflicts.extend(differing)
        return _State(*o, closed_at=closed[0])
    merger.preferred.extend(differing)  # the whole state from one side, never a mixture
    index = SIDES.index(merger.prefer)
    return _State(*(o, t)[index], closed_at=closed[index])


def _merge_meta(merger: _Merger, base: dict[str, Any], ours: dict[str, Any],
                theirs: dict[str, Any], state: _State) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in _ordered_keys(ours, theirs):
        if key == "status":
            merged[key] = state.status
        elif key == "closed_at":
            merged[key] = state.closed_at
        elif key == "responded_at":
            merged[key] = _earliest([ours.get(key), theirs.get(key)])
        elif key in ("revision", "format"):  # each side counted its own writes
            merged[key] = max(value for value in (ours.get(key), theirs.get(key), 0)
                              if isinstance(value, int))
        elif key == "recused":
            merged[key] = _union([base.get(key), ours.get(key), theirs.get(key)])
        else:
            merged[key] = merger.pick(f"meta.{key}", base.get(key), ours.get(key),
                                      theirs.get(key))
    return merged


def _merge_evidence(merger: _Merger, base: Any, ours: Any, theirs: Any) -> list[Any]:
    """Evidence records by number: a union; one number with two different records conflicts."""
    by_number: dict[Any, Any] = {}
    for record in _union([base, ours]):
        by_number[_number(record)] = record
    for record in theirs or []:
        number = _number(record)
        if number in by_number and by_number[number] != record:
            by_number[number] = merger.settle(f"evidence.{number}", by_number[number], record)
        else:
            by_number.setdefault(number, record)
    return sorted(by_number.values(), key=lambda r: (_number(r) is not None, _number(r) or 0))


def union_by_time(base: Any, ours: Any, theirs: Any) -> list[Any]:
    """Base, then what each side added; duplicates dropped; stably ordered by `at`."""
    return sorted(_union([base, ours, theirs]), key=lambda item: str(_at(item) or ""))


def merge_set(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    """A set merge: kept unless one side removed it, added when either side added it."""
    kept = [item for item in ours if item in theirs or item not in base]
    added = [item for item in theirs if item not in ours and item not in base]
    return kept + added


def _union(lists: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    merged = []
    for items in lists:
        for item in items or []:
            identity = _identity(item)
            if identity not in seen:
                seen.add(identity)
                merged.append(copy.deepcopy(item))
    return merged


def _identity(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _at(item: Any) -> Any:
    return item.get("at") if isinstance(item, dict) else None


def _number(item: Any) -> Any:
    return item.get("number") if isinstance(item, dict) else None


def _earliest(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _ordered_keys(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    return [*ours, *(k for k in theirs if k not in ours)]
