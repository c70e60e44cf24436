"""Keyless repository checks (CI, pre-commit): read the files, apply `domain.rules`.

Messages name files, case ids, key names, paths inside a document, line numbers and public
keys; never a value. The checks parse files themselves instead of trusting sops' own
settings, and read exactly what sops would read (the parsed `sops:` block).
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from cocflow.adapters import schema, sops, yamlio
from cocflow.adapters.config import TEAM_FILE, validate_roster
from cocflow.adapters.git import GitRepo
from cocflow.adapters.paths import CONFIG_FILE
from cocflow.adapters.store import CASE_FILE_MAX_BYTES, CASES_DIR, case_id_of, read_meta
from cocflow.domain import sealed
from cocflow.domain.access import Roster
from cocflow.domain.case import CASE_ID, is_ciphertext, plaintext_leaves
from cocflow.domain.layout import roster_weak, settings_weak, tree_findings
from cocflow.domain.rules import (
    ALLOWED_IN_CASES,
    CaseInfo,
    CheckReport,
    Findings,
    Problem,
    case_info,
    check_body,
    check_recipients,
    check_sops_block,
    duplicates,
    in_meta,
    masked,
    masked_outside_meta,
    plain_comment_lines,
    recusal_findings,
    recused_member_changes,
    roster_findings,
)
from cocflow.errors import CocflowError


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
        files = []  # plain strings: Path objects cost more than the check of a small file
        for directory, _folders, names in os.walk(self.root / CASES_DIR):
            where = Path(directory).relative_to(self.root).as_posix()
            for name in names:
                # *.tmp are cocflow's own atomic-write files, ignored by git.
                if not name.endswith(".tmp") and os.path.isfile(os.path.join(directory, name)):
                    files.append(f"{where}/{name}")
        return found + sorted(files, key=lambda path: path.split("/"))  # as Paths sort

    def read(self, path: str) -> bytes:
        with open(os.path.join(self.root, path), "rb") as file:
            return file.read()

    def all_paths(self) -> list[str]:
        """Every file git would commit: tracked, or untracked and not ignored."""
        listing = GitRepo(self.root).attempt("ls-files", "-z", "--cached", "--others",
                                             "--exclude-standard")
        if listing.ok:
            return [p for p in listing.out.split("\0")
                    if p and os.path.exists(os.path.join(self.root, p))]
        return [p.relative_to(self.root).as_posix() for p in sorted(self.root.rglob("*"))
                if p.is_file() and ".git" not in p.relative_to(self.root).parts]


def run_checks(snapshot: WorkingTree, base: Roster | None = None) -> CheckReport:
    """Every problem in the snapshot, each file read once, one case at a time; with a `base`
    roster (where a push starts), changes since it to the keys of a recused member."""
    paths = snapshot.paths()
    roster, problems = load_team(snapshot, paths)
    config_problems, allow = check_config(snapshot, paths)
    problems += config_problems
    problems += tree_findings(snapshot.all_paths(), allow)
    case_paths = [path for path in paths if is_case_file(path)]
    infos: dict[str, CaseInfo] = {}
    for path in case_paths:
        infos[path], found = check_case(path, snapshot.read(path), roster)
        problems += found
    problems += duplicates(infos)
    if roster is not None:
        for info in infos.values():
            problems += recusal_findings(info, roster)
        if base is not None:
            problems += recused_member_changes(base, roster, recused_anywhere(infos))
    by_id = {info.meta_id: info for info in infos.values() if info.meta_id}
    for path in paths:
        if path.startswith(f"{CASES_DIR}/") and path not in infos:
            problems += check_other(path, snapshot, by_id, roster)
    triage = tuple(sorted(info.meta_id for info in infos.values() if info.triage and info.meta_id))
    return CheckReport(len(case_paths), tuple(problems), False, len(paths), triage)


def recused_anywhere(infos: dict[str, CaseInfo]) -> dict[str, list[str]]:
    """Handle -> the cases (labels) it is recused from."""
    found: dict[str, list[str]] = {}
    for path, info in infos.items():
        for handle in info.recused:
            found.setdefault(handle, []).append(info.label or path)
    return found


def is_case_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) == 2 and parts[0] == CASES_DIR and parts[1].endswith(".yaml")


# --- team.yaml and cocflow.yaml ---------------------------------------------------------


def load_team(snapshot: Snapshot, paths: list[str]) -> tuple[Roster | None, list[Problem]]:
    def problem(message: str) -> list[Problem]:
        return [Problem(TEAM_FILE, None, "team-invalid", message)]

    if TEAM_FILE not in paths:
        return None, problem("team.yaml is missing")
    try:
        document = yamlio.load_untrusted(snapshot.read(TEAM_FILE), TEAM_FILE)
    except CocflowError as exc:
        return None, problem(str(exc))
    found = [] if schema.is_valid("team", document) else schema.problems("team", document)
    if found:
        return None, [p for message in found for p in problem(f"team.yaml: {message}")]
    roster = Roster.from_document(document)
    shared = roster_findings(roster)
    if shared:
        return None, shared  # an ambiguous roster decides nobody's access
    try:
        return validate_roster(roster), roster_weak(roster.min_recipients)
    except CocflowError as exc:
        return None, problem(str(exc))


def check_config(snapshot: Snapshot, paths: list[str]) -> tuple[list[Problem], list[str]]:
    """Problems of cocflow.yaml, and the files it allows besides cocflow's own."""
    def problem(message: str) -> Problem:
        return Problem(CONFIG_FILE, None, "config-invalid", message)

    if CONFIG_FILE not in paths:
        return [problem("cocflow.yaml is missing")], []
    try:
        document = yamlio.load_untrusted(snapshot.read(CONFIG_FILE), CONFIG_FILE)
    except CocflowError as exc:
        return [problem(str(exc))], []
    if not schema.is_valid("config", document or {}):  # jsonschema only to name the problems
        return [problem(f"cocflow.yaml: {message}")
                for message in schema.problems("config", document or {})], []
    settings = schema.with_defaults("config", document or {})
    allow = list(settings["allow"])
    found = settings_weak(settings["report_min_count"], allow)
    install = (document or {}).get("install") if isinstance(document, dict) else None
    if install is not None and not _pinned(install):
        found.append(problem("cocflow.yaml: install is not a pinned spec: CI would install "
                             "whatever a name resolves to (give a git URL at a full commit, or a "
                             "version with --hash)"))
    return found, allow


def _pinned(install: object) -> bool:
    from cocflow.domain.install_spec import parse

    try:
        parse(str(install))
    except CocflowError:
        return False
    return True


# --- case files -------------------------------------------------------------------------


def check_case(path: str, data: bytes, roster: Roster | None) -> tuple[CaseInfo, list[Problem]]:
    """Every problem of one case file; the roster is None when team.yaml is unusable."""
    stem = path.rsplit("/", 1)[-1][: -len(".yaml")]
    info = CaseInfo(case_id_of(path))
    try:
        document = yamlio.load_untrusted(data, path, max_bytes=CASE_FILE_MAX_BYTES)
    except CocflowError as exc:
        document, unreadable = None, f"not readable: {exc}"
    else:
        unreadable = ("not a SOPS document: nothing in it is encrypted; remove it (and from "
                      "git history if it was ever committed)")
    if not isinstance(document, dict) or not isinstance(document.get("sops"), dict):
        findings = Findings(path, info.label)
        findings.add("not-sops", unreadable)
        return info, findings.found
    info = case_info(document.get("meta"), info.label)
    findings = Findings(path, info.label)
    _check_meta(document.get("meta"), stem, info, findings)
    if sealed.format_of(document.get("meta")) == sealed.FORMAT:
        check_body(document, findings)
    for leaf in plaintext_leaves(masked_outside_meta(document)):
        findings.add("plaintext", f"{leaf} is not encrypted (only meta may be plaintext)")
    for line in plain_comment_lines(data.decode("utf-8")):
        findings.add("plaintext-comment", f"line {line} holds a comment that is not encrypted")
    check_sops_block(document["sops"], findings, case_file=True)
    if roster is not None:
        check_recipients(sops.age_recipients(document["sops"]), roster, info, findings)
    return info, findings.found


def light_info(path: str, data: bytes) -> CaseInfo:
    """Id and recusals only, for case files a staged check reads but does not check."""
    fallback = case_id_of(path)
    try:
        return case_info(read_meta(data.decode("utf-8")), fallback)
    except Exception:  # an unreadable file out of scope is the business of a full check
        return CaseInfo(fallback)


def _check_meta(meta: Any, stem: str, info: CaseInfo, findings: Findings) -> None:
    if not isinstance(meta, dict):
        findings.add("meta-invalid", "no plaintext `meta` mapping at the top")
    else:
        _check_format(meta, findings)
    if info.meta_id and info.meta_id != stem:
        findings.add("id-mismatch", f"meta.id is {info.meta_id} but the file is not named "
                     f"{info.meta_id}.yaml: a case lives in cases/<id>.yaml")
    elif not info.meta_id and not CASE_ID.fullmatch(stem):
        findings.add("id-mismatch", "the file name is not a case id (cases/YYYY-NNNN.yaml)")


def _check_format(meta: dict[str, Any], findings: Findings) -> None:
    """Meta of its own format; format 1 is a finding too: CI stays red until `migrate`."""
    found = sealed.format_of(meta)
    if found is None:
        findings.add("format-unknown", f"meta says {sealed.describe_format(meta)}: this cocflow "
                     "reads formats 1 and 2; upgrade cocflow")
        return
    if found == sealed.LEGACY_FORMAT:
        findings.add("format-1", "the case is in format 1: lengths of its values are readable "
                     "without a key; run `cocflow migrate`")
    definition = "meta" if found == sealed.FORMAT else "meta1"
    if not schema.is_valid("case", meta, definition):  # jsonschema only to name the problems
        for message in schema.problems("case", meta, definition):
            findings.add("meta-invalid", in_meta(message))
    if found == sealed.FORMAT and meta.get("revision") == 0:
        findings.add("meta-invalid", "meta.revision: a written case has revision 1 or more")


# --- sops metadata and recipients -------------------------------------------------------


# --- evidence and anything else in cases/ -----------------------------------------------


def check_other(path: str, snapshot: Snapshot, cases: dict[str, CaseInfo],
                 roster: Roster | None) -> list[Problem]:
    parts = PurePosixPath(path).parts
    if len(parts) == 2 and parts[1] in ALLOWED_IN_CASES:
        return []
    if len(parts) < 3 or not CASE_ID.fullmatch(parts[1]):
        findings = Findings(path, None)
        findings.add("unexpected-file", "not a case file: cases/ holds only <id>.yaml files "
                     "and evidence in <id>/ folders")
        return findings.found
    return check_evidence(path, snapshot.read(path), parts[1], cases.get(parts[1]), roster)


def check_evidence(path: str, data: bytes, case_id: str, case: CaseInfo | None,
                   roster: Roster | None) -> list[Problem]:
    """An evidence file: a sops binary document (JSON), keyed like its case."""
    findings = Findings(path, case_id)
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
    for key in masked({k: v for k, v in document.items() if k not in ("data", "sops")}):
        findings.add("plaintext", f"{key} is not encrypted (evidence holds only data)")
    if not is_ciphertext(document.get("data")):
        findings.add("plaintext", "data is not encrypted")
    elif not sealed.is_bucket(sealed.encrypted_size(document["data"]) or 0):
        findings.add("format-1", "evidence in format 1: its exact size is readable without a "
                     "key; run `cocflow migrate`")
    check_sops_block(document["sops"], findings, case_file=False)
    if roster is not None and case is not None:
        check_recipients(sops.age_recipients(document["sops"]), roster, case, findings)
    return findings.found
