"""A JSON Schema compiled once into plain Python checks: valid or not, nothing more.

`check` validates the meta of every case; jsonschema's validator costs about a millisecond a
document, these checks a few microseconds. They interpret exactly the keywords cocflow's
schemas use, with jsonschema's Draft 2020-12 semantics (bools are not numbers, 2.0 is an
integer, `pattern` is `re.search`); a schema with any other keyword is refused when compiled,
so nothing is silently skipped. A rejected document goes to jsonschema for its messages, and
`tests/test_schema_compiled.py` keeps the two verdicts equal on valid and invalid inputs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]
# Words that only annotate a schema: they accept everything.
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description",
                         "default", "examples"})


def compile_schema(root: dict[str, Any], node: dict[str, Any]) -> Check:
    """A check that accepts exactly what `node` (inside the schema `root`) accepts."""
    found = [_keyword(root, node, word) for word in node if word not in ANNOTATIONS]
    checks = [check for check in found if check is not None]
    return _every(checks)


def _every(checks: list[Check]) -> Check:
    """All of `checks` (a plain loop: every case's meta goes through dozens of these)."""
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 (all() over a generator: twice the cost)
            if not check(value):
                return False
        return True

    return every


def _keyword(root: dict[str, Any], node: dict[str, Any], word: str) -> Check | None:
    value = node[word]
    if word == "$ref":
        target = root["$defs"][value.rsplit("/", 1)[-1]]
        return compile_schema(root, target)
    if word == "type":
        kinds = [value] if isinstance(value, str) else list(value)
        tests = [_TYPES[kind] for kind in kinds]
        return tests[0] if len(tests) == 1 else lambda v: any(test(v) for test in tests)
    if word == "const":
        return lambda v: _equal(v, value)
    if word == "enum":
        return lambda v: any(_equal(v, option) for option in value)
    if word == "pattern":
        pattern = re.compile(value)
        return lambda v: not isinstance(v, str) or pattern.search(v) is not None
    if word in ("minLength", "maxLength"):
        low = word == "minLength"
        return lambda v: not isinstance(v, str) or (len(v) >= value if low else len(v) <= value)
    if word in ("minItems", "maxItems"):
        low = word == "minItems"
        return lambda v: not isinstance(v, list) or (len(v) >= value if low else len(v) <= value)
    if word in ("minimum", "maximum"):
        low = word == "minimum"
        return lambda v: not _is_number(v) or (v >= value if low else v <= value) or (
            isinstance(v, float) and math.isnan(v))
    if word == "uniqueItems":
        return (lambda v: not isinstance(v, list) or _unique(v)) if value else None
    if word == "items":
        item = compile_schema(root, value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if word == "oneOf":
        branches = [compile_schema(root, branch) for branch in value]
        return lambda v: sum(1 for branch in branches if branch(v)) == 1
    if word == "required":
        return lambda v: not isinstance(v, dict) or all(key in v for key in value)
    if word == "properties":
        props = {key: compile_schema(root, sub) for key, sub in value.items()}

        def properties(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, sub in v.items():  # the keys a document has: fewer than the schema's
                check = props.get(key)
                if check is not None and not check(sub):
                    return False
            return True

        return properties
    if word == "additionalProperties":
        return _additional(root, node, value)
    raise NotImplementedError(f"schema keyword {word} is not compiled")


def _additional(root: dict[str, Any], node: dict[str, Any], value: Any) -> Check | None:
    if value is True:
        return None
    if "patternProperties" in node:
        raise NotImplementedError("additionalProperties beside patternProperties")
    known = frozenset(node.get("properties", {}))
    if value is False:
        return lambda v: not isinstance(v, dict) or known.issuperset(v)
    extra = compile_schema(root, value)
    return lambda v: not isinstance(v, dict) or all(
        extra(sub) for key, sub in v.items() if key not in known)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "number": _is_number,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer()),
}


def _equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema has it: true and 1 differ, 1 and 1.0 do not."""
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        return False
    return bool(one == two)


def _unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return all(not _equal(items[i], items[j])
               for i in range(len(items)) for j in range(i + 1, len(items)))
