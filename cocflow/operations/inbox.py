"""The team's side of the web intake: pull submissions, import them as triage cases, reply.

A submission becomes a case whole or not at all; one that does not decrypt or is not a
valid report is set aside (in this clone's git directory) and named; it leaves the receiver
only after its case is committed. A ciphertext or a receipt key imported before is a replay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cocflow.adapters.age_messages import open_message, seal_message
from cocflow.adapters.inbox_client import Receiver
from cocflow.adapters.inbox_local import LocalInbox, Pulled
from cocflow.domain import intake, timestamps
from cocflow.domain.case import require_case_id
from cocflow.errors import (
    AccessDenied,
    EnvironmentProblem,
    InvalidInput,
    ReceiverUnreachable,
)
from cocflow.operations.cases import open_case
from cocflow.operations.workspace import Workspace, commit, decrypt_case, reencrypt

INBOX = "cocflow/inbox"


@dataclass
class ImportResult:
    imported: list[dict[str, str]] = field(default_factory=list)
    aside: list[dict[str, str]] = field(default_factory=list)
    replays: list[dict[str, str]] = field(default_factory=list)
    not_deleted: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"imported": self.imported, "aside": self.aside, "replays": self.replays,
                "not_deleted": self.not_deleted}


def local_inbox(ws: Workspace) -> LocalInbox:
    return LocalInbox(ws.git.git_path(INBOX))


def pull(ws: Workspace) -> list[str]:
    """Fetch every submission the receiver holds that this clone has not pulled yet."""
    receiver = Receiver.configured(ws.config.inbox_url)
    local = local_inbox(ws)
    fetched = []
    for item in receiver.pending():
        if local.has(item["id"]):
            continue
        data = receiver.fetch(item["id"])
        local.keep(Pulled(item["id"], item["received_at"], data))
        fetched.append(item["id"])
    return fetched


def import_pulled(ws: Workspace, retry_aside: bool = False) -> ImportResult:
    """Open a triage case for each pulled submission; set aside what is not a valid report.

    `retry_aside` first puts the submissions set aside before back in the queue."""
    if ws.actor not in ws.triage_readers:
        raise AccessDenied(f"{ws.actor} is not a triage reader (cocflow.yaml triage_readers): "
                           "form reports are encrypted to the triage readers and escrow only")
    receiver = Receiver.configured(ws.config.inbox_url)
    local = local_inbox(ws)
    if retry_aside:
        local.requeue()
    result = ImportResult()
    for pulled in local.pending():
        ledger = local.imported()
        try:
            submission = _open(ws, pulled)
        except InvalidInput as exc:
            local.set_aside(pulled, str(exc))
            result.aside.append({"submission": pulled.id, "reason": str(exc)})
            continue
        earlier = ledger.get(pulled.digest) or ledger.get(f"lookup:{submission.lookup}")
        if earlier is None:
            try:
                document = _open_case(ws, pulled, submission)
            except InvalidInput as exc:
                local.set_aside(pulled, str(exc))
                result.aside.append({"submission": pulled.id, "reason": str(exc)})
                continue
            case_id = document["meta"]["id"]
            local.record_import(pulled.digest, case_id)
            local.record_import(f"lookup:{submission.lookup}", case_id)
            result.imported.append({"submission": pulled.id, "case": case_id})
        else:
            result.replays.append({"submission": pulled.id, "case": earlier})
        try:
            receiver.delete(pulled.id)
        except ReceiverUnreachable:
            result.not_deleted.append(pulled.id)
        local.done(pulled)
    return result


def _open(ws: Workspace, pulled: Pulled) -> intake.Submission:
    intake.check_envelope(pulled.data)
    try:
        plaintext = open_message(pulled.data, ws.keyring)
    except InvalidInput:
        raise InvalidInput("no local key opens it (the reporter may have excluded you; "
                           "another triage reader can import it), or it is damaged") from None
    return intake.parse_submission(plaintext, ws.roster)


def _open_case(ws: Workspace, pulled: Pulled, submission: intake.Submission) -> dict[str, Any]:
    received = timestamps.parse_timestamp(pulled.received_at, "received_at")
    # The receiver's clock may run a little ahead of ours: never a date in the future.
    received_at = timestamps.format_timestamp(min(received, ws.now()))
    report = submission.intake["report"]
    return open_case(ws, {**submission.intake, "received_at": received_at},
                     triage_message=json.dumps(report, ensure_ascii=False),
                     followup={"reply_to": submission.reply_to, "lookup": submission.lookup})


def reply(ws: Workspace, case_id: str, text: str) -> dict[str, Any]:
    """Encrypt a reply to the case's reporter, upload it, record it in the timeline.

    The case is re-encrypted (every check passed) before the upload, and committed after it:
    only a failing commit can leave a reply delivered but unrecorded, and it says so."""
    case = decrypt_case(ws, require_case_id(case_id))
    now = ws.now()
    replied = intake.record_reply(case, text, ws.actor, now)
    followup = case["followup"]
    payload = intake.reply_payload(text, timestamps.format_timestamp(now))
    receiver = Receiver.configured(ws.config.inbox_url)
    sealed = seal_message(payload, followup["reply_to"])
    writes = reencrypt(ws, replied)
    receiver.post_reply(followup["lookup"], sealed)
    try:
        commit(ws, writes, f"reply on {case_id}")
    except EnvironmentProblem as exc:
        raise EnvironmentProblem(f"the reply was delivered but not recorded in {case_id} ({exc}); "
                        "record it with `cocflow note`") from exc
    return replied


def reply_text_from_editor() -> str:
    """The reply written in $EDITOR (a private temporary file, removed afterwards)."""
    from cocflow.adapters.editor import edit_text

    text = edit_text("")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()
