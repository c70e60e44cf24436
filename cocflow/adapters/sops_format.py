"""The sops file format as sops 3.11 reads it, for the in-process reader (sops_reader.py).

Turns the text of a sops YAML or JSON document into a tree of dicts, lists and Go-typed leaves
(str, int, float, bool, None) exactly as sops' stores do, and its `sops` block into Metadata.
Whatever is not certain to read the same way (YAML comments, anchors, tags, directives, plain
scalars go-yaml might type differently, repeated keys, metadata of other key types or a newer
sops) raises NotHandled: the sops binary decides those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from cocflow.errors import NotHandled

MAX_DEPTH = 64
INT64 = 2**63
NEWEST_MINOR = 11  # files written by a newer sops 3.x go to the binary

# Plain YAML scalars as go-yaml v3 resolves them (resolve.go) when sops decodes into interface{}.
_YAML_TRUE, _YAML_FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}
_YAML_NULL = {"", "~", "null", "Null", "NULL"}
_YAML_SPECIAL_FLOATS = {f"{sign}.{word}" for sign in ("", "+", "-")
                        for word in ("inf", "Inf", "INF", "nan", "NaN", "NAN")}
_YAML_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_YAML_OCTAL = re.compile(r"[-+]?0[0-9]+")
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_YAML_TIMESTAMP_START = re.compile(r"[0-9]{4}-")
_YAML_NUMBER_CHARS = frozenset("0123456789abcdefABCDEFxXoObB+-")
_YAML_DOT_NUMBER_CHARS = frozenset("0123456789.eE+-_infaINFA")

_LASTMODIFIED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:[0-5]\d:[0-5]\dZ")
# Semantic versions as sops parses them: no leading zeros ("3.11.00" is refused by sops).
_VERSION = re.compile(r"3\.(0|[1-9]\d{0,3})\.(?:0|[1-9]\d{0,3})")
_LITERAL_REGEX = re.compile(r"(\^?)([A-Za-z0-9_-]*)(\$?)")
_OTHER_KEY_TYPES = ("kms", "gcp_kms", "azure_kv", "hc_vault", "pgp", "key_groups",
                    "shamir_threshold")
_RULES = ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex")
_COMMENT_RULES = ("unencrypted_comment_regex", "encrypted_comment_regex")
_METADATA_KEYS = frozenset({*_OTHER_KEY_TYPES, *_RULES, *_COMMENT_RULES, "age", "lastmodified",
                            "mac", "mac_only_encrypted", "version"})


def finite(value: float) -> float:
    """The float itself; NotHandled for NaN and infinities, which sops' JSON cannot carry."""
    if value != value or value in (float("inf"), float("-inf")):
        raise NotHandled("a float that JSON cannot carry")
    return value


def go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'f', -1, 64): Go's shortest round-trip digits, no exponent."""
    return format(Decimal(repr(value)).normalize(), "f")


def utf8(text: str) -> bytes:
    """The UTF-8 bytes; NotHandled for a lone surrogate, which Go would have replaced."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NotHandled("a string that is not valid Unicode") from None


# --- the sops block -------------------------------------------------------------------------


@dataclass(frozen=True)
class Metadata:
    """The `sops` block, accepted only in the shapes sops 3.11 writes and reads the same way."""

    age: tuple[str, ...]  # the armored `enc` of each age entry, in file order
    lastmodified: str
    mac: str
    encrypt_matching: bool  # True: values under a matching key are encrypted, else left plain
    matches: Callable[[str], bool]
    mac_only_encrypted: bool

    @classmethod
    def parse(cls, block: Any) -> Metadata:
        """stores Metadata.ToInternal, or NotHandled for anything outside what it implements."""
        if not isinstance(block, dict) or not block.keys() <= _METADATA_KEYS:
            raise NotHandled("no sops metadata, or metadata this reader does not know")
        if any(block.get(name) not in (None, []) for name in _OTHER_KEY_TYPES):
            raise NotHandled("key types other than age, or key groups")
        if any(block.get(name) not in (None, "") for name in _COMMENT_RULES):
            raise NotHandled("comment encryption rules")
        version = block.get("version")
        found = _VERSION.fullmatch(version) if isinstance(version, str) else None
        if found is None or int(found.group(1)) > NEWEST_MINOR:
            raise NotHandled("a sops version this reader does not implement")
        lastmodified, mac = block.get("lastmodified"), block.get("mac")
        if not isinstance(lastmodified, str) or not _is_rfc3339_utc(lastmodified):
            raise NotHandled("a lastmodified sops would rewrite before using it")
        if mac is not None and not isinstance(mac, str):
            raise NotHandled("a MAC that is not a string")
        only_encrypted = block.get("mac_only_encrypted")
        if only_encrypted not in (None, True, False):
            raise NotHandled("mac_only_encrypted that is not a boolean")
        encrypt_matching, matches = _encryption_rule(block)
        return cls(_age_entries(block.get("age")), lastmodified, mac or "", encrypt_matching,
                   matches, bool(only_encrypted))


def _is_rfc3339_utc(text: str) -> bool:
    # Only the form time.Format(time.RFC3339) gives back unchanged: it is the MAC's additional
    # data, and sops re-formats what it parsed (a fraction or an offset would change it).
    if not _LASTMODIFIED.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


def _age_entries(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list) or not entries:
        raise NotHandled("no age recipients")
    found = []
    for entry in entries:
        if (not isinstance(entry, dict) or entry.keys() != {"recipient", "enc"}
                or not all(isinstance(v, str) for v in entry.values())):
            raise NotHandled("an age entry in an unusual shape")
        found.append(entry["enc"])
    return tuple(found)


def _encryption_rule(block: dict[str, Any]) -> tuple[bool, Callable[[str], bool]]:
    """sops.go shouldBeEncrypted for the one rule a file may name (stores ToInternal)."""
    named = {name: block.get(name) for name in _RULES if block.get(name) not in (None, "")}
    rules = {name: value for name, value in named.items() if isinstance(value, str)}
    if len(rules) > 1 or len(rules) != len(named):
        raise NotHandled("several encryption rules, or one that is not a string")
    name, pattern = next(iter(rules.items()), ("unencrypted_suffix", "_unencrypted"))
    encrypt_matching = name.startswith("encrypted")
    if name.endswith("suffix"):
        return encrypt_matching, lambda key: key.endswith(pattern)
    return encrypt_matching, _literal_regex(pattern)


def _literal_regex(pattern: str) -> Callable[[str], bool]:
    """Go's regexp.Match for a literal pattern, optionally anchored; anything else -> NotHandled.

    RE2's `$` matches only at the very end, unlike Python's before a final newline.
    """
    found = _LITERAL_REGEX.fullmatch(pattern)
    if found is None:
        raise NotHandled("an encryption regex that is more than an anchored literal")
    start, literal, end = found.groups()
    if start and end:
        return lambda key: key == literal
    if start:
        return lambda key: key.startswith(literal)
    if end:
        return lambda key: key.endswith(literal)
    return lambda key: literal in key


# --- the JSON store -------------------------------------------------------------------------


def json_tree(text: str) -> dict[str, Any]:
    """stores/json in sops 3.11: an object of objects, arrays and scalars, numbers as float64."""
    try:
        tree = json.loads(text, object_pairs_hook=_json_object, parse_int=_json_integer,
                          parse_float=_json_float, parse_constant=_json_constant)
    except (ValueError, RecursionError):
        raise NotHandled("JSON this reader does not parse as sops does") from None
    if not isinstance(tree, dict):
        raise NotHandled("a JSON document that is not an object")
    return tree


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise NotHandled("a repeated key")  # sops keeps both; its JSON output repeats them
    for key in found:
        utf8(key)
    return found


def _json_float(text: str) -> float:
    return finite(float(text))  # Go's ParseFloat and Python's both round correctly


def _json_integer(text: str) -> float:
    # sops 3.11 decodes every JSON number as float64; a newer sops keeps integers exact. They
    # agree (MAC bytes and output) when the float64 prints back as the same digits.
    value = _json_float(text)
    if go_float(value) != text:
        raise NotHandled("an integer a float64 does not print back the same")
    return value


def _json_constant(text: str) -> Any:
    raise NotHandled(f"{text} is not JSON")


# --- the YAML store -------------------------------------------------------------------------


def yaml_tree(text: str) -> dict[str, Any]:
    """stores/yaml in sops 3.11: one document, a mapping, scalars resolved as go-yaml v3 does.

    Built from parser events (libyaml, which go-yaml v3 ports), so nesting is bounded here and
    tags, anchors and styles are seen as written.
    """
    if "#" in text:
        raise NotHandled("YAML comments: sops decrypts and hashes some of them")
    import yaml

    events = yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        stream, document = next(events), next(events)
        if not isinstance(stream, yaml.StreamStartEvent) or not isinstance(
                document, yaml.DocumentStartEvent) or document.version or document.tags:
            raise NotHandled("an empty YAML stream, or YAML directives")
        tree = _yaml_node(events, next(events), 0)
        ends = [type(event) for event in events]
    except (yaml.YAMLError, StopIteration):
        raise NotHandled("YAML that does not parse") from None
    if ends != [yaml.DocumentEndEvent, yaml.StreamEndEvent]:
        raise NotHandled("several YAML documents")
    if not isinstance(tree, dict):
        raise NotHandled("a YAML document that is not a mapping")
    return tree


def _yaml_node(events: Iterator[Any], event: Any, depth: int) -> Any:
    import yaml

    if depth > MAX_DEPTH:
        raise NotHandled("nesting deeper than this reader follows")
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) or event.tag:
        raise NotHandled("YAML anchors, aliases or tags")
    if isinstance(event, yaml.ScalarEvent):
        return event.value if event.style else yaml_plain(event.value)
    if isinstance(event, yaml.SequenceStartEvent):
        items: list[Any] = []
        for item in events:
            if isinstance(item, yaml.SequenceEndEvent):
                return items
            items.append(_yaml_node(events, item, depth + 1))
    if isinstance(event, yaml.MappingStartEvent):
        mapping: dict[str, Any] = {}
        for item in events:
            if isinstance(item, yaml.MappingEndEvent):
                return mapping
            key = _yaml_node(events, item, depth + 1)
            if not isinstance(key, str) or key in mapping:
                raise NotHandled("a key that is not a string, or a repeated key")
            utf8(key)
            mapping[key] = _yaml_node(events, next(events), depth + 1)
    raise NotHandled("an unexpected YAML event")


def yaml_plain(value: str) -> Any:
    """go-yaml v3 resolve() of an untagged plain scalar; NotHandled where it is not certain."""
    if value in _YAML_NULL:
        return None
    if value in _YAML_TRUE or value in _YAML_FALSE:
        return value in _YAML_TRUE
    if value in _YAML_SPECIAL_FLOATS:
        raise NotHandled("a float that JSON cannot carry")
    first = value[0]
    if first in "+-0123456789":
        return _yaml_number_or_string(value)
    if first == ".":
        if _YAML_FLOAT.fullmatch(value):
            return finite(float(value))
        if set(value) <= _YAML_DOT_NUMBER_CHARS:
            raise NotHandled("a plain scalar that may be a number")
    if value == "<<":
        raise NotHandled("a YAML merge key")
    return value


def _yaml_number_or_string(value: str) -> Any:
    if _YAML_TIMESTAMP_START.match(value):
        return value  # a timestamp or nothing else: go-yaml keeps the text either way
    if "_" in value or _YAML_OCTAL.fullmatch(value):
        raise NotHandled("a plain scalar with Go's number extras")
    if _YAML_DECIMAL.fullmatch(value):
        number = int(value)
        if not -INT64 <= number < INT64:
            raise NotHandled("an integer beyond int64")
        return number
    if _YAML_FLOAT.fullmatch(value):
        return finite(float(value))
    if "." in value or not set(value) <= _YAML_NUMBER_CHARS:
        return value  # no integer or float syntax of Go's accepts it
    raise NotHandled("a plain scalar that may be a number")
