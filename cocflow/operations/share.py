"""`share`: the only way a reader is added to an existing case.

Run by a member who can read the case; for a member this clone has accepted (only accepted
keys are in the workspace's roster); refused for a member recused from the case and for a key
that belonged to a member recused from it. Recorded in the case as a `shared` timeline event
naming who shared with whom and the key fingerprints. `--team` ends triage: every member
not recused (and escrow) becomes a reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cocflow.domain.access import desired_recipients
from cocflow.domain.case import event, recused_keys, require_case_id
from cocflow.domain.deadlines import OPEN_STATES
from cocflow.domain.roster import fingerprint
from cocflow.errors import AccessDenied, InvalidInput
from cocflow.operations.workspace import Workspace, commit, decrypt_case, reencrypt

TEAM = "team"


@dataclass(frozen=True)
class ShareItem:
    """One case and the keys sharing adds to it."""

    case_id: str
    status: str
    received_at: str
    adding: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.case_id, "status": self.status, "received_at": self.received_at,
                "adding": [{"key": k, "fingerprint": fingerprint(k)} for k in self.adding]}


@dataclass
class SharePlan:
    """What `share` will do: cases that gain readers, and cases left as they are (why)."""

    with_whom: str
    items: list[ShareItem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"with": self.with_whom, "cases": [item.to_json() for item in self.items],
                "skipped": [{"id": i, "why": why} for i, why in self.skipped]}


def plan_share(ws: Workspace, case_ids: Sequence[str], handle: str | None,
               open_cases: bool = False) -> SharePlan:
    """Decrypt each case (it must verify) and work out who sharing adds; nothing changes.

    `handle` None means the whole team (`--team`). With `open_cases`, every open case the
    runner can read is considered, and cases that cannot be shared are listed, not fatal.
    """
    if handle is not None:
        _require_accepted(ws, handle)
    ids = _open_case_ids(ws) if open_cases else [require_case_id(c) for c in case_ids]
    if not ids:
        raise InvalidInput("no case to share: name case ids, or use --open")
    plan = SharePlan(handle or TEAM)
    for case_id in ids:
        try:
            document = decrypt_case(ws, case_id)
            adding = _keys_to_add(ws, document, handle)
        except (AccessDenied, InvalidInput) as exc:
            if not open_cases:
                raise
            plan.skipped.append((case_id, _why_skipped(exc)))
            continue
        ends_triage = handle is None and document["meta"].get("triage") is True
        if not adding and not ends_triage:
            plan.skipped.append((case_id, "already a reader"))
            continue
        meta = document["meta"]
        plan.items.append(ShareItem(case_id, meta["status"], meta["received_at"], adding))
        plan.documents[case_id] = document
    return plan


def apply_share(ws: Workspace, plan: SharePlan) -> list[str]:
    """Re-encrypt every planned case with its new readers, recorded, in one commit."""
    actor, now = ws.actor, ws.now()
    writes = []
    for item in plan.items:
        document = plan.documents[item.case_id]
        prints = ", ".join(fingerprint(key) for key in item.adding)
        document["timeline"].append(event("shared", actor, now,
                                          f"with {plan.with_whom}: {prints}"))
        if plan.with_whom == TEAM:
            document["meta"]["triage"] = False  # triage is over: the team reads it
        writes += reencrypt(ws, document, granted=item.adding)
    if writes:
        ids = [item.case_id for item in plan.items]
        commit(ws, writes, f"share {len(ids)} case(s) with {plan.with_whom}\n\n"
               + "\n".join(ids))
    return [item.case_id for item in plan.items]


def _require_accepted(ws: Workspace, handle: str) -> None:
    if ws.roster.member(handle) is None:
        pending = ws.team_roster.member(handle) is not None
        raise InvalidInput(
            f"{handle} is not a member this clone has accepted"
            + ("; check their key with them, then run `cocflow team accept`" if pending
               else f" (members: {', '.join(ws.roster.handles) or 'none'})"))


def _keys_to_add(ws: Workspace, document: dict[str, Any], handle: str | None) -> tuple[str, ...]:
    recused = document["meta"]["recused"]
    if handle is not None and handle in recused:
        raise InvalidInput(f"{handle} is recused from case {document['meta']['id']}; a recused "
                           "member never reads the case")
    excluded = recused_keys(document)
    if handle is None:
        wanted = desired_recipients(ws.roster, recused)
    else:
        member = ws.roster.require(handle)
        wanted = list(member.keys)
        if excluded & set(wanted):
            raise InvalidInput(f"a key of {handle} belonged to a member recused from case "
                               f"{document['meta']['id']}; it never reads the case")
    current = set(document.get("readers") or ())
    return tuple(key for key in wanted if key not in current and key not in excluded)



def _open_case_ids(ws: Workspace) -> list[str]:
    return [meta["id"] for meta in ws.store.all_meta() if meta.get("status") in OPEN_STATES]


def _why_skipped(exc: Exception) -> str:
    if isinstance(exc, AccessDenied):
        return "your key cannot read it"
    return str(exc)
