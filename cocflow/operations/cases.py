"""Opening, listing and reading cases."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def open_case(ws: Workspace, intake: Any, recuse: Iterable[str | dict[str, Any]] = (),
              attachments: Sequence[Attachment] = (),
              triage_message: str | None = None,
              not_a_member: Iterable[str] = (),
              followup: dict[str, str] | None = None) -> dict[str, Any]:
    """Validate an intake document, recuse, assign the next id, encrypt and commit.

    `attachments` become encrypted evidence files in the same commit as the case. With a
    `triage_message` (an email, a web form: intake that cannot say who is involved) the
    case is in triage: readable by the member opening it, the triage readers the message
    does not name and nobody recused, and escrow, until `share ID --team`. `followup` (a web
    form's reply key and lookup id) is kept inside the encryption for `cocflow reply`.
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
    asked = [{"handle": r} if isinstance(r, str) else dict(r) for r in recuse]
    _require_members_named_recused(ws, report, [*(w["handle"] for w in asked), *(
        w.get("handle") for w in intake.get("recusals") or [])], not_a_member)
    wishes = [*(intake.get("recusals") or []), *asked]
    readers = None
    if triage_message is not None:
        _require_triage_readers(ws, ws.config.triage_readers)
        readers, named = triage_readers(ws.roster, actor, ws.config.triage_readers,
                                        triage_message)
        wishes += [{"handle": h, "reason": "conflict-of-interest",
                    "note": "named in the message at intake"} for h in named]
    recusals = intake_recusals(report, wishes, ws.roster, actor, now)
    if readers is not None:
        recused = {key for record in recusals for key in record["keys"]}
        readers = [key for key in readers if key not in recused]
    case_id = next_case_id(received_at.year, ws.store.ids())
    require_enough_readers(ws.roster, [r["handle"] for r in recusals], case_id)
    deadline = deadlines.respond_by(received_at, ws.config.response_days)
    document = new_case(case_id, report, received_at, deadline, recusals, actor, now)
    if readers is not None:
        document["meta"]["triage"] = True
        document["readers"] = readers
    if followup is not None:
        document["followup"] = dict(followup)
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


@dataclass(frozen=True)
class EmailIntake:
    """A case opened from an email, and what the member must hear about the message."""

    case: dict[str, Any]
    notices: tuple[str, ...]


def open_case_from_email(ws: Workspace, message: bytes,
                         recuse: Iterable[str | dict[str, Any]] = (),
                         received_at: str | None = None) -> EmailIntake:
    """Open a case from a raw email message in one commit, whatever the message lacks.

    The original bytes and every attachment become evidence; one over attachment_max_bytes
    is left out (the clock is running) and a notice says which and how to attach it.
    """
    from cocflow.adapters.email import ORIGINAL_NAME, parse_email

    now = ws.now()
    given = timestamps.parse_timestamp(received_at, "--received-at") if received_at else None
    parsed = parse_email(message, now=now, received_at=given)
    limit = ws.config.attachment_max_bytes
    kept = [a for a in parsed.attachments if a.size <= limit]
    notices = list(parsed.notices)
    for index, attachment in enumerate(parsed.attachments):
        if attachment.size <= limit:
            continue
        what = ("the original message" if attachment.name == ORIGINAL_NAME and index == 0
                else f"attachment {index} of the message ({attachment.media_type})")
        notices.append(f"{what} is {attachment.size} bytes, over attachment_max_bytes ({limit}"
                       " bytes in cocflow.yaml), and was left out: save it from the message, "
                       "then raise attachment_max_bytes and run `cocflow attach ID FILE`, or "
                       "keep it outside the repository")
    message_text = message.decode("utf-8", "replace") + json.dumps(parsed.intake,
                                                                    ensure_ascii=False)
    case = open_case(ws, parsed.intake, recuse, kept, triage_message=message_text)
    return EmailIntake(case, tuple(n.replace("cocflow attach ID", f"cocflow attach "
                                             f"{case['meta']['id']}") for n in notices))


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
