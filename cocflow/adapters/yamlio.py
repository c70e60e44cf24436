"""YAML in and out: safe loading with no timestamp magic, limits for untrusted input."""

from __future__ import annotations

from functools import cache
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
    """Load YAML from a person or another tool: size, depth and alias limits, UTF-8 only.

    One pass over the parser's events both enforces the limits and builds the value, exactly
    as PyYAML's safe loader would (`_Builder`); the rare document it does not build itself
    (explicit tags, merge keys, a mapping as a key, several documents) is checked and loaded
    the slow way.
    """
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
        built = _Builder(what).build(yaml.parse(data, Loader=_Loader))
        if built is not _UNUSUAL:
            return built
        _refuse_aliases_and_depth(data, what)
        return load(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(f"{what} is not valid YAML{where}") from None


# What the builder returns for a document it leaves to PyYAML's own constructor.
_UNUSUAL = object()


_STR = "tag:yaml.org,2002:str"
_CONSTRUCTORS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                 "tag:yaml.org,2002:float"}


class _Builder:
    """PyYAML's composer and safe constructor in one pass over parser events, for documents
    without tags, anchors or merge keys: scalars resolved by the loader's own implicit
    resolvers and built by its own constructors, later duplicate keys winning."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.loader = _resolver()
        # First characters that may make a plain scalar something other than a string (the
        # resolver's own table); none at all when it has catch-all or path resolvers.
        table = self.loader.yaml_implicit_resolvers
        self.typed_starts = None if None in table or self.loader.yaml_path_resolvers \
            else frozenset(table)

    def build(self, events: Any) -> Any:
        stack: list[list[Any]] = []  # [container, pending key or _NO_KEY]
        root: Any = None
        documents = 0
        for event in events:
            kind = type(event)
            if kind is yaml.ScalarEvent:
                self._refuse_anchor(event)
                value = self._scalar(event)
                if value is _UNUSUAL:
                    return _UNUSUAL
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self._refuse_anchor(event)
                if event.tag is not None and event.tag != "!":
                    return _UNUSUAL
                if len(stack) >= MAX_DEPTH:
                    raise InvalidInput(f"{self.what} is nested deeper than {MAX_DEPTH} levels")
                stack.append([{} if kind is yaml.MappingStartEvent else [], _NO_KEY])
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                value = stack.pop()[0]
            elif kind is yaml.AliasEvent:
                raise InvalidInput(f"{self.what} uses YAML anchors or aliases; cocflow does not "
                                   "accept them")
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    return _UNUSUAL
                continue
            else:
                continue
            if not stack:
                root = value
                continue
            top = stack[-1]
            if isinstance(top[0], list):
                top[0].append(value)
            elif top[1] is _NO_KEY:
                if isinstance(value, (dict, list)):
                    return _UNUSUAL  # PyYAML refuses an unhashable key: let it say so
                top[1] = value
            else:
                top[0][top[1]] = value
                top[1] = _NO_KEY
        return root

    def _refuse_anchor(self, event: Any) -> None:
        if event.anchor is not None:
            raise InvalidInput(f"{self.what} uses YAML anchors or aliases; cocflow does not "
                               "accept them")

    def _scalar(self, event: Any) -> Any:
        if event.tag is not None and event.tag != "!":
            return _UNUSUAL
        value = event.value
        if self.typed_starts is not None and (not event.implicit[0] or (
                value and value[0] not in self.typed_starts)):
            return value  # quoted or block text, or a plain scalar no resolver claims
        tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR:
            return event.value
        if tag not in _CONSTRUCTORS:
            return _UNUSUAL  # a merge key `<<`, `=`: PyYAML's own handling
        # The constructor itself, not construct_object: that one remembers every node.
        return self.loader.yaml_constructors[tag](self.loader, yaml.ScalarNode(tag, event.value))


_NO_KEY = object()


@cache
def _resolver() -> Any:
    """One loader kept for its resolver and scalar constructors (both stateless for
    scalars)."""
    return _Loader("")


def _refuse_aliases_and_depth(text: str, what: str) -> None:
    # Aliases are how "billion laughs" documents explode; case data never needs them.
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
