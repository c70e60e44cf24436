"""A loaded case repository, and the one load / re-encrypt / commit path every command uses."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from cocflow.adapters import clock, schema, sops, sops_recipients, yamlio
from cocflow.adapters.config import (
    ACCEPTED_ROSTER,
    AcceptedRoster,
    Config,
    load_accepted_roster,
    load_config,
    load_roster,
    save_accepted_roster,
)
from cocflow.adapters.git import GitRepo
from cocflow.adapters.keys import local_keyring, public_keys, whoami
from cocflow.adapters.paths import find_root
from cocflow.adapters.sops import Keyring
from cocflow.adapters.sops_reader import SopsReader, decrypt_with_sops
from cocflow.adapters.store import (
    CASE_FILE_MAX_BYTES,
    CaseStore,
    case_file,
    case_label,
    write_atomic,
)
from cocflow.domain import sealed
from cocflow.domain.access import (
    RecipientChange,
    Roster,
    count_readers,
    desired_recipients,
    next_readers,
    recipient_change,
    require_enough_readers,
)
from cocflow.domain.case import plaintext_leaves, recused_keys
from cocflow.domain.evidence import number_of as evidence_number
from cocflow.domain.roster import RosterChange, effective_roster, fingerprint, pending
from cocflow.errors import (
    AccessDenied,
    IntegrityError,
    InvalidInput,
    NotHandled,
    Tampered,
    Unreadable,
)
from cocflow.operations.parallel import parallel


@dataclass
class Workspace:
    """One case repository as seen by one local key."""

    root: Path
    keyring: Keyring

    @classmethod
    def open(cls, repo: Path | None = None, keyring: Keyring | None = None) -> Workspace:
        """The repository at `repo` or above the current directory."""
        return cls(find_root(repo), keyring if keyring is not None else local_keyring())

    @classmethod
    def open_keyless(cls, repo: Path | None = None) -> Workspace:
        """For commands that read only plaintext meta: no key is looked for."""
        return cls(find_root(repo), Keyring())

    @cached_property
    def store(self) -> CaseStore:
        return CaseStore(self.root)

    @cached_property
    def git(self) -> GitRepo:
        from cocflow.operations.hooks import verify_staged

        return GitRepo(self.root, verify_staged)

    @cached_property
    def reader(self) -> SopsReader:
        """Decrypts case and evidence files in-process (sops for what it does not handle)."""
        return SopsReader(self.keyring)

    @cached_property
    def team_roster(self) -> Roster:
        """team.yaml as pushed: shown to people, never trusted to add a reader."""
        return load_roster(self.root)

    @cached_property
    def accepted(self) -> AcceptedRoster:
        """The roster this clone accepted; on first use, team.yaml as it is (like ssh)."""
        found = load_accepted_roster(self.accepted_roster_path)
        if found is None:
            found = AcceptedRoster(self.team_roster, self.git.head())
            save_accepted_roster(self.accepted_roster_path, found)
        return found

    @property
    def accepted_roster_path(self) -> Path:
        return self.git.git_path(ACCEPTED_ROSTER)

    @cached_property
    def roster(self) -> Roster:
        """The roster every write encrypts to: accepted, minus what team.yaml removed since."""
        return effective_roster(self.accepted.roster, self.team_roster)

    def pending_roster_changes(self) -> list[RosterChange]:
        """What team.yaml adds beyond the accepted roster; waits for `team accept`."""
        return pending(self.accepted.roster, self.team_roster)

    @cached_property
    def config(self) -> Config:
        return load_config(self.root)

    @cached_property
    def actor(self) -> str:
        """The roster handle of whoever runs the command."""
        return whoami(self.roster, self.keyring)

    def now(self) -> datetime:
        return clock.now()


def decrypt_case(ws: Workspace, case_id: str, ciphertext: str | None = None,
                 *, full_schema: bool = True,
                 repaired: list[str] | None = None) -> dict[str, Any]:
    """The whole case, decrypted, defaults restored, checked against the schema and its name.

    Either format is read; a format-1 case comes back in the format-2 model (sealed.upgrade).
    Anything changed without the key is Tampered, naming the file, never data; a case that
    decrypts intact but that this code cannot read is Unreadable. `full_schema=False`
    (read-only display) keeps the MAC, name and shape checks but skips jsonschema, whose
    import alone costs more than the decryption; every write and `verify` still check the
    full schema. The workspace's in-process reader decrypts and checks the MAC exactly as
    sops does (sops itself for whatever it does not handle). Paths of format-1 values that
    sops had turned into numbers, given back as text, are added to `repaired`.
    """
    label, file = case_label(case_id), case_file(case_id)
    text = ciphertext if ciphertext is not None else ws.store.read(case_id)
    try:
        decrypted = _decrypted(ws, text, label, file)
    except Tampered as exc:
        raise Tampered(label, exc.reason, file) from None
    except Unreadable as exc:
        raise exc.about(label, file) from None
    except AccessDenied:
        if set(public_keys(ws.keyring)) & set(sops.recipients_of(text)):
            raise Tampered(
                label, "your key is a listed recipient but its key slot does not open", file
            ) from None
        raise
    try:
        return _case_from(decrypted, case_id, full_schema, repaired, (label, file))
    except Unreadable as exc:
        raise exc.about(label, file) from None


def _decrypted(ws: Workspace, text: str, label: str, file: str) -> dict[str, Any]:
    """The MAC-checked document. The reader's own parse is the envelope check when it reads
    the file in-process (any change without the key fails the MAC, and whatever it cannot
    read exactly goes on); else the file is parsed with the untrusted-input limits and must
    look like a sops case before sops sees it."""
    if len(text) <= CASE_FILE_MAX_BYTES:
        with contextlib.suppress(NotHandled):
            return ws.reader.decrypt_in_process(text, label)
    sops.envelope(text, label, file)
    return decrypt_with_sops(text, label, ws.keyring)


def _case_from(decrypted: Any, case_id: str, full_schema: bool, repaired: list[str] | None,
               where: tuple[str, str]) -> dict[str, Any]:
    """The case model from what sops decrypted (its MAC already checked); `where` names the
    file in a Tampered error."""
    meta = decrypted.get("meta") if isinstance(decrypted, dict) else None
    if not isinstance(meta, dict):
        raise Tampered(where[0], "it decrypts to something that is not a case", where[1])
    stored = sealed.format_of(meta)
    if stored is None:
        raise Unreadable(f"it is in {sealed.describe_format(meta)}, which this version does "
                         "not know: upgrade cocflow")
    document = sealed.unseal(decrypted) if stored == sealed.FORMAT else decrypted
    if document["meta"].get("id") != case_id:
        raise Tampered(where[0], "the file holds another case: renamed or copied over", where[1])
    if stored == sealed.LEGACY_FORMAT:
        document, fixed = schema.text_repairs("case", document, "format1")
        found = schema.problems("case", document, "format1")
        if found:
            raise Unreadable(f"it does not match the format-1 case schema: {found[0]}")
        if repaired is not None:
            repaired += fixed
        return sealed.upgrade(schema.with_defaults("case", document, "format1"))
    document = dict(schema.with_defaults("case", document))
    found = schema.problems("case", document) if full_schema else _shape_problems(document)
    if found:
        raise Unreadable(f"it does not match the case schema: {found[0]}")
    return document


def _shape_problems(document: dict[str, Any]) -> list[str]:
    """The little a renderer relies on: a report with text, lists of mappings."""
    report = document.get("report")
    if not isinstance(report, dict) or not all(
            isinstance(report.get(key), str) for key in ("title", "description")):
        return ["report: missing title or description"]
    for key in ("timeline", "recusals", "evidence", "decisions"):
        value = document.get(key)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return [f"{key}: must be a list of mappings"]
    return []


def seal(ws: Workspace, document: dict[str, Any], granted: Sequence[str] = ()) -> str:
    """Encrypt the next version of a case (format 2, revision + 1) to its readers: validated,
    sealed into one padded body, checked afterwards.

    The readers are the verified list the case held, minus every key the policy no longer
    allows, plus what `granted` (by `share`) allows: no write widens access by itself. They
    are stored inside the encryption (`readers`), so the next write starts from them, not
    from the `sops:` block anyone can edit. `document` gets the readers it was sealed to.
    """
    case_id = document["meta"]["id"]
    recused = document["meta"]["recused"]
    require_enough_readers(ws.roster, recused, case_id)
    _record_recused_keys(ws, document)
    recipients = case_readers(ws, document, granted)
    _require_enough(ws, recipients, recused, case_id, bool(document["meta"].get("triage")))
    document["readers"] = recipients
    document["meta"]["recused_keys"] = sorted({fingerprint(k) for k in recused_keys(document)})
    document = schema.with_defaults("case", sealed.next_version(document))
    schema.validate("case", document, f"case {case_id}")
    transport = json.dumps(sealed.seal(document), ensure_ascii=False)
    ciphertext = sops.encrypt(transport, recipients, ws.keyring)
    require_recipients(ciphertext, recipients, f"case {case_id}")
    leaks = plaintext_leaves(yamlio.load(ciphertext))
    if leaks:  # never commit a value sops left readable
        raise IntegrityError(f"refusing to write case {case_id}: plaintext at {leaks[0]}")
    return ciphertext


def _record_recused_keys(ws: Workspace, document: dict[str, Any]) -> None:
    """A recusal written before keys were recorded gets the keys its member holds now."""
    for record in document.get("recusals") or []:
        if not record.get("keys"):
            held = [member.keys for roster in (ws.roster, ws.team_roster)
                    if (member := roster.member(record["handle"])) is not None]
            record["keys"] = sorted({key for keys in held for key in keys})


def case_readers(ws: Workspace, document: dict[str, Any],
                 granted: Sequence[str] = ()) -> list[str]:
    """Who reads the next version of a verified case: its readers, minus what the policy no
    longer allows, plus what `granted` (by `share`) allows."""
    previous = document.get("readers")
    if previous is None:
        previous = _readers_before_they_were_recorded(ws, document["meta"]["id"])
    return next_readers(ws.roster, document["meta"]["recused"], previous, granted,
                        recused_keys(document))


def _readers_before_they_were_recorded(ws: Workspace, case_id: str) -> list[str]:
    """A new case: everyone the policy allows. A case written before readers were recorded:
    its recipients as committed (trusted once; from then on the verified list decides)."""
    path = ws.store.path(case_id)
    if not path.is_file():
        return desired_recipients(ws.roster, [])
    return sops.recipients_of(path.read_text(encoding="utf-8"))


def _require_enough(ws: Workspace, readers: Sequence[str], recused: Sequence[str],
                    case_id: str, triage: bool) -> None:
    """min_recipients distinct readers: members, and in triage escrow counts as one."""
    found = count_readers(ws.roster, readers, recused, escrow_counts=triage)
    if found < ws.roster.min_recipients:
        how = ("set `triage_readers` in cocflow.yaml or add an escrow key to team.yaml"
               if triage else "a member who reads it can add readers with `cocflow share`")
        raise InvalidInput(f"case {case_id} would be readable by {found} reader(s), fewer than "
                           f"min_recipients ({ws.roster.min_recipients}): {how}")


def reencrypt(ws: Workspace, document: dict[str, Any],
              granted: Sequence[str] = ()) -> list[tuple[Path, str]]:
    """THE re-encrypt step: the case, and each evidence file whose recipients differ from the
    case's readers or that is still in format 1.

    One post-condition for all of them: recipients equal the assessment's desired set (and,
    for the case, no plaintext leaf). Returns (path, ciphertext) pairs; nothing is written.
    """
    case_id = document["meta"]["id"]
    writes = [(ws.store.path(case_id), seal(ws, document, granted))]
    # seal recorded the readers: the evidence follows its case exactly.
    return writes + reencrypt_evidence(ws, case_id, document["readers"])


def reencrypt_evidence(ws: Workspace, case_id: str, readers: Sequence[str]
                       ) -> list[tuple[Path, str]]:
    """Each evidence file of a case whose recipients differ from `readers` or that is still in
    format 1, at exactly `readers` in format 2 with a new data key; (path, ciphertext) pairs."""
    def rewrite(path: Path) -> tuple[Path, str] | None:
        text = path.read_text(encoding="utf-8")
        change = recipient_change(sops.recipients_of(text), readers)
        if not change.needed and evidence_padded(text):
            return None
        return path, reencrypt_evidence_file(text, path, case_id, change, readers, ws.reader)

    rewritten = parallel(rewrite, ws.store.evidence_files(case_id))
    return [entry for entry in rewritten if entry is not None]


def reencrypt_evidence_file(text: str, path: Path, case_id: str, change: RecipientChange,
                            desired: Sequence[str], reader: SopsReader) -> str:
    """One evidence file at the `desired` recipients (`change` from the current ones): a padded
    file is rotated (sops rotate); a format-1 file is decrypted, sealed with its header and
    padding, and encrypted anew."""
    what = f"evidence {path.name} of case {case_id}"
    require_evidence_document(text, what)
    if evidence_padded(text):
        new = sops.rotate(text, what, add=change.add, remove=change.remove, input_type="json",
                          keyring=reader.keyring)
    else:
        data = reader.decrypt_bytes(text, what)
        number = evidence_number(path.name) or 0
        plaintext = sealed.seal_evidence(data, number, hashlib.sha256(data).hexdigest())
        new = sops.encrypt_bytes(plaintext, desired, reader.keyring)
    require_recipients(new, desired, what)
    return new


def evidence_padded(text: str) -> bool:
    """Whether an evidence file's encrypted data has a bucket's size (format 2), keylessly."""
    try:
        document = json.loads(text)
    except ValueError:
        return False
    data = document.get("data") if isinstance(document, dict) else None
    return sealed.is_bucket(sealed.encrypted_size(data) or 0)


def commit(ws: Workspace, writes: Sequence[tuple[Path, str]], message: str,
           unchanged: Sequence[Path] = ()) -> None:
    """THE commit step: write each file atomically, check what is staged, commit once.

    `unchanged` files must be committed as they are (e.g. the roster a rekey followed). On
    any failure the files, the index and HEAD are as before.
    """
    with ws.git.one_commit([*(path for path, _ in writes), *unchanged], message):
        for path, text in writes:
            write_atomic(path, text)


def save_case(ws: Workspace, document: dict[str, Any], message: str,
              also: tuple[tuple[Path, str], ...] = (), granted: Sequence[str] = ()) -> Path:
    """Re-encrypt the case (and its evidence, when its recipients changed) and commit once."""
    writes = reencrypt(ws, document, granted)
    commit(ws, [*writes, *also], message)
    return writes[0][0]


def require_recipients(ciphertext: str, recipients: Iterable[str], what: str) -> None:
    """The post-condition of every encryption: exactly these recipients, no more, no fewer."""
    if set(sops_recipients.recipients_of(ciphertext)) != set(recipients):
        raise IntegrityError(f"refusing to write {what}: sops did not encrypt it to exactly the "
                             "case's recipients")


def require_evidence_document(text: str, what: str) -> None:
    """An evidence file must be a sops JSON document before anything decrypts or rotates it."""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "data" not in document or "sops" not in document:
        raise IntegrityError(f"{what} is not a sops document; restore it from git history")
