"""`search`: which cases mention a person, contact, handle or phrase."""

from __future__ import annotations

import click

from cocflow.cli.common import emit_json, json_option, progress, repo_option, say, workspace
from cocflow.cli.render import day, table
from cocflow.errors import ProblemsFound


@click.command("search")
@click.argument("text")
@click.option("--show", is_flag=True,
              help="Also print the matched text (an excerpt per field). Off by default: the "
                   "list alone names no one.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Cases read at once (default: twice the CPUs, at most 8).")
@repo_option
@json_option
def search_command(text: str, show: bool, jobs: int | None, as_json: bool) -> None:
    """Find every case your key can read that mentions TEXT.

    Case- and accent-insensitive ("zoe" finds "Zoë"), across the title, reporter, reported
    people, witnesses, description and timeline notes. Lists each case's id, state, dates
    and which fields matched, never the matched text unless --show. Cases are decrypted in
    memory only; nothing is cached. Exit 1 when a case fails its integrity check.

    \b
    Examples:
      cocflow search "jane doe"
      cocflow search jane@example.org --json
      cocflow search @jdoe --show
    """
    from cocflow.operations.search import search

    ws = workspace()
    with progress("searching") as bar:
        result = search(ws, text, show, jobs, None if as_json else bar)
    if as_json:
        emit_json(result.to_json())
    else:
        rows = [(h.case_id, h.status, day(h.received_at), day(h.respond_by), day(h.closed_at),
                 ", ".join(h.fields)) for h in result.hits]
        if rows:
            say(table(["id", "status", "received", "respond by", "closed", "matched in"], rows))
        for hit in result.hits if show else []:
            for field, excerpt in zip(hit.fields, hit.excerpts, strict=True):
                say(f"{hit.case_id} {field}: {excerpt}")
        say(f"{len(result.hits)} of {result.searched} readable case(s) match"
            + (f"; {len(result.not_readable)} not readable with your key"
               if result.not_readable else "") + ".")
        for problem in result.failed:
            say(f"  FAILED {problem.file}  {problem.message}")
    if result.failed:
        raise ProblemsFound(f"{len(result.failed)} case file(s) failed their checks and were "
                            "not searched: `cocflow verify` says why")
