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

import html
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cocflow.domain import deadlines
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
FORMATS = ("markdown", "json", "html")
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
    decision = case.get("decision") or {}
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
    return parse_timestamp(meta["received_at"]).year == year


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
        "by_status": _tally(STATES, (f.meta["status"] for f in facts)),
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


# --- rendering -------------------------------------------------------------------------------

SECTIONS = (
    ("by_status", "Cases by status"),
    ("by_category", "Cases by category (a case can have several)"),
    ("by_space", "Cases by space"),
    ("by_outcome", "Decisions by outcome (a decision can have several)"),
    ("dismissals_by_reason", "Dismissals by reason"),
)
LABELS = {NOT_RECORDED: "not recorded yet", NOT_VISIBLE: "could not be decrypted"}


def cell(report: dict[str, Any], path: str, value: int | None) -> str:
    """A published count, "fewer than N" when suppressed, "withheld" when withheld."""
    if value is not None:
        return str(value)
    if path in report["withheld"]:
        return "withheld"
    return f"fewer than {report['min_count']}"


def _rows(report: dict[str, Any], key: str) -> list[tuple[str, int | None, str]]:
    """(label, value, text) worth printing: every state; otherwise non-zero or hidden counts."""
    return [(LABELS.get(name, name), value, cell(report, f"{key}.{name}", value))
            for name, value in report[key].items() if key == "by_status" or value != 0]


def _intro(report: dict[str, Any]) -> list[str]:
    year, n = report["year"], report["min_count"]
    if report["total"] == 0:
        return [f"No reports were received in {year}."]
    lines = [f"Reports received in {year}: {cell(report, 'total', report['total'])}.",
             f'Counts from 1 to {n - 1} are shown as "fewer than {n}" so that no one can be '
             "singled out."]
    if report["withheld"]:
        lines[-1] += (' A few larger counts are "withheld" because the small ones could '
                      "otherwise be worked out from the totals.")
    return lines


def _response_lines(report: dict[str, Any]) -> list[str]:
    r, n = report["response"], report["min_count"]
    if r["median_days"] is not None:
        first = (f"Days from a report to the first response: median {r['median_days']}, "
                 f"90th percentile {r['p90_days']}.")
    else:
        first = f"Days to the first response: not published (fewer than {n} cases answered)."
    promise = f"Answered within the {r['promise_days']}-day promise"
    if r["share_within_promise"] is not None:
        second = (f"{promise}: {round(r['share_within_promise'] * 100)}% of the cases answered "
                  "or past their deadline.")
    else:
        second = f"{promise}: not published (fewer than {n} cases answered or past their deadline)."
    return [first, second]


def _visibility_line(report: dict[str, Any]) -> str | None:
    v = report["not_visible"]
    if v["cases"] == 0:
        return None
    shown = {k: cell(report, f"not_visible.{k}", value) for k, value in v.items()}
    return (f"Cases the member who made this report could not decrypt: {shown['cases']}. They "
            "count by status and response times; their categories, space, decision outcomes "
            f"(of {shown['outcomes']} decided cases) and dismissal reasons (of "
            f"{shown['dismissal_reasons']} dismissed cases) are not seen.")


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2) + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: intro, one table per breakdown, response times."""
    out = [f"# Code of Conduct transparency report {report['year']}", "", *_intro(report), ""]
    if report["total"] != 0:
        for key, title in SECTIONS:
            rows = _rows(report, key)
            out += [f"## {title}", ""]
            table = ["| | cases |", "|---|---:|", *(f"| {label} | {text} |"
                                                    for label, _, text in rows)]
            out += table if rows else ["None."]
            out.append("")
        out += ["## Response to reporters", "", *(f"- {line}" for line in _response_lines(report))]
        visibility = _visibility_line(report)
        if visibility:
            out += ["", visibility]
        out.append("")
    out.append(f"_Generated by cocflow on {report['generated_at'][:10]}._")
    return "\n".join(out) + "\n"


STYLE = """
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2rem}
svg{max-width:100%;height:auto}svg text{font-size:13px;fill:#222}.bar{fill:#4a6fa5}
.hidden{fill:none;stroke:#999;stroke-dasharray:4 3}p.note{color:#555;font-size:.9rem}
@media print{body{margin:0}}
"""
ROW_HEIGHT, LABEL_WIDTH, BAR_WIDTH = 24, 210, 300


def _svg_chart(title: str, rows: list[tuple[str, int | None, str]]) -> str:
    """An inline SVG bar chart; hidden counts get an outline and the words, never a length."""
    peak = max([v for _, v, _ in rows if v is not None] + [1])
    height = ROW_HEIGHT * len(rows) + 4
    span = LABEL_WIDTH + BAR_WIDTH + 120
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" width="{span}" '
             f'height="{height}" viewBox="0 0 {span} {height}">',
             f"<title>{html.escape(title)}</title>"]
    for index, (label, value, text) in enumerate(rows):
        y = index * ROW_HEIGHT + 2
        parts.append(f'<text x="0" y="{y + 16}">{html.escape(label)}</text>')
        if value is None:
            parts.append(f'<rect class="hidden" x="{LABEL_WIDTH}" y="{y + 3}" width="24" '
                         f'height="{ROW_HEIGHT - 8}"/>')
            width = 24
        else:
            width = round(BAR_WIDTH * value / peak)
            parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 3}" width="{width}" '
                         f'height="{ROW_HEIGHT - 8}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 16}">'
                     f"{html.escape(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page: inline CSS and SVG, no scripts, nothing fetched."""
    year = report["year"]
    title = f"Code of Conduct transparency report {year}"
    body = [f"<h1>{html.escape(title)}</h1>",
            *(f"<p>{html.escape(line)}</p>" for line in _intro(report))]
    if report["total"] != 0:
        for key, heading in SECTIONS:
            rows = _rows(report, key)
            body.append(f"<section><h2>{html.escape(heading)}</h2>")
            body.append(_svg_chart(heading, rows) if rows else "<p>None.</p>")
            body.append("</section>")
        body.append("<section><h2>Response to reporters</h2><ul>")
        body += [f"<li>{html.escape(line)}</li>" for line in _response_lines(report)]
        body.append("</ul></section>")
        visibility = _visibility_line(report)
        if visibility:
            body.append(f'<p class="note">{html.escape(visibility)}</p>')
    body.append(f'<p class="note">Generated by cocflow on '
                f"{html.escape(report['generated_at'][:10])}.</p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


RENDERERS = {"markdown": render_markdown, "json": render_json, "html": render_html}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in one of FORMATS."""
    return RENDERERS[fmt](report)
