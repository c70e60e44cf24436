"""The transparency report as people read it: markdown, JSON and HTML."""

from __future__ import annotations

import html
import json
from typing import Any

from cocflow.domain.display import markdown_text
from cocflow.domain.transparency import NOT_RECORDED, NOT_VISIBLE

FORMATS = ("markdown", "json", "html")


SECTIONS = (
    ("by_status", "Cases by status"),
    ("by_category", "Cases by category (a case can have several)"),
    ("by_space", "Cases by space"),
    ("by_outcome", "Decisions by outcome (a decision can have several)"),
    ("dismissals_by_reason", "Dismissals by reason"),
)
LABELS = {NOT_RECORDED: "not recorded yet", NOT_VISIBLE: "could not be decrypted",
          "misgendering-deadnaming": "misgendering or deadnaming",
          "practice-flamewar": "flame war over practices",
          "publishing-private-communication": "publishing private communication",
          "third-party-warning": "warning through a third party",
          "reverse-ism": "\"reverse-ism\"", "no-action": "no action"}


def label(name: str) -> str:
    """A readable label: `temporary-ban` -> `Temporary ban`."""
    text = LABELS.get(name, name.replace("-", " "))
    return text[:1].upper() + text[1:]


def title(report: dict[str, Any]) -> str:
    """The report's title, naming the community when cocflow.yaml does."""
    community = report.get("community")
    base = f"Code of Conduct transparency report {report['year']}"
    return f"{base}: {community}" if community else base


def cell(report: dict[str, Any], path: str, value: int | None) -> str:
    """A published count, "fewer than N" when suppressed, "withheld" when withheld."""
    if value is not None:
        return str(value)
    if path in report["withheld"]:
        return "withheld"
    return f"fewer than {report['min_count']}"


def _rows(report: dict[str, Any], key: str) -> list[tuple[str, int | None, str]]:
    """(label, value, text) worth printing: every state; otherwise non-zero or hidden counts."""
    return [(label(name), value, cell(report, f"{key}.{name}", value))
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
    community = report.get("community")
    shown = {**report, "community": markdown_text(community)} if community else report
    out = [f"# {title(shown)}", "", *_intro(report), ""]
    if report["total"] != 0:
        for key, section in SECTIONS:
            rows = _rows(report, key)
            out += [f"## {section}", ""]
            table = ["| | cases |", "|---|---:|", *(f"| {name} | {text} |"
                                                    for name, _, text in rows)]
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
table.values{border-collapse:collapse;margin:.5rem 0}table.values td,table.values th{
text-align:left;padding:.1rem .8rem .1rem 0;font-weight:normal}caption{text-align:left;
font-weight:bold;padding:.3rem 0}
@media print{body{margin:0}}
"""
ROW_HEIGHT, LABEL_WIDTH, BAR_WIDTH = 24, 210, 300


def _values_table(heading: str, rows: list[tuple[str, int | None, str]]) -> str:
    """The values as a table: what a screen reader reads (and what a copy-paste takes)."""
    body = "".join(f'<tr><th scope="row">{html.escape(name)}</th><td>{html.escape(text)}</td>'
                   "</tr>" for name, _, text in rows)
    return (f'<table class="values"><caption>{html.escape(heading)}</caption>'
            f'<thead><tr><th scope="col">Kind</th><th scope="col">Cases</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _svg_chart(rows: list[tuple[str, int | None, str]]) -> str:
    """An inline SVG bar chart; hidden counts get an outline and the words, never a length."""
    peak = max([v for _, v, _ in rows if v is not None] + [1])
    height = ROW_HEIGHT * len(rows) + 4
    span = LABEL_WIDTH + BAR_WIDTH + 120
    # The chart is for the eye; the table next to it carries the values for screen readers.
    parts = [f'<svg aria-hidden="true" focusable="false" width="{span}" '
             f'height="{height}" viewBox="0 0 {span} {height}">']
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
    heading = title(report)
    body = [f"<h1>{html.escape(heading)}</h1>",
            *(f"<p>{html.escape(line)}</p>" for line in _intro(report))]
    if report["total"] != 0:
        for key, section in SECTIONS:
            rows = _rows(report, key)
            body.append(f"<section><h2>{html.escape(section)}</h2>")
            body.append(_svg_chart(rows) + _values_table(section, rows) if rows
                        else "<p>None.</p>")
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
            f"<title>{html.escape(heading)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


RENDERERS = {"markdown": render_markdown, "json": render_json, "html": render_html}


def render(report: dict[str, Any], fmt: str) -> str:
    """The report in one of FORMATS."""
    return RENDERERS[fmt](report)
