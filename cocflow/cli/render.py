"""Text for people: tables and the readable view of a case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cocflow.operations.team import RosterReview

from cocflow.domain import deadlines
from cocflow.domain.display import INVALID, neutralise
from cocflow.domain.timestamps import parse_timestamp


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned table; `-` for empty cells; each cell one line, controls escaped."""
    cells = [[("-" if v in (None, "", []) else neutralise(v, lines=False)) for v in row]
             for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    header = [h.upper() for h in headers]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    )


def day(timestamp: str | None) -> str:
    if not timestamp or timestamp == INVALID:
        return timestamp or "-"
    return timestamp[:10]


def status_line(meta: dict[str, Any], now: datetime) -> str:
    """State, age, the response deadline and whether it was met."""
    received = parse_timestamp(meta["received_at"])
    age = (now - received).days
    parts = [f"{meta['status']}", f"received {age} day(s) ago"]
    met = deadlines.response_met(meta)
    if met is None:
        left = deadlines.days_left(parse_timestamp(meta["respond_by"]), now)
        when = f"respond by {day(meta['respond_by'])}"
        if meta["status"] not in deadlines.OPEN_STATES:
            parts.append(f"{when} (case closed without a response)")
        elif left < 0:
            parts.append(f"{when}: OVERDUE by {-left} day(s)")
        else:
            parts.append(f"{when}: {left} day(s) left")
    else:
        verdict = "met" if met else "MISSED"
        parts.append(f"responded {day(meta['responded_at'])}, deadline {verdict}")
    return " | ".join(parts)


def case_text(case: dict[str, Any], now: datetime) -> str:
    """The readable view of a decrypted case, in sections, timeline in order.

    One-line fields stay on one line (a newline in a title cannot fake a section); every
    control character and bidi override is shown escaped.
    """
    return neutralise(_case_text(_one_line(case), now))


# Fields shown on one line of the case view; the others (description, rationale, notes) are
# shown as typed, indented, with their line breaks.
_MULTI_LINE = frozenset({"description", "rationale", "note", "confidentiality_request"})


def _one_line(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _one_line(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_one_line(v, key) for v in value]
    if isinstance(value, str) and key not in _MULTI_LINE:
        return neutralise(value, lines=False)
    return value


def _case_text(case: dict[str, Any], now: datetime) -> str:
    meta, report = case["meta"], case["report"]
    out = [f"Case {meta['id']}: {report['title']}", f"  {status_line(meta, now)}", ""]
    reporter = report.get("reporter") or {}
    who = "anonymous" if reporter.get("anonymous") else _person(reporter)
    out += ["Report",
            f"  channel:     {report.get('channel')}",
            f"  reporter:    {who}",
            f"  reported:    {_people(report.get('reported'), _reported)}",
            f"  witnesses:   {_people(report.get('witnesses'), _person)}",
            f"  occurred:    {report.get('occurred_at') or 'unknown'}",
            *([f"  sent:        {report['sent_at']}"] if report.get("sent_at") else []),
            f"  space:       {report.get('space') or '-'}",
            f"  location:    {report.get('location') or '-'}",
            f"  categories:  {', '.join(report.get('categories') or []) or '-'}",
            f"  consent:     {_consent(report.get('consent') or {})}",
            "", "Description", *_indent(report.get("description", "")), ""]
    if case.get("recusals"):
        out.append("Recused")
        out += [f"  {r['handle']}: {r['reason']}" + (f" ({r['note']})" if r.get("note") else "")
                for r in case["recusals"]]
        out.append("")
    if case.get("evidence"):
        out.append("Evidence (cocflow evidence ID N --out FILE)")
        out += [f"  {e['number']}. {e['original_name']} ({e.get('media_type') or 'unknown type'}, "
                f"{e['size']} bytes) added {day(e['added_at'])} by {e['added_by']}"
                + (f": {e['note']}" if e.get("note") else "") for e in case["evidence"]]
        out.append("")
    out.append("Timeline")
    for item in sorted(case.get("timeline") or [], key=lambda e: e["at"]):
        note = f": {item['note']}" if item.get("note") else ""
        note = note.replace("\n", "\n" + " " * 38)  # a line of a note never looks like an event
        out.append(f"  {item['at']}  {item['by']:<12} {item['event']}{note}")
    decisions = case.get("decisions") or []
    for number, d in enumerate(decisions, start=1):
        title = "Decision" if len(decisions) == 1 else (
            f"Decision {number} of {len(decisions)}"
            + (" (current)" if number == len(decisions) else " (superseded)"))
        out += ["", title, f"  outcomes:  {', '.join(d['outcomes'])}",
                f"  by {d['decided_by']} at {d['decided_at']}; reporter named: "
                f"{'yes' if d.get('reporter_named') else 'no'}"]
        if d.get("contact_skipped_reason"):
            out.append(f"  reported person not contacted: {d['contact_skipped_reason']}")
        out += ["  rationale:", *_indent(d["rationale"], 4)]
    if case.get("dismissal"):
        d = case["dismissal"]
        out += ["", "Dismissal", f"  reason: {d['reason']} (by {d['by']} at {d['at']})"]
        if d.get("note"):
            out += _indent(d["note"], 4)
    return "\n".join(out).rstrip() + "\n"


def _people(people: list[dict[str, Any]] | None, describe: Any) -> str:
    return "; ".join(describe(p) for p in people or []) or "-"


def _person(person: dict[str, Any]) -> str:
    name = person.get("name") or "(no name)"
    return f"{name} <{person['contact']}>" if person.get("contact") else name


def _reported(person: dict[str, Any]) -> str:
    text = _person(person)
    return f"{text} [team member: {person['team_handle']}]" if person.get("team_handle") else text


def _consent(consent: dict[str, Any]) -> str:
    parts = [f"name reporter: {'yes' if consent.get('name_reporter') else 'no'}",
             f"share with reported: {'yes' if consent.get('share_with_reported') else 'no'}"]
    if consent.get("confidentiality_request"):
        parts.append(f"request: {consent['confidentiality_request']}")
    return "; ".join(parts)


def _indent(text: str, width: int = 2) -> list[str]:
    return [" " * width + line for line in str(text).rstrip().splitlines()]


def warn_unreadable(case_ids: Sequence[str]) -> None:
    """Name case files whose meta cannot be read (not fatal for deadline lists)."""
    import click

    if case_ids:
        click.echo(neutralise(f"Warning: skipped {len(case_ids)} case file(s) whose meta cannot "
                              f"be read ({', '.join(case_ids)}): run `cocflow check`"), err=True)


def say_roster_review(review: RosterReview) -> None:
    """team.yaml's changes since the accepted roster, per handle, and who made them."""
    import click

    click.echo("team.yaml differs from the roster this clone accepted:", err=True)
    for change in review.changes:
        when = "waits for `cocflow team accept`" if change.widening else "in effect now"
        click.echo(neutralise(f"  {change.describe()}  ({when})", lines=False), err=True)
    if review.commits:
        click.echo("Changed by:", err=True)
        for line in review.commits:
            click.echo(neutralise(f"  {line}", lines=False), err=True)
