"""YAML in and out: safe loading with no timestamp magic, limits for untrusted input."""

from __future__ import annotations

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
    """Block style, key order kept, unicode as is; text of several lines as a `|` block."""


def _text(dumper: Any, value: str) -> Any:
    # A description shown as `|` keeps its line breaks as typed; PyYAML falls back to a quoted
    # style by itself when a block cannot hold the value exactly (trailing spaces, tabs...).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


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
        _refuse_aliases_and_depth(data, what)
        return load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(f"{what} is not valid YAML{where}") from None


def _plainly_shallow(text: str) -> bool:
    """True when the text can hold no anchor, alias or flow collection and its block nesting
    (indentation plus inline `- ` markers) stays under MAX_DEPTH: no event scan needed.

    Keyless commands read thousands of small meta blocks; this skips a second parse of each.
    """
    bare = text.replace("[]", "").replace("{}", "")  # empty flow collections nest nothing
    if any(marker in bare for marker in "&*[{!"):
        return False
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
