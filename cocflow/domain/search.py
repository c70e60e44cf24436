"""Finding what a case says about a person or a phrase: pure, no I/O.

Matching is case-insensitive and accent-insensitive: both sides are folded (Unicode NFKD,
combining marks dropped, casefolded, runs of white space made one space), so "Zoe" finds
"Zoë" and "ZOË", and "jose  garcia" finds "José García".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

EXCERPT_CONTEXT = 40  # characters shown either side of a match with --show


def fold(text: str) -> str:
    """The form two texts are compared in (see the module docstring)."""
    return _folded(text)[0]


def _folded(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the original one."""
    pieces: list[str] = []
    origin: list[int] = []
    space = True  # leading white space is dropped
    for index, char in enumerate(text):
        if char.isspace():
            if not space:
                pieces.append(" ")
                origin.append(index)
            space = True
            continue
        space = False
        for part in unicodedata.normalize("NFKD", char.casefold()):
            if not unicodedata.combining(part):
                pieces.append(part)
                origin.append(index)
    if pieces and pieces[-1] == " ":
        pieces.pop()
        origin.pop()
    return "".join(pieces), origin


def searched_fields(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, text) of every place a case can name a person or say what happened."""
    report = document.get("report") or {}
    yield from _texts("title", report.get("title"))
    reporter = report.get("reporter") or {}
    if isinstance(reporter, dict):
        yield from _texts("reporter.name", reporter.get("name"))
        yield from _texts("reporter.contact", reporter.get("contact"))
    for person in _mappings(report.get("reported")):
        yield from _texts("reported.name", person.get("name"))
        yield from _texts("reported.contact", person.get("contact"))
        yield from _texts("reported.team_handle", person.get("team_handle"))
    for person in _mappings(report.get("witnesses")):
        yield from _texts("witnesses.name", person.get("name"))
        yield from _texts("witnesses.contact", person.get("contact"))
    yield from _texts("description", report.get("description"))
    for item in _mappings(document.get("timeline")):
        yield from _texts("timeline.note", item.get("note"))


def matches(document: dict[str, Any], query: str) -> list[tuple[str, str]]:
    """(field, excerpt) of each field that mentions `query`, in field order; one per field,
    the excerpt around its first mention."""
    wanted = fold(query)
    if not wanted:
        return []
    found: dict[str, str] = {}
    for field, text in searched_fields(document):
        if field in found:
            continue
        folded, origin = _folded(text)
        at = folded.find(wanted)
        if at >= 0:
            found[field] = _excerpt(text, origin[at], origin[at + len(wanted) - 1] + 1)
    return list(found.items())


def people_of(document: dict[str, Any]) -> set[str]:
    """The folded names, contacts and handles of a case's reported people."""
    found = set()
    for person in _mappings((document.get("report") or {}).get("reported")):
        for key in ("name", "contact", "team_handle"):
            value = person.get(key)
            if isinstance(value, str) and fold(value):
                found.add(fold(value))
    return found


def _excerpt(text: str, start: int, end: int) -> str:
    left, right = max(0, start - EXCERPT_CONTEXT), min(len(text), end + EXCERPT_CONTEXT)
    middle = " ".join(text[left:right].split())
    return f"{'…' if left else ''}{middle}{'…' if right < len(text) else ''}"


def _texts(field: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and value:
        yield field, value


def _mappings(value: Any) -> Iterator[dict[str, Any]]:
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            yield item
