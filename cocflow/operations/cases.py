"""Opening, listing and reading cases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from cocflow.adapters import schema
from cocflow.adapters.paths import find_root
from cocflow.adapters.store import CaseStore
from cocflow.domain import deadlines, timestamps
from cocflow.domain.access import members_named, require_enough_readers, triage_readers
from cocflow.domain.case import intake_recusals, new_case, next_case_id
from cocflow.domain.evidence import Attachment
from cocflow.errors import InvalidInput, MemberNamed
from cocflow.operations.evidence import save_with_evidence, seal_attachments
from cocflow.operations.workspace import Workspace


def open_case(ws: Workspace, intake: Any, recuse: Iterable[str] = (),
              attachments: Sequence[Attachment] = (),
              triage_message: str | None = None,
              not_a_member: Iterable[str] = ()) -> dict[str, Any]:
    """Validate an intake document, recuse, assign the next id, encrypt and commit.

    `attachments` become encrypted evidence files in the same commit as the case. With a
    `triage_message` (an email, a web form: intake that cannot say who is involved) the
    case is in triage: readable by the member opening it, the triage readers the message
    does not name, and escrow, until `share ID --team`.
    """
    if not isinstance(intake, dict):
        raise InvalidInput("the report must be a YAML mapping with a `report:` key")
    report = intake.get("report")
    if isinstance(report, dict) and isinstance(report.get("occurred_at"), str):
        report = {**report, "occurred_at": timestamps.normalize_timestamp(
            report["occurred_at"], "report.occurred_at")}
        intake = {**intake, "report": report}
    schema.validate("case", intake, "report", definition="intake")
    assert isinstance(report, dict)  # the intake schema requires a report mapping
    now = ws.now()
    received_at = timestamps.parse_timestamp(intake["received_at"], "received_at") if intake.get(
        "received_at") else now
    if received_at > now:
        raise InvalidInput("received_at is in the future")
    actor = ws.actor
    recuse = list(recuse)
    _require_members_named_recused(ws, report, [*recuse, *(
        w.get("handle") for w in intake.get("recusals") or [])], not_a_member)
    wishes = [*(intake.get("recusals") or []), *({"handle": h} for h in recuse)]
    readers = None
    if triage_message is not None:
        _require_triage_readers(ws, ws.triage_readers)
        readers, named = triage_readers(ws.roster, actor, ws.triage_readers, triage_message)
        wishes += [{"handle": h, "reason": "conflict-of-interest",
                    "note": "named in the message at intake"} for h in named]
    recusals = intake_recusals(report, wishes, ws.roster, actor, now, ws.team_roster)
    case_id = next_case_id(received_at.year, ws.store.ids())
    require_enough_readers(ws.roster, [r["handle"] for r in recusals], case_id)
    deadline = deadlines.respond_by(received_at, ws.config.response_days)
    document = new_case(case_id, report, received_at, deadline, recusals, actor, now)
    if readers is not None:
        document["meta"]["triage"] = True
        document["readers"] = readers
    document, files = seal_attachments(ws, document, attachments)
    save_with_evidence(ws, document, f"open {case_id} (received)", files)
    return document


def read_intake(data: bytes | str) -> Any:
    """An intake file (YAML or JSON), parsed with the untrusted-input limits."""
    from cocflow.adapters import yamlio

    return yamlio.load_untrusted(data, "the report file")


def case_ids(repo: Path | None) -> list[str]:
    """The ids of the cases in the repository at or above `repo` (for completion)."""
    return CaseStore(find_root(repo)).ids()


def open_case_from_email(ws: Workspace, message: bytes, recuse: Iterable[str] = ()
                         ) -> dict[str, Any]:
    """Open a case from a raw email message; its attachments become evidence, one commit."""
    from cocflow.adapters.email import parse_email

    parsed = parse_email(message, max_attachment_bytes=ws.config.attachment_max_bytes,
                         now=ws.now())
    message_text = message.decode("utf-8", "replace") + json.dumps(parsed.intake,
                                                                    ensure_ascii=False)
    return open_case(ws, parsed.intake, recuse, parsed.attachments, triage_message=message_text)


def _require_members_named_recused(ws: Workspace, report: dict[str, Any],
                                   recused: Sequence[Any], not_a_member: Iterable[str]) -> None:
    """A reported person who may be a member is recused, or said not to be one."""
    cleared = {name.casefold().strip() for name in not_a_member}
    for person in report.get("reported") or []:
        if person.get("team_handle") or str(person.get("name") or "").casefold().strip() in \
                cleared:
            continue
        for handle in members_named(ws.roster, person):
            if handle not in recused:
                raise MemberNamed(str(person.get("name") or ""), handle)


def _require_triage_readers(ws: Workspace, handles: Iterable[str]) -> None:
    for handle in handles:
        if ws.roster.member(handle) is None:
            raise InvalidInput(f"cocflow.yaml: triage_readers names {handle}, who is not an "
                               "accepted member")


def list_cases(ws: Workspace, status: str | None = None,
               open_only: bool = False) -> list[dict[str, Any]]:
    """Plaintext meta of every case; no decryption, no key needed."""
    metas = ws.store.all_meta()
    if status:
        metas = [m for m in metas if m.get("status") == status]
    if open_only:
        metas = [m for m in metas if m.get("status") in deadlines.OPEN_STATES]
    return metas
