"""The one-pass loader of untrusted YAML builds exactly what PyYAML's safe loader builds."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cocflow.adapters import yamlio
from cocflow.errors import InvalidInput

# Plain scalars PyYAML resolves to something other than a string, and near misses.
TRICKY = ["1", "-1", "+1", "0x1F", "0o17", "017", "1_000", "1:30", "1.5", ".5", "1e3", "1.0e+3",
          ".inf", "-.Inf", ".nan", "~", "null", "Null", "NULL", "yes", "No", "on", "OFF", "true",
          "False", "y", "n", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "=", "<<", "",
          "ENC[AES256_GCM,data:AA==,iv:BB==,tag:CC==,type:str]", "a: b", "- x", "#c", "'q'",
          "multi\nline", "tab\tbed", "ünïcödé", "é:", "?", "|", ">", "@x", "`x", "%x"]
keys = st.one_of(st.sampled_from(TRICKY), st.text(max_size=6), st.integers(-5, 5),
                 st.booleans(), st.none())
scalars = st.one_of(st.sampled_from(TRICKY), st.text(max_size=10), st.integers(),
                    st.floats(allow_nan=False), st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


def both(text: str) -> tuple[str, str]:
    """What each loader built, as repr: types told apart (1, 1.0, True), NaN equal to NaN."""
    return repr(yamlio.load_untrusted(text, "test")), repr(yaml.load(text, Loader=yamlio._Loader))


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([None, True, False]), st.sampled_from([None, '"', "'", "|"]))
def test_dumped_documents_load_the_same(value: Any, flow: bool | None, style: str | None) -> None:
    text = yaml.dump(value, default_flow_style=flow, default_style=style, allow_unicode=True)
    built, reference = both(text)
    assert built == reference


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*TRICKY, "k", "v", ":", " ", "\n", "  ", "- ", "[", "]", "{",
                                  "}", ",", '"', "'"]), max_size=12))
def test_hand_typed_fragments_load_the_same_or_fail_the_same(parts: list[str]) -> None:
    text = "".join(parts)
    try:
        reference = yaml.load(text, Loader=yamlio._Loader)
    except yaml.YAMLError:
        with pytest.raises(InvalidInput):
            yamlio.load_untrusted(text, "test")
        return
    assert repr(yamlio.load_untrusted(text, "test")) == repr(reference)


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n", "<<: {a: 1}\nb: 2\n", "a: !!str 1\n", "a: !!binary aGk=\n",
    "--- 1\n", "", "# only a comment\n", "- [a, {b: c}]\n", "a:\n  - 1\n  - x: y\n",
])
def test_documents_left_to_pyyaml_load_the_same(text: str) -> None:
    built, reference = both(text)
    assert built == reference


@pytest.mark.parametrize("text", ["x: &a 1\ny: *a\n", "&a [1]\n", "- *b\n"])
def test_anchors_and_aliases_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"anchors or aliases|not valid YAML"):
        yamlio.load_untrusted(text, "test")


def test_nesting_is_limited_to_the_maximum_depth() -> None:
    deep = "[" * yamlio.MAX_DEPTH + "]" * yamlio.MAX_DEPTH
    assert yamlio.load_untrusted(deep, "test") is not None
    with pytest.raises(InvalidInput, match="nested deeper"):
        yamlio.load_untrusted("[" + deep + "]", "test")


def test_a_mapping_as_a_key_is_refused_as_pyyaml_refuses_it() -> None:
    with pytest.raises(InvalidInput, match="not valid YAML"):
        yamlio.load_untrusted("? {a: 1}\n: 2\n", "test")
