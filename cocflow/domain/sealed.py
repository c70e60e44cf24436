"""Case format 2: everything but `meta` sealed as one padded value; format 1 read until migrate.

What cocflow hands sops (as JSON, so that no YAML parser reinterprets a value) and what sops
keeps on disk (as YAML, meta first):

    meta: {format: 2, id, revision, status, received_at, ...}   plaintext, covered by the MAC
    body: ENC[AES256_GCM,...]                                    one encrypted string

`body` is the JSON text of every other part of the case, padded with spaces to a bucket, so
that a reader without a key learns the bucket and nothing else: no key names, no length of
any field or list, no boolean or enum value by its length (docs/case-format.md).

Evidence files get the same treatment: their plaintext is a short header, the bytes, and
zero padding to a bucket.

Pure: values in, values out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from cocflow.domain.case import FORMAT as FORMAT  # the format every write produces
from cocflow.domain.case import base64_length, is_ciphertext
from cocflow.errors import InvalidInput, Unreadable

LEGACY_FORMAT = 1
BODY = "body"
# Smallest bucket: a typical case (a report, a few recusals, dozens of timeline events) fits,
# so most cases are the same size. Above it, each bucket is 1.5x or 4/3x the one before
# (8, 12, 16, 24, 32, 48 KiB, ...): at most 50% padding, about two buckets per doubling.
MIN_BUCKET = 8 * 1024
# The largest body: its file (base64, +1/3) stays well below what a reader accepts
# (adapters/store.CASE_FILE_MAX_BYTES; tests/test_sealed.py keeps the two apart).
MAX_BODY_BYTES = 16 * 1024 * 1024
# The format-1 keys that format 2 renames or drops.
_LEGACY_META_KEY = "schema"
_LEGACY_DECISION = "decision"
EVIDENCE_MAGIC = b"cocflow-evidence 2\n"


# --- buckets -------------------------------------------------------------------------------


def bucket(size: int) -> int:
    """The padded size of `size` bytes: 8 KiB, then the next 2^k or 3 * 2^(k-2) above it."""
    if size <= MIN_BUCKET:
        return MIN_BUCKET
    power = 1 << (size - 1).bit_length()  # the smallest power of two >= size
    middle = power // 4 * 3
    return middle if size <= middle else power


def is_bucket(size: int) -> bool:
    """Whether `size` is one of the padded sizes."""
    return size >= MIN_BUCKET and bucket(size) == size


def padded(data: bytes, filler: bytes) -> bytes:
    """`data` followed by `filler` bytes up to its bucket."""
    return data + filler * (bucket(len(data)) - len(data))


def encrypted_size(value: Any) -> int | None:
    """How many plaintext bytes a sops-encrypted value holds (AES-GCM keeps the length), read
    without a key; None when `value` is not sops ciphertext."""
    if not is_ciphertext(value):
        return None
    return _size_of(value)


def _size_of(value: str) -> int | None:
    return base64_length(value[len("ENC[AES256_GCM,data:"):].split(",", 1)[0])


# --- format detection ----------------------------------------------------------------------


def format_of(meta: Any) -> int | None:
    """The format of a case from its meta (1 or 2), or None for a format this code does not know.

    Format 2 names itself (`format: 2`); format 1 had `schema: 1` and no `format`.
    """
    if not isinstance(meta, dict):
        return None
    if "format" in meta:
        value = meta["format"]
        return FORMAT if value == FORMAT and type(value) is int else None
    value = meta.get(_LEGACY_META_KEY)
    return LEGACY_FORMAT if value == LEGACY_FORMAT and type(value) is int else None


def describe_format(meta: Any) -> str:
    """How to name an unknown format in a message, without echoing free text."""
    value = meta.get("format") if isinstance(meta, dict) else None
    if type(value) is int and 0 <= value < 1000:
        return f"format {value}"
    return "no format cocflow knows"


# --- case format 2 -------------------------------------------------------------------------


def seal(document: dict[str, Any]) -> dict[str, Any]:
    """The case as it goes to sops: its meta, and everything else as one padded JSON string.

    InvalidInput (nothing written) for text that is not valid Unicode, which sops cannot carry,
    and for a case over MAX_BODY_BYTES.
    """
    body = {key: value for key, value in document.items() if key != "meta"}
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        where = next(_invalid_text(body), "a value")
        raise InvalidInput(
            f"{where} holds text that is not valid Unicode (a lone surrogate, e.g. from a file "
            "or terminal in another encoding); nothing was written"
        ) from None
    if len(data) > MAX_BODY_BYTES:
        raise InvalidInput(
            f"case {document['meta']['id']} would be {len(data)} bytes, over the limit of "
            f"{MAX_BODY_BYTES} bytes for one case: move large material to evidence "
            "(`cocflow attach`); nothing was written"
        )
    return {"meta": document["meta"], BODY: padded(data, b" ").decode("utf-8")}


def _invalid_text(value: Any, path: str = "") -> Iterator[str]:
    """Paths (never values) of strings or keys that UTF-8 cannot encode."""
    if isinstance(value, str):
        if not _encodable(value):
            yield path or "a value"
    elif isinstance(value, dict):
        for key, sub in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _encodable(key):
                yield path or "a key"
            elif _encodable(where):
                yield from _invalid_text(sub, where)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _invalid_text(sub, f"{path}[{index}]")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unseal(decrypted: Any) -> dict[str, Any]:
    """The case from what sops decrypted (meta and body): meta, then the parsed body.

    The MAC has been checked by then, so a body that is no case body was written with a key
    by something other than cocflow: Unreadable, not tampering.
    """
    if not isinstance(decrypted, dict) or set(decrypted) != {"meta", BODY} \
            or not isinstance(decrypted[BODY], str):
        raise Unreadable("it is not one meta block and one sealed body")
    try:
        body = json.loads(decrypted[BODY])
    except (ValueError, RecursionError):
        raise Unreadable("its sealed body is not JSON") from None
    if not isinstance(body, dict) or "meta" in body:
        raise Unreadable("its sealed body is not a case body")
    return {"meta": decrypted["meta"], **body}


def next_version(document: dict[str, Any]) -> dict[str, Any]:
    """The document as its next write stores it: format 2, revision + 1.

    Every write seals through here, so the revision counts writes: 1 for a new case (built at
    revision 0), and a case read from format 1 (revision 0 in memory) becomes revision 1.
    """
    meta = document["meta"]
    revision = meta.get("revision", 0)
    new_meta = {"format": FORMAT, "id": meta["id"], "revision": revision + 1}
    new_meta.update((key, value) for key, value in meta.items()
                    if key not in ("format", _LEGACY_META_KEY, "id", "revision"))
    return {**document, "meta": new_meta}


# --- format 1 ------------------------------------------------------------------------------


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """A format-1 case (decrypted, defaults filled) in the format-2 model, unwritten yet.

    Its meta says `format: 1, revision: 0` until the next write (next_version) stores it as
    format 2, revision 1; the single `decision` becomes the list `decisions`.
    """
    old = document["meta"]
    meta = {"format": LEGACY_FORMAT, "id": old["id"], "revision": 0}
    meta.update((key, value) for key, value in old.items() if key not in (_LEGACY_META_KEY, "id"))
    upgraded: dict[str, Any] = {"meta": meta}
    for key, value in document.items():
        if key == _LEGACY_DECISION:
            upgraded["decisions"] = [value] if value else []
        elif key != "meta":
            upgraded[key] = value
    return upgraded


# --- evidence ------------------------------------------------------------------------------


def seal_evidence(data: bytes, number: int, sha256: str, case_id: str | None = None) -> bytes:
    """The plaintext of a format-2 evidence file: a header line, the bytes, zero padding.

    The header binds the file to its case (id, number, sha256) inside the encryption, so a
    file copied into another case's folder says where it came from.
    """
    binding: dict[str, Any] = {"case": case_id} if case_id is not None else {}
    header = json.dumps({**binding, "number": number, "size": len(data), "sha256": sha256},
                        separators=(",", ":")).encode("ascii")
    return padded(EVIDENCE_MAGIC + header + b"\n" + data, b"\0")


def evidence_binding(plaintext: bytes) -> dict[str, Any]:
    """The header of a format-2 evidence file (case, number, size, sha256); {} in format 1."""
    if not is_sealed_evidence(plaintext):
        return {}
    header, _end = _evidence_header(plaintext)
    if not isinstance(header, dict):
        raise Unreadable("its evidence header is not one cocflow writes")
    return header


def _evidence_header(plaintext: bytes) -> tuple[Any, int]:
    """The JSON header of a format-2 evidence file (None when it does not parse), and where
    the line that holds it ends."""
    start = len(EVIDENCE_MAGIC)
    end = plaintext.find(b"\n", start)
    try:
        return (json.loads(plaintext[start:end]) if end > 0 else None), end
    except ValueError:
        return None, end


def binding_problem(header: dict[str, Any], case_id: str, number: int,
                    sha256: str | None) -> str | None:
    """Why a decrypted evidence header does not belong to evidence `number` of `case_id`."""
    if "case" in header and header["case"] != case_id:
        return "its encrypted binding names another case: it was copied from one"
    if "number" in header and header["number"] != number:
        return "its encrypted binding names another evidence number: it was moved"
    if sha256 is not None and "sha256" in header and header["sha256"] != sha256:
        return "it is not the evidence the case lists (another sha256): it was replaced"
    return None


def is_sealed_evidence(plaintext: bytes) -> bool:
    return plaintext.startswith(EVIDENCE_MAGIC)


def open_evidence(plaintext: bytes) -> bytes:
    """The bytes of a piece of evidence from its decrypted file, format 2 or format 1.

    A format-1 file is the bytes themselves. The caller compares the result with the
    case's record (size and sha256), which catches anything misread.
    """
    if not is_sealed_evidence(plaintext):
        return plaintext
    header, end = _evidence_header(plaintext)
    size = header.get("size") if isinstance(header, dict) else None
    if type(size) is not int or size < 0 or end + 1 + size > len(plaintext):
        raise Unreadable("its evidence header is not one cocflow writes")
    return plaintext[end + 1:end + 1 + size]
