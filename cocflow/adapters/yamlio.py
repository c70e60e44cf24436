"""YAML in and out: safe loading with no timestamp magic, limits for untrusted input."""

from __future__ import annotations

import re
import secrets
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

from cocflow.errors import InvalidInput

MAX_INPUT_BYTES = 1_000_000
MAX_DEPTH = 32


class _Loader(_BaseLoader):
    """Safe loader that keeps timestamps as strings (sops drops their quotes)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.copy().items()
}


class _Dumper(_BaseDumper):
    """Block style, key order kept, unicode as is."""


def load(text: str) -> Any:
    """Load YAML written by cocflow or sops (trusted shape, still safe)."""
    return yaml.load(text, Loader=_Loader)


def load_untrusted(data: bytes | str, what: str = "input",
                   max_bytes: int = MAX_INPUT_BYTES) -> Any:
    """Load YAML from a person or another tool: size, depth and alias limits, UTF-8 only."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            raise InvalidInput(f"{what} is larger than {max_bytes} bytes")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what} is not valid UTF-8") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{what} is larger than {max_bytes} characters")
    try:
        skeleton, tokens = _without_ciphertext(data)
        if _plainly_shallow(skeleton):
            return _put_back(load(skeleton), tokens)
        _refuse_aliases_and_depth(data, what)
        return load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(f"{what} is not valid YAML{where}") from None


# One value as sops writes it. It holds no blank, no line break and no YAML indicator that
# matters outside a flow collection, so in a document without flow collections it is a plain
# scalar (or part of one): putting a placeholder in its stead changes no structure.
SOPS_VALUE = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]*,tag:[A-Za-z0-9+/=]*,type:[a-z]*\]")
# Breaks YAML counts as line breaks besides \n: a document with one is scanned the slow way.
OTHER_LINE_BREAKS = re.compile("[\r\x85\u2028\u2029]")
MARK = "\ue000"


def _without_ciphertext(text: str) -> tuple[str, dict[str, str]]:
    """The text with each sops value replaced by a placeholder, and the values by placeholder.

    The parser then reads a few hundred bytes of structure instead of kilobytes of base64.
    Placeholders carry a random nonce, so no text in the document can stand for one.
    """
    if "ENC[" not in text or MARK in text:
        return text, {}
    nonce = secrets.token_hex(8)
    tokens: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        key = f"{MARK}{nonce}.{len(tokens)}{MARK}"
        tokens[key] = match.group(0)
        return key

    return SOPS_VALUE.sub(placeholder, text), tokens


def _put_back(value: Any, tokens: dict[str, str]) -> Any:
    """The loaded tree with every placeholder turned back into its sops value."""
    if not tokens:
        return value
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: tokens.get(m.group(0), m.group(0)), value) \
            if MARK in value else value
    if isinstance(value, dict):
        return {_put_back(key, tokens): _put_back(sub, tokens) for key, sub in value.items()}
    if isinstance(value, list):
        return [_put_back(sub, tokens) for sub in value]
    return value


_PLACEHOLDER = re.compile(f"{MARK}[0-9a-f]{{16}}\\.[0-9]+{MARK}")
# A line that starts with `- ` or `? ` markers (each one more level), after its indentation.
_MARKED_LINE = re.compile(r"(?m)^( *)((?:[-?] +)+)")


def _plainly_shallow(text: str) -> bool:
    """True when the text can hold no anchor, alias or flow collection and its block nesting
    (indentation plus inline `- ` markers) stays under MAX_DEPTH: no event scan needed.

    Keyless commands read thousands of small meta blocks; this skips a second parse of each.
    """
    bare = text.replace("[]", "").replace("{}", "")  # empty flow collections nest nothing
    if any(marker in bare for marker in "&*[{!"):
        return False
    if OTHER_LINE_BREAKS.search(text):
        return _shallow_lines(text)
    if re.search(f"(?m)^ {{{MAX_DEPTH}}}", text):
        return False
    return all(len(m.group(1)) + 2 * len(re.findall(r"[-?] +", m.group(2))) < MAX_DEPTH
               for m in _MARKED_LINE.finditer(text))


def _shallow_lines(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        depth = len(line) - len(stripped)
        while stripped.startswith(("- ", "? ")):
            depth, stripped = depth + 2, stripped[2:].lstrip(" ")
        if depth >= MAX_DEPTH:
            return False
    return True


def _refuse_aliases_and_depth(text: str, what: str) -> None:
    # Aliases are how "billion laughs" documents explode; case data never needs them.
    if _plainly_shallow(text):
        return
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise InvalidInput(f"{what} uses YAML anchors or aliases; cocflow does not accept them")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidInput(f"{what} is nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def dump(value: Any) -> str:
    """Dump a document in block style, keys in the order given."""
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )
