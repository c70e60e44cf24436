"""The compiled schema checks give jsonschema's verdict, on valid and invalid documents alike."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocflow.adapters import schema
from cocflow.adapters.schema_compiled import compile_schema

VALID_META: dict[str, Any] = {
    "format": 2, "id": "2026-0001", "revision": 3, "status": "received",
    "received_at": "2026-11-25T12:00:00Z", "respond_by": "2026-12-09T12:00:00Z",
    "responded_at": None, "closed_at": "2026-12-01T08:00:00Z", "recused": ["bob"],
    "recused_keys": ["SHA256:0123456789abcdef"], "triage": False,
}
VALID_META1: dict[str, Any] = {
    "schema": 1, "id": "2025-0042", "status": "closed", "received_at": "2025-01-02T03:04:05Z",
    "respond_by": "2025-01-16T03:04:05Z", "responded_at": None, "closed_at": None,
    "recused": [],
}
# Values near the edges of the schema: types jsonschema tells apart, texts near each pattern.
EDGE_VALUES = [
    None, True, False, 0, 1, 2, -1, 2.0, 1.5, float("nan"), float("inf"), "", "2", "bob",
    "Bob", "a" * 40, "a" * 39, "2026-0001", "2026-0001\n", "x2026-0001", "26-0001",
    "2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z\n", "2026-11-25 12:00:00Z", "received",
    "RECEIVED", "SHA256:0123456789abcdef", "SHA256:0123456789ABCDEF", [], ["bob"],
    ["bob", "bob"], ["bob", "carol"], [1, True], [1, 1.0], [["a"], ["a"]], {}, {"a": 1},
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(EDGE_VALUES[:-5]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)


def agree(name: str, document: Any, definition: str | None) -> None:
    assert schema.is_valid(name, document, definition) == (
        not schema.problems(name, document, definition)), document


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A valid document with a few keys replaced, dropped or added."""
    document = dict(base)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        key = draw(st.sampled_from(sorted(document, key=str) or ["id"]))
        if action == "replace":
            document[key] = draw(st.one_of(st.sampled_from(EDGE_VALUES), values))
        elif action == "drop":
            document.pop(key, None)
        else:
            document[draw(st.one_of(st.text(max_size=6), st.integers(0, 2)))] = draw(values)
    return document


SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated(VALID_META))
def test_format_2_meta_verdicts_agree(document: dict[str, Any]) -> None:
    agree("case", document, "meta")


@SETTINGS
@given(mutated(VALID_META1))
def test_format_1_meta_verdicts_agree(document: dict[str, Any]) -> None:
    agree("case", document, "meta1")


@SETTINGS
@given(values)
def test_any_value_gets_the_same_verdict_for_every_schema(document: Any) -> None:
    for name, definition in (("case", "meta"), ("case", "meta1"), ("team", None),
                             ("config", None)):
        agree(name, document, definition)


@pytest.mark.parametrize(("field", "value", "valid"), [
    ("format", 2.0, True), ("format", True, False), ("revision", 1.0, True),
    ("revision", False, False), ("revision", -1, False), ("recused", ["bob", "bob"], False),
    ("id", "2026-0001\n", True), ("closed_at", "2026-11-25", False), ("triage", 0, False),
])
def test_known_edges_match_jsonschema(field: str, value: Any, valid: bool) -> None:
    document = {**VALID_META, field: value}
    assert schema.is_valid("case", document, "meta") is valid
    agree("case", document, "meta")


def test_the_valid_samples_are_valid() -> None:
    assert schema.is_valid("case", VALID_META, "meta")
    assert schema.is_valid("case", VALID_META1, "meta1")
    assert not schema.problems("case", VALID_META, "meta")


def test_an_unknown_keyword_is_refused_when_compiled() -> None:
    with pytest.raises(NotImplementedError):
        compile_schema({}, {"type": "string", "format": "email"})


pieces = st.sampled_from(["ENC[", "AES256_GCM", ",", "data:", "iv:", "tag:", "type:", "str",
                          "bytes", "blob", "]", "QUJD", "=", "==", "A", "+/", " ", "\n", ":",
                          "é", "[", "ENC[AES256_GCM,data:"])


@settings(max_examples=500, deadline=None)
@given(st.lists(pieces, max_size=14).map("".join))
def test_the_fast_ciphertext_test_agrees_with_the_pattern(text: str) -> None:
    from cocflow.domain.case import CIPHERTEXT, is_ciphertext

    assert is_ciphertext(text) == (CIPHERTEXT.fullmatch(text) is not None)


@pytest.mark.parametrize("text", [
    "ENC[AES256_GCM,data:QUJD,iv:QQ==,tag:QQ==,type:str]",
    "ENC[AES256_GCM,data:,iv:QQ==,tag:QQ==,type:str]",
    "ENC[AES256_GCM,data:A=B,iv:Q,tag:=,type:bytes]",
    "ENC[AES256_GCM,data:QUJD,iv:,tag:QQ==,type:str]",
    "ENC[AES256_GCM,data:QU JD,iv:QQ==,tag:QQ==,type:str]",
    "ENC[AES256_GCM,data:QUJD,iv:QQ==,tag:QQ==,type:str]\n",
    "ENC[AES256_GCM,data:QUJD,iv:QQ==,tag:QQ==,type:blob]",
])
def test_ciphertext_edges_agree_with_the_pattern(text: str) -> None:
    from cocflow.domain.case import CIPHERTEXT, is_ciphertext

    assert is_ciphertext(text) == (CIPHERTEXT.fullmatch(text) is not None)
