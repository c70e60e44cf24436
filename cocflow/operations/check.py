"""Keyless repository checks (CI, pre-commit): every problem, and never any case content.

Messages name files, case ids, key names, paths inside a document, line numbers and public
keys; never a value. The checks parse files themselves instead of trusting sops' own
settings, and read exactly what sops would read (the parsed `sops:` block).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from cocflow.adapters import schema, sops, yamlio
from cocflow.adapters.config import TEAM_FILE, validate_roster
from cocflow.adapters.git import GitRepo
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.adapters.store import CASES_DIR, case_id_of, read_meta
from cocflow.domain.access import REKEY, Roster, assess
from cocflow.domain.case import CASE_ID, is_ciphertext, plaintext_leaves, recused_handles
from cocflow.errors import CocflowError

# Stable codes: scripts and CI logs rely on them; the README lists them.
CODES = {
    "not-sops": "a file in cases/ that is not a SOPS document (or not readable as one)",
    "plaintext": "a value outside top-level meta that is not encrypted",
    "plaintext-comment": "a YAML comment that is not encrypted",
    "meta-invalid": "meta missing, or not matching the schema (extra keys, dates, status)",
    "id-mismatch": "the file name is not cases/<meta.id>.yaml",
    "duplicate-id": "two files hold the same case id",
    "recipient-recused": "a recused member's key is a recipient",
    "recipient-unknown": "a recipient is no member's key nor escrow (a departed member?)",
    "recipient-missing": "a member who is not recused (or an escrow key) is not a recipient",
    "recipient-duplicate": "a recipient is listed twice",
    "recipient-not-age": "keys of another kind (pgp, kms, ...) can open the file",
    "too-few-recipients": "fewer than min_recipients members can read the case",
    "sops-no-mac": "sops metadata without a MAC",
    "sops-version": "a sops format version cocflow does not know (it knows 3.x)",
    "sops-settings": "sops settings other than cocflow's (unencrypted_regex ^meta$ only)",
    "evidence-orphan": "evidence in cases/<id>/ without cases/<id>.yaml",
    "unexpected-file": "a file in cases/ that is neither a case nor evidence",
    "team-invalid": "team.yaml missing or invalid",
    "config-invalid": "cocflow.yaml missing or invalid",
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

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases": self.cases,
                "problems": [p.to_json() for p in self.problems]}


class Snapshot(Protocol):
    """The files a check reads: the working tree, or the versions staged in the index."""

    def paths(self) -> list[str]: ...

    def read(self, path: str) -> bytes: ...


class WorkingTree:
    """Files as they are on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def paths(self) -> list[str]:
        found = [name for name in (TEAM_FILE, CONFIG_FILE) if (self.root / name).is_file()]
        cases = self.root / CASES_DIR
        if cases.is_dir():
            for path in sorted(cases.rglob("*")):
                # *.tmp are cocflow's own atomic-write files, ignored by git.
                if path.is_file() and not path.name.endswith(".tmp"):
                    found.append(path.relative_to(self.root).as_posix())
        return found

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


class StagedIndex:
    """Files as staged in the git index: what the next commit will hold."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.entries = repo.index_entries(f"{CASES_DIR}/", TEAM_FILE, CONFIG_FILE)

    def paths(self) -> list[str]:
        return sorted(self.entries)

    def read(self, path: str) -> bytes:
        return self.repo.blob(self.entries[path])


def check_repository(root: Path, staged: bool = False) -> CheckReport:
    """Check the working tree, or (staged) the files the next commit changes, as staged."""
    if not staged:
        return run_checks(WorkingTree(root))
    repo = GitRepo(root)
    return run_checks(StagedIndex(repo), scope=repo.staged_paths())


@dataclass
class CaseInfo:
    """What other checks need to know about one case file."""

    label: str | None
    meta_id: str | None = None
    recused: tuple[str, ...] = ()


@dataclass
class _Findings:
    """Problems of one file, all labelled with its path and case id."""

    file: str
    case: str | None
    found: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        assert code in CODES, code
        self.found.append(Problem(self.file, self.case, code, message))


def run_checks(snapshot: Snapshot, scope: set[str] | None = None) -> CheckReport:
    """Every problem in the snapshot; with a scope, only those of the files in it."""
    paths = snapshot.paths()
    def wanted(path: str) -> bool:
        return scope is None or path in scope

    roster, problems = _load_team(snapshot, paths)
    problems += _check_config(snapshot, paths)
    case_paths = [path for path in paths if _is_case_file(path)]
    infos: dict[str, CaseInfo] = {}
    for path in case_paths:
        data = snapshot.read(path)
        if wanted(path):
            infos[path], found = check_case(path, data, roster)
            problems += found
        else:
            infos[path] = _light_info(path, data)
    problems += _duplicates(infos)
    by_id = {info.meta_id: info for info in infos.values() if info.meta_id}
    for path in paths:
        if path.startswith(f"{CASES_DIR}/") and path not in infos and wanted(path):
            problems += _check_other(path, snapshot, by_id, roster)
    kept = tuple(p for p in problems if wanted(p.file))
    in_scope = len(paths) if scope is None else len([p for p in paths if p in scope])
    return CheckReport(len(case_paths), kept, scope is not None, in_scope)


def _is_case_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) == 2 and parts[0] == CASES_DIR and parts[1].endswith(".yaml")


# --- team.yaml and cocflow.yaml ---------------------------------------------------------


def _load_team(snapshot: Snapshot, paths: list[str]) -> tuple[Roster | None, list[Problem]]:
    def problem(message: str) -> list[Problem]:
        return [Problem(TEAM_FILE, None, "team-invalid", message)]

    if TEAM_FILE not in paths:
        return None, problem("team.yaml is missing")
    try:
        document = yamlio.load_untrusted(snapshot.read(TEAM_FILE), TEAM_FILE)
    except CocflowError as exc:
        return None, problem(str(exc))
    found = schema.problems("team", document)
    if found:
        return None, [p for message in found for p in problem(f"team.yaml: {message}")]
    try:
        return validate_roster(Roster.from_document(document)), []
    except CocflowError as exc:
        return None, problem(str(exc))


def _check_config(snapshot: Snapshot, paths: list[str]) -> list[Problem]:
    def problem(message: str) -> Problem:
        return Problem(CONFIG_FILE, None, "config-invalid", message)

    if CONFIG_FILE not in paths:
        return [problem("cocflow.yaml is missing")]
    try:
        document = yamlio.load_untrusted(snapshot.read(CONFIG_FILE), CONFIG_FILE)
    except CocflowError as exc:
        return [problem(str(exc))]
    return [problem(f"cocflow.yaml: {m}") for m in schema.problems("config", document or {})]


# --- case files -------------------------------------------------------------------------


def check_case(path: str, data: bytes, roster: Roster | None) -> tuple[CaseInfo, list[Problem]]:
    """Every problem of one case file; the roster is None when team.yaml is unusable."""
    stem = PurePosixPath(path).name[: -len(".yaml")]
    info = CaseInfo(case_id_of(path))
    try:
        document = yamlio.load_untrusted(data, path)
    except CocflowError as exc:
        document, unreadable = None, f"not readable: {exc}"
    else:
        unreadable = ("not a SOPS document: nothing in it is encrypted; remove it (and from "
                      "git history if it was ever committed)")
    if not isinstance(document, dict) or not isinstance(document.get("sops"), dict):
        findings = _Findings(path, info.label)
        findings.add("not-sops", unreadable)
        return info, findings.found
    info = _case_info(document.get("meta"), info.label)
    findings = _Findings(path, info.label)
    _check_meta(document.get("meta"), stem, info, findings)
    for leaf in plaintext_leaves(_masked(document)):
        findings.add("plaintext", f"{leaf} is not encrypted (only meta may be plaintext)")
    for line in _plain_comment_lines(data.decode("utf-8")):
        findings.add("plaintext-comment", f"line {line} holds a comment that is not encrypted")
    _check_sops_block(document["sops"], findings, case_file=True)
    if roster is not None:
        _check_recipients(sops.age_recipients(document["sops"]), roster, info.recused, findings)
    return info, findings.found


def _case_info(meta: Any, fallback: str | None) -> CaseInfo:
    if not isinstance(meta, dict):
        return CaseInfo(fallback)
    meta_id = meta.get("id") if isinstance(meta.get("id"), str) else None
    meta_id = meta_id if meta_id and CASE_ID.fullmatch(meta_id) else None
    return CaseInfo(meta_id or fallback, meta_id, recused_handles(meta) or ())


def _light_info(path: str, data: bytes) -> CaseInfo:
    """Id and recusals only, for files outside a staged check's scope."""
    fallback = case_id_of(path)
    try:
        return _case_info(read_meta(data.decode("utf-8")), fallback)
    except Exception:  # an unreadable file out of scope is the business of a full check
        return CaseInfo(fallback)


def _check_meta(meta: Any, stem: str, info: CaseInfo, findings: _Findings) -> None:
    if not isinstance(meta, dict):
        findings.add("meta-invalid", "no plaintext `meta` mapping at the top")
    else:
        for message in schema.problems("case", meta, "meta"):
            findings.add("meta-invalid", _in_meta(message))
    if info.meta_id and info.meta_id != stem:
        findings.add("id-mismatch", f"meta.id is {info.meta_id} but the file is not named "
                     f"{info.meta_id}.yaml: a case lives in cases/<id>.yaml")
    elif not info.meta_id and not CASE_ID.fullmatch(stem):
        findings.add("id-mismatch", "the file name is not a case id (cases/YYYY-NNNN.yaml)")


def _in_meta(message: str) -> str:
    return "meta" + message[len("(top)"):] if message.startswith("(top)") else f"meta.{message}"


def _masked(value: Any) -> Any:
    """The same tree with odd key names replaced, so that paths never carry free text."""
    if isinstance(value, dict):
        return {(key if isinstance(key, str) and SAFE_NAME.fullmatch(key) else f"<key {n}>"):
                _masked(sub) for n, (key, sub) in enumerate(value.items(), 1)}
    if isinstance(value, list):
        return [_masked(sub) for sub in value]
    return value


def _plain_comment_lines(text: str) -> list[int]:
    # sops encrypts comments outside unencrypted keys as `#ENC[...]` and cocflow writes none;
    # ciphertext, base64 and meta values hold no ` #`, so any other `#` starts a plain comment.
    return [n for n, line in enumerate(text.splitlines(), 1) if PLAIN_COMMENT.search(line)]


# --- sops metadata and recipients -------------------------------------------------------


def _check_sops_block(block: dict[str, Any], findings: _Findings, case_file: bool) -> None:
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



def _check_recipients(actual: list[str], roster: Roster, recused: Iterable[str],
                      findings: _Findings) -> None:
    """Recipients must be what the one recipient policy (`assess`) calls for."""
    for finding in assess(roster, findings.case or "", recused, actual).findings:
        findings.add(finding.code, finding.message)


def _duplicates(infos: dict[str, CaseInfo]) -> list[Problem]:
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


# --- evidence and anything else in cases/ -----------------------------------------------


def _check_other(path: str, snapshot: Snapshot, cases: dict[str, CaseInfo],
                 roster: Roster | None) -> list[Problem]:
    parts = PurePosixPath(path).parts
    if len(parts) == 2 and parts[1] in ALLOWED_IN_CASES:
        return []
    if len(parts) < 3 or not CASE_ID.fullmatch(parts[1]):
        findings = _Findings(path, None)
        findings.add("unexpected-file", "not a case file: cases/ holds only <id>.yaml files "
                     "and evidence in <id>/ folders")
        return findings.found
    return check_evidence(path, snapshot.read(path), parts[1], cases.get(parts[1]), roster)


def check_evidence(path: str, data: bytes, case_id: str, case: CaseInfo | None,
                   roster: Roster | None) -> list[Problem]:
    """An evidence file: a sops binary document (JSON), keyed like its case."""
    findings = _Findings(path, case_id)
    if case is None:
        findings.add("evidence-orphan", f"evidence of case {case_id}, which has no "
                     f"cases/{case_id}.yaml")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("sops"), dict):
        findings.add("not-sops", "evidence that is not a SOPS document: it is not encrypted")
        return findings.found
    for key in _masked({k: v for k, v in document.items() if k not in ("data", "sops")}):
        findings.add("plaintext", f"{key} is not encrypted (evidence holds only data)")
    if not is_ciphertext(document.get("data")):
        findings.add("plaintext", "data is not encrypted")
    _check_sops_block(document["sops"], findings, case_file=False)
    if roster is not None and case is not None:
        _check_recipients(sops.age_recipients(document["sops"]), roster, case.recused, findings)
    return findings.found
