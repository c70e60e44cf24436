"""A loaded case repository, and the one load / re-encrypt / commit path every command uses."""

from __future__ import annotations

import contextlib
import dataclasses
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
    put_in_place,
    write_atomic,
)
from cocflow.domain import sealed
from cocflow.domain.access import (
    Roster,
    count_readers,
    desired_recipients,
    next_readers,
    recipient_change,
    require_enough_readers,
)
from cocflow.domain.case import plaintext_leaves, recused_keys
from cocflow.domain.roster import (
    RosterChange,
    effective_roster,
    effective_triage_readers,
    fingerprint,
    roster_changes,
    triage_changes,
)
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
            found = AcceptedRoster(self.team_roster, self.git.head(), self.config.triage_readers)
            save_accepted_roster(self.accepted_roster_path, found)
        elif found.triage_readers is None:  # kept before triage readers were
            # None were accepted then: cocflow.yaml's list now (anyone can push it) waits for
            # `team accept` like any other addition.
            found = dataclasses.replace(found, triage_readers=())
            save_accepted_roster(self.accepted_roster_path, found)
        return found

    @property
    def accepted_roster_path(self) -> Path:
        return self.git.git_path(ACCEPTED_ROSTER)

    @cached_property
    def roster(self) -> Roster:
        """The roster every write encrypts to: accepted, minus what team.yaml removed since."""
        return effective_roster(self.accepted.roster, self.team_roster)

    def roster_changes(self) -> list[RosterChange]:
        """Every change to team.yaml and cocflow.yaml's triage_readers since accepted."""
        found = [*roster_changes(self.accepted.roster, self.team_roster),
                 *triage_changes(self.accepted.triage_readers or (), self.config.triage_readers)]
        return sorted(found, key=lambda change: (change.handle, change.kind))

    def pending_roster_changes(self) -> list[RosterChange]:
        """What team.yaml (or triage_readers) adds beyond the accepted roster; waits for
        `team accept`."""
        return [change for change in self.roster_changes() if change.widening]

    @property
    def triage_readers(self) -> tuple[str, ...]:
        """cocflow.yaml's triage readers, those this clone accepted only."""
        return effective_triage_readers(self.accepted.triage_readers or (),
                                        self.config.triage_readers)

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
        from cocflow.adapters.key_files import local_key_problem

        # A key that cannot be used (an SSH key whose passphrase sops could not ask for, a
        # file with only a public key) is a fact about this machine, never about the file.
        usable = local_key_problem() is None
        if usable and set(public_keys(ws.keyring)) & set(sops.recipients_of(text)):
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
    """A recusal written before keys were recorded gets the keys its member holds now: as
    this clone accepted them, or as team.yaml lists them."""
    for record in document.get("recusals") or []:
        if not record.get("keys"):
            held = [member.keys for roster in (ws.accepted.roster, ws.team_roster)
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
        how = ("set `triage_readers` in cocflow.yaml (each member's clone accepts them with "
               "`cocflow team accept`) or add an escrow key to team.yaml"
               if triage else "a member who reads it can add readers with `cocflow share`")
        raise InvalidInput(f"case {case_id} would be readable by {found} reader(s), fewer than "
                           f"min_recipients ({ws.roster.min_recipients}): {how}")


def reencrypt(ws: Workspace, document: dict[str, Any],
              granted: Sequence[str] = ()) -> list[tuple[Path, str]]:
    """THE re-encrypt step: the case, and each evidence file it lists whose recipients differ
    from the case's readers or that is still in format 1.

    One post-condition for all of them: recipients equal the assessment's desired set (and,
    for the case, no plaintext leaf). Returns (path, ciphertext) pairs; nothing is written.
    """
    case_id = document["meta"]["id"]
    writes = [(ws.store.path(case_id), seal(ws, document, granted))]
    # seal recorded the readers: the evidence follows its case exactly.
    return writes + reencrypt_evidence(ws, document, document["readers"])


def reencrypt_evidence(ws: Workspace, document: dict[str, Any], readers: Sequence[str]
                       ) -> list[tuple[Path, str]]:
    """Each evidence file the verified case lists whose recipients differ from `readers` or
    that is still in format 1, at exactly `readers` in format 2 with a new data key.

    The case's encrypted evidence list is the only authority: a file in its folder that the
    list does not name is never re-encrypted (`verify` and `evidence` report it).
    """
    case_id = document["meta"]["id"]

    def rewrite(record: dict[str, Any]) -> tuple[Path, str] | None:
        path = ws.store.evidence_path(case_id, record["number"])
        if not path.is_file():
            return None  # reading it says the file is missing
        text = path.read_text(encoding="utf-8")
        if not recipient_change(sops.recipients_of(text), readers).needed and \
                evidence_padded(text):
            return None
        return path, reencrypt_evidence_file(text, path, case_id, record, readers, ws.reader)

    rewritten = parallel(rewrite, list(document.get("evidence") or []))
    return [entry for entry in rewritten if entry is not None]


def reencrypt_evidence_file(text: str, path: Path, case_id: str, record: dict[str, Any],
                            desired: Sequence[str], reader: SopsReader) -> str:
    """One listed evidence file at the `desired` recipients: decrypted, checked against the
    case's record (its binding, size and sha256), sealed with its binding and encrypted anew.
    Never `sops rotate`, which would pass on whatever the file holds without looking."""
    what = f"evidence {path.name} of case {case_id}"
    require_evidence_document(text, what)
    plaintext = reader.decrypt_bytes(text, what)
    data = sealed.open_evidence(plaintext)
    problem = sealed.binding_problem(sealed.evidence_binding(plaintext), case_id,
                                     record["number"], record["sha256"])
    if problem is None and (len(data) != record["size"]
                            or hashlib.sha256(data).hexdigest() != record["sha256"]):
        problem = "it does not match its recorded sha256: the file was replaced"
    if problem is not None:
        raise IntegrityError(f"{what}: {problem}; nothing was written: restore it from git "
                             "history and tell the team")
    sealed_data = sealed.seal_evidence(data, record["number"], record["sha256"], case_id)
    new = sops.encrypt_bytes(sealed_data, desired, reader.keyring)
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
    COMMITTED.append(message)


# The commit messages this process has committed (no case content: ids and verbs only), so
# that an error after a commit can say the change is in, instead of "nothing was changed".
COMMITTED: list[str] = []


def commit_prepared(ws: Workspace, prepared: Sequence[tuple[Path, Path]], message: str,
                    unchanged: Sequence[Path] = ()) -> None:
    """`commit` for files already written beside their targets (`write_beside`), as a rekey of
    thousands of cases does to keep no ciphertext in memory: each (target, temp file) is
    renamed into place and committed once. Temp files never committed are removed."""
    try:
        with ws.git.one_commit([*(path for path, _ in prepared), *unchanged], message):
            for path, temp in prepared:
                put_in_place(temp, path)
        COMMITTED.append(message)
    finally:
        for _path, temp in prepared:
            temp.unlink(missing_ok=True)


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
