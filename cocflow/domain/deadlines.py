"""The two-week promise: respond_by, and which open cases are due or overdue."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cocflow.domain.case import CASE_ID
from cocflow.domain.timestamps import format_timestamp, parse_timestamp
from cocflow.errors import InvalidInput

OPEN_STATES = frozenset({"received", "acknowledged", "investigating", "decided"})
SECONDS_PER_DAY = 86400


def respond_by(received_at: datetime, response_days: int) -> datetime:
    """The promised response deadline."""
    return received_at + timedelta(days=response_days)


def days_left(deadline: datetime, now: datetime) -> int:
    """Whole days until the deadline, negative once it has passed."""
    return math.floor((deadline - now).total_seconds() / SECONDS_PER_DAY)


@dataclass(frozen=True)
class DueCase:
    id: str
    status: str
    respond_by: str
    days_left: int
    overdue: bool
    triage: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "respond_by": self.respond_by,
            "days_left": self.days_left,
            "overdue": self.overdue,
            "triage": self.triage,
        }


def usable_meta(meta: object) -> bool:
    """Whether a meta block has what deadline checks read (cheap: no jsonschema per case)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("id"), str):
        return False
    if not CASE_ID.fullmatch(meta["id"]):  # shown by due and notify: never a raw value
        return False
    if meta.get("status") not in (*OPEN_STATES, "closed", "dismissed", "voided"):
        return False
    try:
        parse_timestamp(meta["received_at"])
        if format_timestamp(parse_timestamp(meta["respond_by"])) != meta["respond_by"]:
            return False
        if meta.get("responded_at") is not None:
            parse_timestamp(meta["responded_at"])
    except (KeyError, TypeError, InvalidInput):
        return False
    return True


def awaiting_response(meta: dict[str, Any]) -> bool:
    """An open case whose reporter has not heard from the team yet."""
    return meta["status"] in OPEN_STATES and not meta.get("responded_at")


def due_cases(metas: Iterable[dict[str, Any]], now: datetime, within_days: int) -> list[DueCase]:
    """Cases awaiting a response, deadline within `within_days` or past; most urgent first."""
    found = []
    for meta in metas:
        if not awaiting_response(meta):
            continue
        deadline = parse_timestamp(meta["respond_by"])
        if deadline - now > timedelta(days=within_days):
            continue
        found.append(
            DueCase(meta["id"], meta["status"], meta["respond_by"], days_left(deadline, now),
                    now > deadline, meta.get("triage") is True)
        )
    return sorted(found, key=lambda item: (item.respond_by, item.id))


@dataclass(frozen=True)
class LateCase:
    """An open case past a stage deadline: acknowledged but not moved on, or not decided."""

    id: str
    status: str
    stage: str  # "acknowledge" (move on from acknowledged) | "decide"
    deadline: str
    days_overdue: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "stage": self.stage,
                "deadline": self.deadline, "days_overdue": self.days_overdue}

    def describe(self) -> str:
        if self.stage == "acknowledge":
            return "acknowledged but not investigated or dismissed"
        return "not decided or dismissed"


def late_cases(metas: Iterable[dict[str, Any]], now: datetime, acknowledge_days: int,
               decide_days: int) -> list[LateCase]:
    """Open cases past their stage deadlines (from plaintext meta only); most overdue first.

    `acknowledge_days` run from the first response of an acknowledged case; `decide_days`
    from receipt, for every case not yet decided (investigating included).
    """
    found = []
    for meta in metas:
        status = meta["status"]
        if status not in ("received", "acknowledged", "investigating"):
            continue
        if status == "acknowledged" and meta.get("responded_at"):
            deadline = parse_timestamp(meta["responded_at"]) + timedelta(days=acknowledge_days)
            if now > deadline:
                found.append(LateCase(meta["id"], status, "acknowledge",
                                      format_timestamp(deadline), _days_past(deadline, now)))
                continue
        deadline = parse_timestamp(meta["received_at"]) + timedelta(days=decide_days)
        if now > deadline:
            found.append(LateCase(meta["id"], status, "decide", format_timestamp(deadline),
                                  _days_past(deadline, now)))
    return sorted(found, key=lambda item: (-item.days_overdue, item.id))


def _days_past(deadline: datetime, now: datetime) -> int:
    """Whole days since the deadline, at least 1 once it has passed."""
    return max(1, math.floor((now - deadline).total_seconds() / SECONDS_PER_DAY))


def response_met(meta: dict[str, Any]) -> bool | None:
    """Whether the first response came before the deadline; None while none has come."""
    if not meta.get("responded_at"):
        return None
    return parse_timestamp(meta["responded_at"]) <= parse_timestamp(meta["respond_by"])
