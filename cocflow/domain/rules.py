"""The keyless check's rules: stable codes, findings, and the checks that need no I/O.

Messages name files, case ids, key names, paths inside a document, line numbers and public
keys; never a value. `operations/check.py` reads the files and applies these rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cocflow.domain import sealed
from cocflow.domain.access import REKEY, Roster, assess, short_key
from cocflow.domain.case import CASE_ID, is_ciphertext, recused_handles
from cocflow.domain.roster import (
    KEY_ADDED,
    KEY_REMOVED,
    REMOVED,
    RENAMED,
    fingerprint,
    roster_changes,
)

# Stable codes: scripts and CI logs rely on them; the README lists them.
CODES = {
    "not-sops": "a file in cases/ that is not a SOPS document (or not readable as one)",
    "plaintext": "a value outside top-level meta that is not encrypted",
    "plaintext-comment": "a YAML comment that is not encrypted",
    "meta-invalid": "meta missing, or not matching the schema (extra keys, dates, status)",
    "format-1": "a case or evidence file still in format 1, which leaks lengths to a keyless "
                "reader (run `cocflow migrate`)",
    "format-unknown": "a case in a format this cocflow does not know (upgrade cocflow)",
    "body-invalid": "a format-2 case whose encrypted part is not one padded `body` value",
    "id-mismatch": "the file name is not cases/<meta.id>.yaml",
    "duplicate-id": "two files hold the same case id",
    "recipient-recused": "a recused member's key is a recipient",
    "recipient-unknown": "a recipient is no member's key nor escrow (a departed member?)",
    "recipient-duplicate": "a recipient is listed twice",
    "recipient-not-age": "keys of another kind (pgp, kms, ...) can open the file",
    "too-few-recipients": "fewer than min_recipients members can read the case",
    "sops-no-mac": "sops metadata without a MAC",
    "sops-version": "a sops format version cocflow does not know (it knows 3.x)",
    "sops-settings": "sops settings other than cocflow's (unencrypted_regex ^meta$ only)",
    "evidence-orphan": "evidence in cases/<id>/ without cases/<id>.yaml",
    "unexpected-file": "a file in cases/ that is neither a case nor evidence",
    "team-invalid": "team.yaml missing or invalid",
    "roster-key-shared": "one key held by two members, or by a member and escrow",
    "recused-unknown": "a case's recused handle is in no roster entry (renamed or removed)",
    "recused-key-returned": "team.yaml gives a key a recused member held to someone else",
    "recused-member-changed": "the pushed commits remove, rename or change the keys of a "
                              "member recused from a case (`check --since BASE`)",
    "config-invalid": "cocflow.yaml missing or invalid",
    "setting-weak": "report_min_count below 3 or min_recipients below 2: protection turned down",
    "file-not-allowed": "a file outside what a case repository holds (a report, an email, "
                        "notes): plaintext must never be committed",
    # History (`check --since REF`, CI's pushed range, `sync`): domain/history.py
    "history-revision": "a case file changed but meta.revision did not grow by exactly one "
                        "(an older version pushed again, or a plaintext edit)",
    "history-rollback": "a case file went back to a version it had before",
    "history-fixed-field": "meta.id, meta.received_at or meta.respond_by changed",
    "history-deadline": "a new case's respond_by is not received_at + response_days",
    "history-recusal-dropped": "a recused handle or a recused member's key left meta",
    "history-deleted": "a case file was deleted or renamed",
    "history-meta-edited": "a case file changed but kept its sops MAC: plaintext edited "
                           "without the key",
    "history-evidence": "an evidence file changed in a commit that did not write its case",
    "setting-changed": "response_days, warn_days or allow in cocflow.yaml changed",
}

KNOWN_SOPS_MAJOR = "3"
CASE_UNENCRYPTED_REGEX = "^meta$"
OTHER_KEY_KINDS = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "key_groups")
OTHER_SETTINGS = ("encrypted_regex", "unencrypted_suffix", "encrypted_suffix",
                  "encrypted_comment_regex", "unencrypted_comment_regex", "mac_only_encrypted")
ALLOWED_IN_CASES = frozenset({"README.md", ".gitkeep"})
SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A comment sops did not encrypt: `#` at a line start or after a blank, not followed by ENC[.
PLAIN_COMMENT = re.compile(r"(?:^|\s)#(?!ENC\[)")


@dataclass(frozen=True)
class Problem:
    """One finding: where, which case, a stable code, and a message without case content."""

    file: str
    case: str | None
    code: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "case": self.case, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one check run."""

    cases: int
    problems: tuple[Problem, ...]
    staged: bool = False
    files_in_scope: int = 0
    triage: tuple[str, ...] = ()  # case ids not yet shared with the team (meta.triage)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases": self.cases,
                "problems": [p.to_json() for p in self.problems], "triage": list(self.triage)}


@dataclass
class CaseInfo:
    """What other checks need to know about one case file."""

    label: str | None
    meta_id: str | None = None
    recused: tuple[str, ...] = ()
    triage: bool = False
    recused_keys: tuple[str, ...] = ()


@dataclass
class Findings:
    """Problems of one file, all labelled with its path and case id."""

    file: str
    case: str | None
    found: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        assert code in CODES, code
        self.found.append(Problem(self.file, self.case, code, message))


def case_info(meta: Any, fallback: str | None) -> CaseInfo:
    if not isinstance(meta, dict):
        return CaseInfo(fallback)
    meta_id = meta.get("id") if isinstance(meta.get("id"), str) else None
    meta_id = meta_id if meta_id and CASE_ID.fullmatch(meta_id) else None
    prints = meta.get("recused_keys")
    prints = tuple(p for p in prints if isinstance(p, str)) if isinstance(prints, list) else ()
    return CaseInfo(meta_id or fallback, meta_id, recused_handles(meta) or (),
                    meta.get("triage") is True, prints)


def in_meta(message: str) -> str:
    return "meta" + message[len("(top)"):] if message.startswith("(top)") else f"meta.{message}"


def masked(value: Any) -> Any:
    """The same tree with odd key names replaced, so that paths never carry free text."""
    if isinstance(value, dict):
        return {(key if isinstance(key, str) and SAFE_NAME.fullmatch(key) else f"<key {n}>"):
                masked(sub) for n, (key, sub) in enumerate(value.items(), 1)}
    if isinstance(value, list):
        return [masked(sub) for sub in value]
    return value


def masked_outside_meta(document: dict[str, Any]) -> dict[str, Any]:
    """`masked(document)` with the values of `meta` and `sops` left out (None): what the
    plaintext and body rules read, without walking the two blocks they skip."""
    return {(key if isinstance(key, str) and SAFE_NAME.fullmatch(key) else f"<key {n}>"):
            (None if key in ("meta", "sops") else masked(sub))
            for n, (key, sub) in enumerate(document.items(), 1)}


def check_body(document: dict[str, Any], findings: Findings) -> None:
    """Format 2 keeps everything but meta in one value of a bucket's size: no key names, no
    lengths."""
    extra = [key for key in masked_outside_meta(document)
             if key not in ("meta", "sops", sealed.BODY)]
    if extra:
        findings.add("body-invalid", f"keys beside meta and body: {', '.join(extra[:5])}")
    if sealed.BODY not in document:
        findings.add("body-invalid", "no `body` value")
        return
    size = sealed.encrypted_size(document[sealed.BODY])
    if size is not None and not sealed.is_bucket(size):  # plaintext is reported as such
        findings.add("body-invalid", "the body is not padded to a bucket: its size tells a "
                     "keyless reader how much the case holds")


def plain_comment_lines(text: str) -> list[int]:
    # sops encrypts comments outside unencrypted keys as `#ENC[...]` and cocflow writes none;
    # ciphertext, base64 and meta values hold no ` #`, so any other `#` starts a plain comment.
    # A line break before `#` is a blank too, so one search over the text gives the verdict.
    if "#" not in text or not PLAIN_COMMENT.search(text):
        return []
    return [n for n, line in enumerate(text.splitlines(), 1) if PLAIN_COMMENT.search(line)]


def check_sops_block(block: dict[str, Any], findings: Findings, case_file: bool) -> None:
    if not is_ciphertext(block.get("mac")):
        findings.add("sops-no-mac", "sops metadata has no MAC: nothing proves the file is "
                     "unchanged since it was encrypted; restore it from git history")
    version = str(block.get("version", ""))
    if version.split(".")[0] != KNOWN_SOPS_MAJOR:
        shown = version if re.fullmatch(r"[0-9][0-9.]{0,15}", version) else "missing"
        findings.add("sops-version", f"sops format version {shown} is not one cocflow knows "
                     f"({KNOWN_SOPS_MAJOR}.x)")
    for kind in OTHER_KEY_KINDS:
        if block.get(kind):
            findings.add("recipient-not-age", f"sops.{kind} lists keys: cocflow encrypts to age "
                         f"keys only, and whoever holds those can read it; {REKEY}")
    if case_file:
        changed = [name for name in OTHER_SETTINGS if block.get(name)]
        if block.get("unencrypted_regex") != CASE_UNENCRYPTED_REGEX or changed:
            findings.add("sops-settings", "encrypted with other sops settings than cocflow's "
                         f"(unencrypted_regex {CASE_UNENCRYPTED_REGEX} only)")


def check_recipients(actual: list[str], roster: Roster, case: CaseInfo,
                      findings: Findings) -> None:
    """Recipients must be what the one recipient policy (`assess`) calls for."""
    for code, message in _recipient_findings(roster, tuple(case.recused), tuple(actual),
                                              case.triage):
        findings.add(code, message)


@lru_cache(maxsize=1024)
def _recipient_findings(roster: Roster, recused: tuple[str, ...], actual: tuple[str, ...],
                        triage: bool) -> tuple[tuple[str, str], ...]:
    # Thousands of cases share a few recipient lists: each list is assessed once. Findings
    # name handles and keys, never the case, so one answer serves every case with the list.
    return tuple((finding.code, finding.message)
                 for finding in assess(roster, "", recused, actual, triage).findings)


def duplicates(infos: dict[str, CaseInfo]) -> list[Problem]:
    files_of: dict[str, list[str]] = defaultdict(list)
    for path, info in infos.items():
        if info.meta_id:
            files_of[info.meta_id].append(path)
    problems = []
    for case_id, files in files_of.items():
        for path in files if len(files) > 1 else ():
            others = ", ".join(f for f in files if f != path)
            problems.append(Problem(path, case_id, "duplicate-id",
                                    f"case id {case_id} is also in {others}"))
    return problems


def roster_findings(roster: Roster) -> list[Problem]:
    """Keys are unique: one key belongs to one member or to escrow, never two."""
    holders: dict[str, list[str]] = defaultdict(list)
    for member in roster.members:
        for key in dict.fromkeys(member.keys):
            holders[key].append(member.handle)
    for key in dict.fromkeys(roster.escrow):
        holders[key].append("escrow")
    return [Problem("team.yaml", None, "roster-key-shared",
                    f"key {short_key(key)} is held by {' and '.join(who)}: a key belongs to "
                    "one member or to escrow")
            for key, who in holders.items() if len(who) > 1]


def recusal_findings(info: CaseInfo, roster: Roster) -> list[Problem]:
    """No key a recused member held may come back under another name or as escrow.

    With the keys recorded (meta.recused_keys), a member who left is no finding and a
    renamed one is caught by their keys; a case written before keys were recorded cannot
    tell the two apart, so its missing recused handle is a finding.
    """
    found = [] if info.recused_keys else [
        Problem("team.yaml", info.label, "recused-unknown",
                f"{handle} is recused from case {info.label} but team.yaml has no member of "
                "that name: a recused handle is never renamed or reused")
        for handle in info.recused if roster.member(handle) is None]
    returned = set(info.recused_keys)
    for member in roster.members:
        for key in member.keys:
            if fingerprint(key) in returned and member.handle not in info.recused:
                found.append(Problem("team.yaml", info.label, "recused-key-returned",
                                     f"{member.handle} holds key {fingerprint(key)}, which a "
                                     f"member recused from case {info.label} held"))
    found += [Problem("team.yaml", info.label, "recused-key-returned",
                      f"escrow key {fingerprint(key)} was held by a member recused from case "
                      f"{info.label}") for key in roster.escrow if fingerprint(key) in returned]
    return found


def recused_member_changes(before: Roster, after: Roster,
                           recused: Mapping[str, Sequence[str]]) -> list[Problem]:
    """Changes from `before` (the roster at the base of a push) to `after` that remove,
    rename or change the keys of a member recused from a case (`recused`: handle -> cases).

    Never decided by the push alone: the team checks such a change with the member.
    """
    touching = (REMOVED, RENAMED, KEY_ADDED, KEY_REMOVED)
    found = []
    for change in roster_changes(before, after):
        cases = recused.get(change.handle)
        if cases and change.kind in touching:
            found.append(Problem("team.yaml", cases[0], "recused-member-changed",
                                 f"the pushed commits change team.yaml: {change.describe()}; "
                                 f"{change.handle} is recused from {len(cases)} case(s): check "
                                 "the change with them and the team before anyone accepts it"))
    return found
