"""The schema is the single source of every enum; the code's vocabularies must equal it."""

from __future__ import annotations

from typing import Any

import pytest

from cocflow.adapters.schema import load_schema
from cocflow.domain import case, lifecycle, transparency


def enum(path: str) -> list[Any]:
    node: Any = load_schema("case")
    for part in path.split("/"):
        node = node[int(part)] if part.isdigit() else node[part]
    return list(node["enum"])


@pytest.mark.parametrize(("path", "vocabulary"), [
    ("$defs/status", lifecycle.STATES),
    ("$defs/outcome", lifecycle.OUTCOMES),
    ("$defs/dismissal_reason", lifecycle.DISMISSAL_REASONS),
    ("$defs/recusal_reason", lifecycle.RECUSAL_REASONS),
    ("$defs/category", transparency.CATEGORIES),
    ("$defs/report/properties/space/oneOf/1", transparency.SPACES),
    ("$defs/report/properties/channel", case.CHANNELS),
])
def test_the_code_uses_exactly_the_schema_vocabulary(path: str, vocabulary: tuple[str, ...]):
    assert list(vocabulary) == enum(path)


def test_every_event_the_code_records_is_a_schema_event_kind():
    recorded = {*lifecycle.NOTE_EVENTS, *lifecycle.MOVE_EVENTS.values(), "recused", "attached",
                "voided"}
    assert recorded <= set(enum("$defs/event_kind"))


def test_the_meta_keys_written_are_the_schema_meta_keys_in_order():
    assert list(case.META_KEYS) == list(load_schema("case")["$defs"]["meta"]["properties"])
