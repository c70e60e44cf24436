"""Every file cocflow writes reads the same through the in-process reader as through sops.

One repository goes through every write path cocflow has (new, with a recusal, from an email
with attachments, note, move, decide, recuse, attach, share) plus format-1
cases and evidence written as format 1 did. Every version of every file in its history is
then read with the reader and with the sops binary: the same document (cases, evidence as a
document and as bytes) or the same refusal, for the file as written and for tampered copies.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cocflow.adapters import sops
from cocflow.adapters.sops import Keyring
from cocflow.adapters.sops_reader import SopsReader, decrypt_with_sops
from cocflow.errors import CocflowError, NotHandled
from cocflow.operations.workspace import Workspace, decrypt_case
from tests.conftest import SENTINEL, Key, report_yaml
from tests.legacy import format1_case, write_format1_case, write_format1_evidence
from tests.shared_repo import cli, module_repo
from tests.test_integrity import TAMPERING, flip_inside

EMAIL = (f"From: Reporter <r@example.org>\nTo: coc@example.org\nSubject: Report {SENTINEL}\n"
         "Date: Mon, 23 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n"
         f"It happened. {SENTINEL}\n--XX\nContent-Type: application/octet-stream\n"
         "Content-Disposition: attachment; filename=shot.png\nContent-Transfer-Encoding: base64\n\n"
         "/9j/4AAQSkZJRgABAQ==\n--XX--\n")

EVIDENCE_TAMPERING: dict[str, Callable[[str], str]] = {
    "data": lambda t: flip_inside(t, '"data": "ENC[AES256_GCM,data:'),
    "mac": lambda t: flip_inside(t, '"mac": "ENC[AES256_GCM,data:'),
    "truncated": lambda t: t[: len(t) // 2],
    "lastmodified": lambda t: re.sub(r'"lastmodified": "[^"]+"',
                                     '"lastmodified": "2020-01-01T00:00:00Z"', t),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    """(every version of every file under cases/ the history holds, the keys)."""
    base = tmp_path_factory.mktemp("parity")
    with module_repo(base) as (root, keys):
        alice = keys["alice"]

        def ok(*args: str, key: Key = alice, stdin: str | None = None) -> None:
            result = cli("-C", str(root), *args, key=key, input=stdin)
            assert result.exit_code == 0, (args, result.stderr)

        config = root / "cocflow.yaml"
        config.write_text(config.read_text() + "triage_readers: [bob]\n")
        subprocess.run(["git", "-C", str(root), "commit", "-qam", "triage readers"], check=True)
        ok("team", "accept", "--yes")  # a triage reader widens access: accepted by hand
        ok("new", "--from", "-", stdin=report_yaml())
        ok("new", "--from", "-", "--recuse", "bob", stdin=report_yaml(
            reported=[{"name": "Zoë", "contact": "z@example.org", "team_handle": None}]))
        ok("new", "--from-email", "-", stdin=EMAIL)
        ok("note", "2026-0001", "-m", f"called them {SENTINEL}")
        ok("move", "2026-0001", "acknowledged", "-m", "replied")
        attachment = base / "log.bin"
        attachment.write_bytes(bytes(range(256)) * 3 + SENTINEL.encode())
        ok("attach", "2026-0001", str(attachment))
        ok("share", "2026-0003", "--team", "--yes")
        ok("recuse", "2026-0001", "carol", "--reason", "conflict-of-interest")
        recipients = [keys[h].public for h in ("alice", "bob", "carol")]
        document = format1_case("2026-0009", f"Old case {SENTINEL}")
        write_format1_case(root, document, recipients)
        write_format1_evidence(root, "2026-0009", 1, b"\x89PNG\r\n\x1a\n\xff" + b"x" * 40,
                               recipients)
        subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(root), "commit", "-qm", "format 1", "--no-verify"],
                       check=True)
        yield _every_version(root), keys, root


def _every_version(root: Path) -> list[tuple[str, str]]:
    listing = subprocess.run(["git", "-C", str(root), "log", "--format=%H", "--", "cases"],
                             capture_output=True, text=True, check=True).stdout.split()
    found: dict[str, tuple[str, str]] = {}
    for commit in listing:
        files = subprocess.run(["git", "-C", str(root), "ls-tree", "-r", "--name-only", commit,
                                "cases"], capture_output=True, text=True, check=True).stdout
        for name in files.split():
            text = subprocess.run(["git", "-C", str(root), "show", f"{commit}:{name}"],
                                  capture_output=True, text=True, check=True).stdout
            found.setdefault(text, (name, text))
    return sorted(found.values())


def outcome(read: Callable[[], Any]) -> Any:
    """What a read gave, exactly (types and order), or the class of the error."""
    try:
        value = read()
    except CocflowError as exc:
        return type(exc)
    return value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False)


def both(text: str, name: str, key: Key) -> list[tuple[Any, Any]]:
    """(reader, sops) outcomes: the document, and for evidence the bytes too."""
    keyring = Keyring(key.file)
    kind = "json" if name.endswith(".json") else "yaml"
    pairs = [(outcome(lambda: SopsReader(keyring).decrypt(text, "f", input_type=kind)),
              outcome(lambda: decrypt_with_sops(text, "f", keyring, input_type=kind)))]
    if kind == "json":
        pairs.append((outcome(lambda: SopsReader(keyring).decrypt_bytes(text, "f")),
                      outcome(lambda: sops.decrypt_bytes(text, "f", keyring))))
    return pairs


def test_the_repository_holds_every_kind_of_file(written):
    versions, _keys, _root = written
    names = {name for name, _ in versions}
    assert any(n.endswith(".sops.json") for n in names)  # evidence, formats 1 and 2
    assert "cases/2026-0009.yaml" in names and "cases/2026-0003.yaml" in names
    assert len(versions) >= 15


@pytest.mark.parametrize("holder", ["alice", "bob", "carol"])
def test_every_version_reads_as_sops_reads_it(written, holder):
    versions, keys, _root = written
    in_process = 0
    for name, text in versions:
        for mine, theirs in both(text, name, keys[holder]):
            assert mine == theirs, name
        try:
            SopsReader(Keyring(keys[holder].file)).decrypt_in_process(
                text, "f", input_type="json" if name.endswith(".json") else "yaml")
            in_process += 1
        except (NotHandled, CocflowError):
            pass
    if holder == "alice":  # the reader itself answered for the cases and utf-8 evidence
        assert in_process >= len([n for n, _ in versions if n.endswith(".yaml")])


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_every_tampered_case_version_is_refused_alike(written, kind):
    versions, keys, _root = written
    for name, text in versions:
        try:
            tampered = TAMPERING[kind](text)
        except ValueError:
            continue  # this tampering needs the format-2 body, which format 1 lacks
        if name.endswith(".yaml"):
            [(mine, theirs)] = both(tampered, name, keys["alice"])
            assert mine == theirs, name
            assert not isinstance(mine, str) or SENTINEL in mine  # refused, or untouched


@pytest.mark.parametrize("kind", sorted(EVIDENCE_TAMPERING))
def test_every_tampered_evidence_version_is_refused_alike(written, kind):
    versions, keys, _root = written
    for name, text in versions:
        if name.endswith(".json"):
            for mine, theirs in both(EVIDENCE_TAMPERING[kind](text), name, keys["alice"]):
                assert mine == theirs, name
                assert isinstance(mine, type), name


def test_recipients_of_versions_read_fast_are_the_ones_yaml_finds(written):
    from cocflow.adapters import sops_recipients

    versions, _keys, _root = written
    for _name, text in versions:
        assert sops_recipients.recipients_of(text) == sops.recipients_of(text)
        for kind in ("meta status", "mac removed", "sops block removed", "truncated"):
            changed = TAMPERING[kind](text) if not text.startswith("{") else text[:40]
            assert sops_recipients.recipients_of(changed) == sops.recipients_of(changed)
    odd = versions[0][1].replace("        - recipient: age1", "        - recipient: \"age1", 1)
    assert sops_recipients.recipients_of(odd) == sops.recipients_of(odd)


def test_decrypt_case_reads_every_current_case_in_process(written, monkeypatch):
    _versions, keys, root = written
    ws = Workspace(root, Keyring(keys["alice"].file))

    def no_binary(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the sops binary was asked")

    monkeypatch.setattr("cocflow.adapters.sops_reader.decrypt_with_sops", no_binary)
    for case_id in ws.store.ids():  # alice reads them all, format 1 included
        assert decrypt_case(ws, case_id)["meta"]["id"] == case_id
