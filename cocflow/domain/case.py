"""The case document: meta, body, recusals, timeline events."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput

if TYPE_CHECKING:
    from cocflow.domain.access import Roster

FORMAT = 2  # the case format every write produces (domain/sealed.py)
# The plaintext meta of a format-2 case, in the order it is written (domain/sealed.py).
META_KEYS = (
    "format", "id", "revision", "status", "received_at", "respond_by", "responded_at",
    "closed_at", "recused", "recused_keys", "triage",
)
CASE_ID = re.compile(r"^[0-9]{4}-[0-9]{4}$")
# How a report reached the team (schemas/case.schema.json; tests/test_vocabulary_parity.py).
CHANNELS = ("email", "form", "in-person", "chat", "other")
# The exact shape sops gives an encrypted value; "ENC[anything]" typed by hand is plaintext.
CIPHERTEXT = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,"
    r"type:(?:str|int|float|bool|bytes|comment)\]"
)


def require_case_id(text: str) -> str:
    """A case id of the form YYYY-NNNN; anything else (paths included) is refused."""
    if not isinstance(text, str) or not CASE_ID.fullmatch(text):
        raise InvalidInput(f"not a case id: {text!r} (expected YYYY-NNNN, e.g. 2026-0007)")
    return text


def next_case_id(year: int, existing: Iterable[str]) -> str:
    """The next free YYYY-NNNN for this year."""
    prefix = f"{year:04d}-"
    numbers = [int(i[5:]) for i in existing if i.startswith(prefix)]
    number = max(numbers, default=0) + 1
    if number > 9999:
        raise InvalidInput(f"no case ids left for {year}")
    return f"{prefix}{number:04d}"


def event(kind: str, actor: str, at: datetime, note: str | None = None) -> dict[str, Any]:
    """One timeline entry."""
    return {"at": format_timestamp(at), "by": actor, "event": kind, "note": note}


def recusal(handle: str, reason: str, actor: str, at: datetime, note: str | None = None,
            keys: Iterable[str] = ()) -> dict[str, Any]:
    """One encrypted recusal record, with every key the member held: excluded for good."""
    return {"handle": handle, "reason": reason, "note": note, "at": format_timestamp(at),
            "by": actor, "keys": list(dict.fromkeys(keys))}


def recused_keys(document: dict[str, Any]) -> set[str]:
    """Every key recorded, inside the verified document, as held by a recused member."""
    return {key for record in document.get("recusals") or [] for key in record.get("keys") or []}


def intake_recusals(
    report: dict[str, Any],
    requested: Iterable[dict[str, Any]],
    roster: Roster,
    actor: str,
    at: datetime,
    pushed: Roster | None = None,
) -> list[dict[str, Any]]:
    """Recusals at intake: the ones asked for, plus every reported person who is a member.

    Each records every key the member holds: in `roster` (accepted) and in `pushed`
    (team.yaml as it is, not yet accepted): none of them reads the case, under any name.
    """
    def held(handle: str) -> list[str]:
        also = pushed.member(handle) if pushed is not None else None
        return [*roster.require(handle).keys, *(also.keys if also else ())]

    records: dict[str, dict[str, Any]] = {}
    for index, person in enumerate(report.get("reported") or []):
        handle = person.get("team_handle")
        if not handle:
            continue
        if roster.member(handle) is None:
            # A mistyped handle would leave the reported member able to read the case.
            raise InvalidInput(
                f"report.reported[{index}].team_handle is not a member of team.yaml "
                "(use null for someone who is not on the team)"
            )
        records[handle] = recusal(handle, "reported-person", actor, at, keys=held(handle))
    for wish in requested:
        roster.require(wish["handle"])
        if wish["handle"] not in records:
            records[wish["handle"]] = recusal(
                wish["handle"], wish.get("reason") or "conflict-of-interest", actor, at,
                wish.get("note"), keys=held(wish["handle"]),
            )
    return list(records.values())


def new_case(
    case_id: str,
    report: dict[str, Any],
    received_at: datetime,
    respond_by: datetime,
    recusals: list[dict[str, Any]],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """A freshly received case, ready to validate and encrypt (revision 0: not written yet)."""
    timeline = [event("received", actor, now)]
    timeline += [event("recused", actor, now, r["handle"]) for r in recusals]
    return {
        "meta": {
            "format": FORMAT,
            "id": case_id,
            "revision": 0,
            "status": "received",
            "received_at": format_timestamp(received_at),
            "respond_by": format_timestamp(respond_by),
            "responded_at": None,
            "closed_at": None,
            "recused": [r["handle"] for r in recusals],
            "recused_keys": [],
            "triage": False,
        },
        "report": report,
        "recusals": recusals,
        "timeline": timeline,
        "decisions": [],
        "dismissal": None,
    }


def current_decision(case: dict[str, Any]) -> dict[str, Any] | None:
    """The decision in force: the last one (a case reopened and decided again has several)."""
    decisions = case.get("decisions") or []
    return decisions[-1] if decisions else None


def plaintext_leaves(document: dict[str, Any]) -> list[str]:
    """Paths of leaves outside meta that are not sops ciphertext (for keyless checks)."""
    found: list[str] = []
    for key, value in document.items():
        if key not in ("meta", "sops"):
            _collect_plain(value, key, found)
    return found


def _collect_plain(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            found.append(path)
        for key, sub in value.items():
            _collect_plain(sub, f"{path}.{key}", found)
    elif isinstance(value, list):
        if not value:
            found.append(path)
        for index, sub in enumerate(value):
            _collect_plain(sub, f"{path}[{index}]", found)
    elif not is_ciphertext(value):
        found.append(path)


CIPHER_TYPES = frozenset({"str", "int", "float", "bool", "bytes", "comment"})
BASE64_CHARS = re.compile(r"[A-Za-z0-9+/=]*")
_CIPHER_PREFIX = "ENC[AES256_GCM,data:"


def is_ciphertext(value: Any) -> bool:
    """A value exactly as sops writes it encrypted: what `CIPHERTEXT.fullmatch` accepts.

    Field by field, because a case body is kilobytes of base64 and the regular expression
    walks it a character at a time; no field's alphabet holds `,` or `]`, so splitting on
    them is exact. The last few long values are remembered: the check asks about one body
    several times.
    """
    if not isinstance(value, str) or not value.startswith(_CIPHER_PREFIX) \
            or not value.endswith("]"):
        return False
    return _sops_value(value) if len(value) > 1024 else _sops_value.__wrapped__(value)


@lru_cache(maxsize=8)
def _sops_value(value: str) -> bool:
    fields = value[len(_CIPHER_PREFIX):-1].split(",")
    if len(fields) != 4:
        return False
    data, iv, tag, kind = fields
    return (iv.startswith("iv:") and len(iv) > 3 and tag.startswith("tag:") and len(tag) > 4
            and kind.startswith("type:") and kind[5:] in CIPHER_TYPES
            and all(_base64_chars(text) for text in (data, iv[3:], tag[4:])))


def _base64_chars(text: str) -> bool:
    """Only characters of the base64 alphabet and `=` (in any order)."""
    if base64_length(text) is not None:  # a few microseconds; any padding error ...
        return True
    return BASE64_CHARS.fullmatch(text) is not None  # ... gets the exact answer


def base64_length(text: str) -> int | None:
    """How many bytes strict base64 `text` holds; None when it is not strict base64. A case
    body is asked about twice (is it ciphertext? how long?): decoded once."""
    return _decoded_length(text) if len(text) > 1024 else _decoded_length.__wrapped__(text)


@lru_cache(maxsize=8)
def _decoded_length(text: str) -> int | None:
    try:
        return len(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None


def recused_handles(meta: object) -> tuple[str, ...] | None:
    """The recused handles a meta block names, or None when it holds no list of handles.

    The one reading of `meta.recused`; what a malformed list means is the caller's policy.
    """
    if not isinstance(meta, dict):
        return None
    value = meta.get("recused", [])
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        return None
    return tuple(value)
