"""The in-process sops reader: decrypts sops YAML and JSON documents whose data key is held by
age recipients, without starting sops for every file.

Read only: sops stays the one writer of the format. Every rule here is sops 3.11's, taken from
its source (aes/cipher.go, sops.go, stores/, age/keysource.go, cmd/sops/common) and held to the
binary by tests/test_sops_reader.py:

- the data key is the 32-byte payload of the armored age file in a `sops.age[].enc` entry; the
  entries are tried in file order with every identity sops loads (the union of
  SOPS_AGE_SSH_PRIVATE_KEY_FILE, ~/.ssh/id_ed25519, ~/.ssh/id_rsa, SOPS_AGE_KEY_FILE,
  SOPS_AGE_KEY and $XDG_CONFIG_HOME/sops/age/keys.txt);
- a value is `ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]`: AES-256-GCM with a 32-byte
  nonce, additional data the path of map keys joined by ":" plus a trailing ":" (list items add
  nothing to the path); null stays null and "" stays "" without being encrypted; the type is
  str, int, float or bool (sops 3.11 panics on `bytes`: such files go to the binary);
- a value is left plain when its path says so: unencrypted_suffix (`_unencrypted` when the file
  names no rule), encrypted_suffix, unencrypted_regex or encrypted_regex, any key on the path;
- the MAC is SHA-512 over every non-null leaf in document order, plain ones included (under
  mac_only_encrypted: only the encrypted ones, after a fixed 32-byte prefix), each serialised as
  sops does (floats in Go's shortest fixed notation, booleans as True/False); it is stored as
  upper-case hex, encrypted with additional data = `lastmodified`.

Whatever the reader does not implement exactly (other key types, key groups, YAML comments,
anchors or tags, scalars whose YAML 1.2 type it cannot be sure of, a newer sops, a key command)
raises NotHandled inside; `decrypt_document` then hands the document to the sops binary, so the
answer is always the binary's. The file format lives in sops_format.py, the local identities in
age_identities.py. Refusals use the errors the binary's exit codes map to: no key
-> AccessDenied (exit 128), a value or the MAC that does not verify -> Tampered (25, 51).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, Literal

from cocflow.adapters import sops
from cocflow.adapters.age_identities import Identities, load_identities
from cocflow.adapters.sops import Keyring
from cocflow.adapters.sops_format import (
    Metadata,
    finite,
    go_float,
    json_tree,
    utf8,
    yaml_tree,
)
from cocflow.errors import CocflowError, NotHandled, SopsFailed

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Identities", "InputType", "NotHandled", "SopsReader", "decrypt_document",
           "decrypt_with_sops", "load_identities"]

InputType = Literal["yaml", "json"]

DATA_KEY_BYTES = 32
NONCE_BYTES = 32
TAG_BYTES = 16
# sops.go MACOnlyEncryptedInitialization, sha256("sops"): a MAC over encrypted values only can
# never equal one over all values.
MAC_ONLY_ENCRYPTED_PREFIX = hashlib.sha256(b"sops").digest()
EXIT_VALUE_DOES_NOT_DECRYPT = 25  # codes.ErrorDecryptingTree

# type:bytes is left out: sops 3.11 panics on it (its IV stash cannot hash a []byte), so the
# binary refuses such a file and the reader hands it over.
_ENC = re.compile(r"ENC\[AES256_GCM,data:([A-Za-z0-9+/]+=*),iv:([A-Za-z0-9+/]+=*),"
                  r"tag:([A-Za-z0-9+/]+=*),type:(str|int|float|bool)\]")
_ARMOR_BEGIN, _ARMOR_END = "-----BEGIN AGE ENCRYPTED FILE-----", "-----END AGE ENCRYPTED FILE-----"
_ARMOR_COLUMNS = 64
# Go's strconv Atoi, ParseFloat and ParseBool, restricted to the inputs on which Python's int()
# and float() agree with them.
_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}
INT64 = 2**63


class SopsReader:
    """Decrypts sops documents with one Keyring's identities, loaded once on first use.

    The identities are read when first needed; a reader made before the keys change keeps the
    old ones, so make one per command.
    """

    def __init__(self, keyring: Keyring | None = None) -> None:
        self.keyring = keyring or Keyring()
        self._identities: Identities | None = None

    @property
    def identities(self) -> Identities:
        """The local identities, read on first use."""
        if self._identities is None:
            self._identities = load_identities(self.keyring)
        return self._identities

    def decrypt(self, text: str, what: str, *, input_type: InputType = "yaml") -> dict[str, Any]:
        """The decrypted document; the sops binary decides whatever this reader does not."""
        try:
            return self.decrypt_in_process(text, what, input_type=input_type)
        except NotHandled:
            return decrypt_with_sops(text, what, self.keyring, input_type=input_type)

    def decrypt_in_process(self, text: str, what: str, *,
                           input_type: InputType = "yaml") -> dict[str, Any]:
        """The decrypted document, or NotHandled when only the sops binary can say."""
        tree = json_tree(text) if input_type == "json" else yaml_tree(text)
        if any(key.lower() == "sops" and key != "sops" for key in tree):
            raise NotHandled("a top-level key that sops' JSON decoder would take for `sops`")
        metadata = Metadata.parse(tree.pop("sops", None))
        data_key = _data_key(metadata, self.identities, what)
        return _Decryption(data_key, metadata, what).document(tree)

    def decrypt_bytes(self, text: str, what: str) -> bytes:
        """A sops binary document (`{"data": ..., "sops": ...}`, evidence) as the bytes
        `sops decrypt --output-type binary` gives; the binary decides what the reader does not."""
        try:
            tree = json_tree(text)
            if tree.keys() != {"data", "sops"} or not isinstance(tree["data"], str):
                raise NotHandled("a binary document in a shape sops' binary store does not write")
            metadata = Metadata.parse(tree["sops"])
            return _Decryption(_data_key(metadata, self.identities, what), metadata,
                               what).raw(tree["data"])
        except NotHandled:
            return sops.decrypt_bytes(text, what, self.keyring)


def decrypt_document(text: str, what: str, keyring: Keyring | None = None, *,
                     input_type: InputType = "yaml") -> dict[str, Any]:
    """Decrypt a sops document to the data `sops decrypt --output-type json` gives.

    `what` names the document in errors. No local key -> AccessDenied; any change made without
    the key -> Tampered; the sops binary decides what this reader does not implement.
    """
    return SopsReader(keyring).decrypt(text, what, input_type=input_type)


def decrypt_with_sops(text: str, what: str, keyring: Keyring | None = None, *,
                      input_type: InputType = "yaml") -> dict[str, Any]:
    """The same document from the sops binary (`sops decrypt --output-type json`)."""
    args = ["decrypt", "--input-type", input_type, "--output-type", "json", "/dev/stdin"]
    output = sops.Pending(args, text.encode("utf-8"), keyring or Keyring(), what,
                          doing=f"decrypting {what}").result()
    try:
        document = json.loads(output)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python reads
        document = None
    if not isinstance(document, dict):
        raise SopsFailed(f"sops returned output that is not a JSON document while decrypting "
                         f"{what}; nothing was changed; rerun with COCFLOW_DEBUG=1")
    return document


def _refusal(code: int, what: str) -> CocflowError:
    # The very error the binary's exit code maps to, message included.
    return sops._failure(code, b"", what)


# --- the decryption -------------------------------------------------------------------------


class _Decryption:
    """One walk over the document (sops.go Tree.Decrypt): decrypt, convert, feed the MAC."""

    def __init__(self, data_key: bytes, metadata: Metadata, what: str) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.cipher: AESGCM = AESGCM(data_key)
        self.metadata, self.what = metadata, what
        self.digest = hashlib.sha512()
        if metadata.mac_only_encrypted:
            self.digest.update(MAC_ONLY_ENCRYPTED_PREFIX)

    def document(self, tree: dict[str, Any]) -> dict[str, Any]:
        try:
            plain = self.mapping(tree, (), False)
        except RecursionError:  # JSON nested deeper than Python's stack: sops decides
            raise NotHandled("nesting deeper than this reader follows") from None
        self.check_mac()
        return plain

    def raw(self, data: str) -> bytes:
        """The one `data` value of a binary document as raw bytes (stores/json binary store:
        Go strings carry any bytes, so no UTF-8 decoding), its MAC checked."""
        if self.metadata.matches("data") != self.metadata.encrypt_matching:
            raise NotHandled("a binary document whose data is left plain")
        plaintext = b""
        if data:
            kind, opened = self.open(data, "data:")
            if opened is None:
                raise _refusal(EXIT_VALUE_DOES_NOT_DECRYPT, self.what)
            if kind != "str":
                raise NotHandled("binary data that is not typed str")
            plaintext = opened
        self.digest.update(plaintext)
        self.check_mac()
        return plaintext

    def mapping(self, node: dict[str, Any], path: tuple[str, ...],
                matched: bool) -> dict[str, Any]:
        matches = self.metadata.matches
        return {key: self.value(item, (*path, key), matched or matches(key))
                for key, item in node.items()}

    def value(self, node: Any, path: tuple[str, ...], matched: bool) -> Any:
        if isinstance(node, dict):
            return self.mapping(node, path, matched)
        if isinstance(node, list):
            return [self.value(item, path, matched) for item in node]
        if node is None:
            return None
        encrypted = matched == self.metadata.encrypt_matching
        if encrypted:
            if not isinstance(node, str):
                raise NotHandled("a plain non-string where sops expects ciphertext")
            plain, raw = self.decrypt_value(node, path) if node else ("", b"")
        else:
            plain, raw = node, _mac_bytes(node)
        if encrypted or not self.metadata.mac_only_encrypted:
            self.digest.update(raw)
        return _as_json(plain)

    def decrypt_value(self, value: str, path: tuple[str, ...]) -> tuple[Any, bytes]:
        kind, plaintext = self.open(value, ":".join(path) + ":")
        if plaintext is None:
            raise _refusal(EXIT_VALUE_DOES_NOT_DECRYPT, self.what)
        typed = _typed(kind, plaintext)
        # The MAC takes the typed value back to bytes: "+5" decrypts to 5 and enters as "5".
        return typed, plaintext if kind == "str" else _mac_bytes(typed)

    def open(self, value: str, additional: str) -> tuple[str, bytes | None]:
        """The type and plaintext of one ENC[...] value; None when it fails authentication."""
        from cryptography.exceptions import InvalidTag

        found = _ENC.fullmatch(value)
        if found is None:
            raise NotHandled("a value not in the form sops writes")
        data, iv, tag, kind = found.groups()
        nonce = _base64(iv)
        sealed = _base64(data) + _base64(tag)  # Go's GCM splits the tag off the joined bytes
        if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
            raise NotHandled("a value with an unusual nonce or tag")
        try:
            return kind, self.cipher.decrypt(nonce, sealed, additional.encode("utf-8"))
        except InvalidTag:
            return kind, None

    def check_mac(self) -> None:
        """cmd/sops/common DecryptTree: the stored MAC must decrypt and equal the computed one."""
        computed = self.digest.hexdigest().upper().encode("ascii")
        stored = self.metadata.mac
        if not stored:  # sops compares "" with the computed MAC: a mismatch
            raise _refusal(sops.EXIT_MAC_MISMATCH, self.what)
        kind, plaintext = self.open(stored, self.metadata.lastmodified)
        if kind != "str" or plaintext != computed:
            raise _refusal(sops.EXIT_MAC_MISMATCH, self.what)


def _base64(text: str) -> bytes:
    # Go ignores the unused bits of a last base64 character; only the canonical form is sure.
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raw = None
    if raw is None or base64.b64encode(raw).decode("ascii") != text:
        raise NotHandled("base64 that is not in canonical form")
    return raw


def _typed(kind: str, plaintext: bytes) -> Any:
    """aes/cipher.go Decrypt: the typed value of a decrypted plaintext."""
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise NotHandled("a value that is not UTF-8") from None
    if kind == "str":
        return text
    if kind == "bool" and text in _GO_BOOL:
        return _GO_BOOL[text]
    if kind == "int" and _GO_INT.fullmatch(text) and -INT64 <= int(text) < INT64:
        return int(text)
    if kind == "float" and _GO_FLOAT.fullmatch(text):
        return finite(float(text))
    raise NotHandled(f"a {kind} value in a form sops does not write")


def _mac_bytes(value: Any) -> bytes:
    """sops.go ToBytes: how a plain leaf enters the MAC."""
    if isinstance(value, str):
        return utf8(value)
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, float):
        return go_float(value).encode("ascii")
    raise NotHandled(f"a plain {type(value).__name__}")


def _as_json(value: Any) -> Any:
    """A value as Python reads it back from sops' JSON output (encoding/json)."""
    if isinstance(value, float) and (value == 0 or 1e-6 <= abs(value) < 1e21):
        # Go writes these in 'f' notation, shortest digits padded with zeros: JSON readers see
        # an int whenever there is no fraction (2.689413816726323e16 -> 26894138167263230).
        text = go_float(value)
        return value if "." in text else int(text)
    return value


# --- the data key --------------------------------------------------------------------------


def _data_key(metadata: Metadata, identities: Identities, what: str) -> bytes:
    """sops.go GetDataKeyWithKeyServices for one group of age keys: the first that opens."""
    if identities.unsupported:
        raise NotHandled(identities.unsupported)
    import pyrage

    for armored in metadata.age:
        sealed = _dearmor(armored)
        try:
            data_key: bytes = pyrage.decrypt(sealed, list(identities.keys))
        except pyrage.DecryptError:
            continue
        if len(data_key) != DATA_KEY_BYTES:
            raise NotHandled("a data key that is not 32 bytes")
        return data_key
    raise _refusal(sops.EXIT_NO_MATCHING_KEY, what)


def _dearmor(armored: str) -> bytes:
    """The age file in an armored `enc`, accepted only exactly as age's armor writer wrote it:
    age and rage disagree on nothing there, whatever they accept beyond it."""
    lines = armored.split("\n")
    body = "".join(lines[1:-2])
    if len(lines) < 4 or lines[0] != _ARMOR_BEGIN or lines[-2:] != [_ARMOR_END, ""]:
        raise NotHandled("an age entry that is not canonically armored")
    sealed = _base64(body)
    if lines[1:-2] != [body[i:i + _ARMOR_COLUMNS] for i in range(0, len(body), _ARMOR_COLUMNS)]:
        raise NotHandled("an age entry that is not canonically armored")
    return sealed
