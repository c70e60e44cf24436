"""The JSON Schemas shipped in the wheel: validation with readable errors, and defaults."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cocflow.errors import InvalidInput

_SOURCE_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _schema_text(name: str) -> str:
    # In a wheel the schemas sit inside the package; in a source checkout they sit beside it.
    packaged = resources.files("cocflow").joinpath("schemas").joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_SOURCE_SCHEMAS / name).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One of `case`, `team`, `config`, parsed."""
    schema: dict[str, Any] = json.loads(_schema_text(f"{name}.schema.json"))
    return schema


@cache
def _validator(name: str, definition: str | None) -> Any:
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    if definition:
        schema = {**schema, "$ref": f"#/$defs/{definition}"}
        schema.pop("properties", None)
        schema.pop("required", None)
        schema.pop("additionalProperties", None)
        schema.pop("type", None)
    return Draft202012Validator(_inlined(schema))


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `$ref` replaced by its definition: the same rules, three
    times faster to check (jsonschema resolves each `$ref` anew for every value; `verify` and
    `rekey` check thousands of cases). A recursive schema is returned as it is."""
    definitions = schema.get("$defs", {})

    def inline(node: Any, depth: int) -> Any:
        if depth > _MAX_INLINE_DEPTH:
            raise RecursionError
        if isinstance(node, list):
            return [inline(item, depth) for item in node]
        if not isinstance(node, dict):
            return node
        found = {key: inline(value, depth) for key, value in node.items()
                 if key not in ("$ref", "$defs")}
        reference = node.get("$ref")
        if not (isinstance(reference, str) and reference.startswith("#/$defs/")):
            return {**found, **({"$ref": reference} if reference is not None else {})}
        target = inline(definitions[reference.removeprefix("#/$defs/")], depth + 1)
        return {"allOf": [target, found]} if found else target

    try:
        flat = inline(schema, 0)
    except (RecursionError, KeyError):
        return schema
    return {**flat, "$defs": definitions}


_MAX_INLINE_DEPTH = 32


@cache
def _compiled(name: str, definition: str | None) -> Any:
    from cocflow.adapters.schema_compiled import compile_schema

    schema = load_schema(name)
    return compile_schema(schema, schema["$defs"][definition] if definition else schema)


def is_valid(name: str, document: Any, definition: str | None = None) -> bool:
    """Whether `problems` would find nothing, without jsonschema: the schema compiled once
    into plain checks (a few microseconds a document)."""
    return bool(_compiled(name, definition)(document))


def problems(name: str, document: Any, definition: str | None = None) -> list[str]:
    """Every schema violation as `path: message`, without echoing the offending values."""
    errors = sorted(  # paths mix str keys and int indexes (or int keys in hostile input)
        _validator(name, definition).iter_errors(document),
        key=lambda e: [str(part) for part in e.absolute_path],
    )
    return [_describe(error) for error in errors]


# The schemas whose compiled verdict tests/test_schema_compiled.py keeps equal to jsonschema's:
# `validate` asks jsonschema (70 ms to import) only when they reject, to name the problems.
COMPILED_EQUAL = frozenset({("team", None), ("config", None), ("case", "meta"),
                            ("case", "meta1")})


def validate(name: str, document: Any, what: str, definition: str | None = None) -> None:
    """Raise InvalidInput naming the first problem (and how many more there are)."""
    if (name, definition) in COMPILED_EQUAL and is_valid(name, document, definition):
        return
    found = problems(name, document, definition)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise InvalidInput(f"{what}: {found[0]}{more}")


def _describe(error: Any) -> str:
    path = ".".join(str(part) for part in error.absolute_path) or "(top)"
    # Messages from jsonschema quote the bad value; case values must never reach a log.
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(str(k) for k in set(error.instance) - set(error.schema.get(
            "properties", {})))
        shown = ", ".join(k if len(k) <= 40 else k[:37] + "..." for k in extra[:5])
        return f"{path}: unknown key(s) {shown}{' ...' if len(extra) > 5 else ''}"
    if validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"{path}: missing {', '.join(missing)}"
    if validator == "enum":
        return f"{path}: must be one of {', '.join(map(str, error.validator_value))}"
    if validator == "const":
        return f"{path}: must be {error.validator_value!r}"
    if validator == "type":
        return f"{path}: must be of type {error.validator_value}"
    if validator == "pattern":
        return f"{path}: has the wrong format"
    if validator in ("minLength", "minItems"):
        return f"{path}: must not be empty"
    if validator in ("maxLength", "maxItems"):
        return f"{path}: is too long"
    if validator == "uniqueItems":
        return f"{path}: has duplicates"
    if validator == "oneOf":
        return f"{path}: {_one_of_hint(error)}"
    return f"{path}: is not valid ({validator})"


def _one_of_hint(error: Any) -> str:
    for sub in error.context or []:
        if sub.validator == "enum":
            return f"must be one of {', '.join(map(str, sub.validator_value))}"
        if sub.validator == "pattern":
            return "has the wrong format"
    return "is not valid"


def text_repairs(name: str, document: Any, definition: str | None = None
                 ) -> tuple[Any, list[str]]:
    """The document with each number or boolean that stands where the schema wants text given
    back as text, and the paths (never values) of those repairs.

    For format-1 cases only: PyYAML (YAML 1.1) wrote a title such as `1e3` unquoted, and sops
    (YAML 1.2) stored it as the number 1000; the text sops kept is the closest to the original.
    """
    repaired: list[str] = []
    for error in list(_validator(name, definition).iter_errors(document)):
        value = error.instance
        if not isinstance(value, (bool, int, float)) or not _wants_text(error):
            continue
        path = list(error.absolute_path)
        if not path:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = _as_text(value)
        repaired.append(".".join(str(part) for part in path))
    return document, repaired


def _wants_text(error: Any) -> bool:
    def text_type(sub: Any) -> bool:
        expected = sub.validator_value
        return sub.validator == "type" and (expected == "string" or (
            isinstance(expected, list) and "string" in expected))

    if text_type(error):
        return True
    return error.validator == "oneOf" and any(text_type(sub) for sub in error.context or [])


def _as_text(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def with_defaults(name: str, document: Any, definition: str | None = None) -> Any:
    """Fill in every `default` the schema names (the values cocflow omits before encrypting)."""
    schema = load_schema(name)
    node = schema["$defs"][definition] if definition else schema
    return _fill(schema, node, document)


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _fill(root: dict[str, Any], node: dict[str, Any], value: Any) -> Any:
    node = _resolve(root, node)
    for branch in node.get("oneOf", []):
        branch = _resolve(root, branch)
        if branch.get("type") == "object" and isinstance(value, dict):
            node = branch
    if isinstance(value, dict) and "properties" in node:
        filled = dict(value)
        for key, prop in node["properties"].items():
            if key not in filled:
                default = _default_of(root, prop)
                if default is _NO_DEFAULT:
                    continue
                filled[key] = json.loads(json.dumps(default))
            filled[key] = _fill(root, prop, filled[key])
        return filled
    if isinstance(value, list) and "items" in node:
        return [_fill(root, node["items"], item) for item in value]
    return value


_NO_DEFAULT = object()


def _default_of(root: dict[str, Any], prop: dict[str, Any]) -> Any:
    if "default" in prop:
        return prop["default"]
    return _resolve(root, prop).get("default", _NO_DEFAULT)
