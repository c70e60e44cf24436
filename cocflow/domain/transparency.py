"""The yearly transparency report: pure aggregation, small-count suppression, rendering.

Only enumerations and numbers ever enter the report: states, categories, spaces, outcomes,
dismissal reasons and response times. No names, contacts, free text, handles or case ids.

Suppression: a count from 1 to `min_count - 1` is published as "fewer than N" (JSON: null,
its path in `suppressed`); zero is published, it singles nobody out. Where a breakdown adds
up to a published total (status, space, dismissal reasons), the smallest larger counts are
also hidden ("withheld"; JSON: null, path in `withheld`) until the small ones cannot be
worked out by subtraction. Response statistics resting on fewer than N cases are not
published either.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cocflow.domain import deadlines
from cocflow.domain.case import current_decision
from cocflow.domain.lifecycle import DISMISSAL_REASONS, OUTCOMES, STATES
from cocflow.domain.timestamps import format_timestamp, parse_timestamp

CATEGORIES = (
    "offensive-comments", "practice-flamewar", "lifestyle-comments", "misgendering-deadnaming",
    "sexual-images", "unwelcome-sexual-attention", "unwanted-physical-contact",
    "threats-of-violence", "intimidation", "stalking", "harassing-recording", "disruption",
    "inappropriate-intimacy", "continued-contact", "outing", "publishing-private-communication",
    "doxxing", "advocating-harassment", "drugging", "event-privacy-violation", "enlisting-others",
    "other",
)
SPACES = ("online", "event", "social", "outside")
NOT_RECORDED = "not_recorded"
NOT_VISIBLE = "not_visible"
DECIDED_STATES = ("decided", "closed")
REPORTED_STATES = tuple(state for state in STATES if state != "voided")
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class CaseFacts:
    """What the report may use of one case; body facts only when the case could be read."""

    meta: dict[str, Any]
    readable: bool
    categories: tuple[str, ...] = ()
    space: str | None = None
    outcomes: tuple[str, ...] = ()
    dismissal_reason: str | None = None


def facts_from_case(case: dict[str, Any]) -> CaseFacts:
    """The enumerations of a decrypted case, and nothing else."""
    report = case.get("report") or {}
    decision = current_decision(case) or {}
    dismissal = case.get("dismissal") or {}
    return CaseFacts(
        meta=case["meta"], readable=True,
        categories=tuple(report.get("categories") or ()), space=report.get("space"),
        outcomes=tuple(decision.get("outcomes") or ()), dismissal_reason=dismissal.get("reason"),
    )


def facts_from_meta(meta: dict[str, Any]) -> CaseFacts:
    """A case this member cannot decrypt: its plaintext meta only."""
    return CaseFacts(meta=meta, readable=False)


def received_in(meta: dict[str, Any], year: int) -> bool:
    """A case the report of `year` counts: received that year, not voided."""
    return meta.get("status") != "voided" and parse_timestamp(meta["received_at"]).year == year


# --- aggregation -----------------------------------------------------------------------------

def _tally(keys: Sequence[str], values: Iterable[str | None]) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for value in values:
        if value in counts:
            counts[value] += 1
    return counts


def raw_counts(facts: Sequence[CaseFacts]) -> dict[str, dict[str, int]]:
    """Every breakdown before suppression."""
    readable = [f for f in facts if f.readable]
    hidden = [f for f in facts if not f.readable]
    decided = [f for f in facts if f.meta["status"] in DECIDED_STATES]
    dismissed = [f for f in facts if f.meta["status"] == "dismissed"]
    by_category = _tally(CATEGORIES, (c for f in readable for c in f.categories))
    by_category[NOT_RECORDED] = sum(1 for f in readable if not f.categories)
    by_category[NOT_VISIBLE] = len(hidden)
    by_space = _tally(SPACES, (f.space for f in readable))
    by_space[NOT_RECORDED] = sum(1 for f in readable if f.space not in SPACES)
    by_space[NOT_VISIBLE] = len(hidden)
    by_outcome = _tally(OUTCOMES, (o for f in decided if f.readable for o in f.outcomes))
    by_outcome[NOT_VISIBLE] = sum(1 for f in decided if not f.readable)
    by_reason = _tally(DISMISSAL_REASONS, (f.dismissal_reason for f in dismissed if f.readable))
    by_reason[NOT_VISIBLE] = sum(1 for f in dismissed if not f.readable)
    return {
        "by_status": _tally(REPORTED_STATES, (f.meta["status"] for f in facts)),
        "by_category": by_category,
        "by_space": by_space,
        "by_outcome": by_outcome,
        "dismissals_by_reason": by_reason,
        "not_visible": {"cases": len(hidden), "categories": len(hidden),
                        "outcomes": by_outcome[NOT_VISIBLE],
                        "dismissal_reasons": by_reason[NOT_VISIBLE]},
    }


def response_days(facts: Sequence[CaseFacts]) -> list[float]:
    """Days from receipt to the first response, for every case answered so far."""
    found = []
    for f in facts:
        if f.meta.get("responded_at"):
            delta = parse_timestamp(f.meta["responded_at"]) - parse_timestamp(f.meta["received_at"])
            found.append(max(0.0, delta.total_seconds() / SECONDS_PER_DAY))
    return sorted(found)


def promise_kept(facts: Sequence[CaseFacts], now: datetime) -> tuple[int, int]:
    """(answered in time, cases whose promise is settled): answered, or past the deadline."""
    kept = settled = 0
    for f in facts:
        met = deadlines.response_met(f.meta)
        if met is None and parse_timestamp(f.meta["respond_by"]) >= now:
            continue  # not answered yet, still within the promise
        settled += 1
        kept += bool(met)
    return kept, settled


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


# --- suppression -----------------------------------------------------------------------------

class _Suppressor:
    """Publishes counts, hiding small ones and recording the path of each hidden value.

    `suppressed`: counts from 1 to min_count - 1, shown as "fewer than N".
    `withheld`: larger counts hidden only so that a suppressed one cannot be worked out by
    subtracting the published counts from a published total.
    """

    def __init__(self, min_count: int) -> None:
        self.min_count = min_count
        self.suppressed: list[str] = []
        self.withheld: list[str] = []

    def small(self, count: int) -> bool:
        return 0 < count < self.min_count

    def count(self, path: str, value: int) -> int | None:
        if self.small(value):
            self.suppressed.append(path)
            return None
        return value

    def hide(self, path: str) -> None:
        """A statistic resting on too few cases."""
        self.suppressed.append(path)

    def breakdown(self, name: str, counts: dict[str, int], total: int | None,
                  published_elsewhere: Iterable[str] = ()) -> dict[str, int | None]:
        """Small cells suppressed; where the cells add up to a published total, more withheld.

        A cell the report shows elsewhere cannot hide anything, so it is never withheld.
        """
        small = [k for k, v in counts.items() if self.small(v)]
        extra: list[str] = []
        while total is not None and self._gives_away([counts[k] for k in small],
                                                     [counts[k] for k in extra]):
            left = [k for k, v in counts.items() if v > 0 and k not in small and k not in extra
                    and k not in published_elsewhere]
            if not left:
                break  # every cell is small: the total itself is all a reader gets
            extra.append(min(left, key=lambda k: (counts[k], k)))
        self.suppressed += [f"{name}.{k}" for k in small]
        self.withheld += [f"{name}.{k}" for k in extra]
        return {k: (None if k in small or k in extra else v) for k, v in counts.items()}

    def _gives_away(self, small: list[int], extra: list[int]) -> bool:
        # A reader knows each suppressed cell is 1..N-1, each withheld one at least N, and
        # (from the total) the sum of all hidden cells.
        if not small:
            return False
        n, k = self.min_count, len(small)
        most = k * (n - 1)
        if not extra:
            return k == 1 or sum(small) in (k, most)
        return min(most, sum(small) + sum(extra) - n * len(extra)) <= k


def build_report(year: int, facts: Sequence[CaseFacts], now: datetime, min_count: int,
                 promise_days: int) -> dict[str, Any]:
    """The publishable report as one JSON-ready document, small counts already hidden."""
    raw = raw_counts(facts)
    hide = _Suppressor(min_count)
    total = hide.count("total", len(facts))
    # The dismissal reasons add up to by_status.dismissed: withholding it would not hide it.
    by_status = hide.breakdown("by_status", raw["by_status"], total, ["dismissed"])
    document: dict[str, Any] = {
        "year": year,
        "total": total,
        "min_count": min_count,
        "generated_at": format_timestamp(now),
        "by_status": by_status,
        "by_category": hide.breakdown("by_category", raw["by_category"], None),
        "by_space": hide.breakdown("by_space", raw["by_space"], total, [NOT_VISIBLE]),
        "by_outcome": hide.breakdown("by_outcome", raw["by_outcome"], None),
        "dismissals_by_reason": hide.breakdown(
            "dismissals_by_reason", raw["dismissals_by_reason"], by_status["dismissed"],
            [NOT_VISIBLE]),
        "not_visible": {k: hide.count(f"not_visible.{k}", v)
                        for k, v in raw["not_visible"].items()},
        "response": _response(facts, now, promise_days, hide),
    }
    document["suppressed"] = hide.suppressed
    document["withheld"] = hide.withheld
    return document


def _response(facts: Sequence[CaseFacts], now: datetime, promise_days: int,
              hide: _Suppressor) -> dict[str, Any]:
    """Response statistics, each published only when at least min_count cases back it."""
    days = response_days(facts)
    kept, settled = promise_kept(facts, now)
    result: dict[str, Any] = {"promise_days": promise_days, "median_days": None,
                              "p90_days": None, "share_within_promise": None}
    if len(days) >= hide.min_count:
        result["median_days"] = round(statistics.median(days), 1)
        result["p90_days"] = round(percentile(days, 0.9), 1)
    elif days:
        hide.hide("response.median_days")
        hide.hide("response.p90_days")
    if settled >= hide.min_count:
        result["share_within_promise"] = round(kept / settled, 3)
    elif settled:
        hide.hide("response.share_within_promise")
    return result
