"""The transparency report command."""

from __future__ import annotations

from pathlib import Path

import click

from cocflow.cli.common import progress, repo_option, say, workspace
from cocflow.cli.report_render import FORMATS
from cocflow.domain.display import neutralise


@click.command("report")
@click.option("--year", type=click.IntRange(1970, 9999),
              help="Cases received in this year (UTC); default: the last full year.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown",
              show_default=True, help="markdown, json, or one self-contained html page.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file instead of printing it.")
@repo_option
def report_command(year: int | None, fmt: str, as_json: bool, out: Path | None) -> None:
    """An anonymised transparency report of the cases received in a year.

    Totals, cases by status, category, space, decision outcome and dismissal reason, days to
    the first response and the share answered within the promise. No names, contacts, free
    text or case ids. Counts below report_min_count (cocflow.yaml, default 3) are shown as
    "fewer than N" (JSON: null, listed in "suppressed"). Cases you cannot decrypt count from
    their plaintext meta; the report says how much of them it could not see. The title names
    cocflow.yaml's `community`; without --year, the report is of the last full year.

    \b
    Examples:
      cocflow report                  # the last full year
      cocflow report --year 2026
      cocflow report --year 2026 --format html --out coc-report-2026.html
      cocflow report --year 2026 --json
    """
    from cocflow.cli.report_render import render
    from cocflow.operations.report import save_report, transparency_report

    if as_json and fmt not in ("markdown", "json"):
        raise click.UsageError("--json and --format html cannot be used together")
    from cocflow.operations.report import last_full_year

    ws = workspace()
    year = last_full_year(ws) if year is None else year
    with progress("reading cases") as bar:
        found = transparency_report(ws, year, bar)
    text = render(found, "json" if as_json else fmt)
    if out is None:
        click.echo(neutralise(text), nl=False)
        return
    save_report(out, text)
    say(f"Wrote the {year} transparency report to {out}.")
