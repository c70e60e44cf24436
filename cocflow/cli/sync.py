"""Sharing work with the team: `sync`, and the git merge driver for case files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cocflow.cli.common import (
    emit_json,
    json_option,
    next_step,
    repo_option,
    repo_path,
    say,
    workspace,
)
from cocflow.domain.display import neutralise

if TYPE_CHECKING:
    from cocflow.operations.sync import Preference


@click.command("sync")
@click.option("--merge/--rebase", "merge", default=False,
              help="Merge upstream into your branch, or rebase your commits onto it "
                   "(the default).")
@click.option("--prefer", type=click.Choice(["mine", "theirs"]),
              help="Settle fields both sides changed differently with this side's value.")
@click.option("--no-push", "no_push", is_flag=True, help="Fetch and integrate only.")
@repo_option
@json_option
def sync_command(merge: bool, prefer: str | None, no_push: bool, as_json: bool) -> None:
    """Fetch the team's changes, rebase onto them (or merge), and push.

    Case files both sides changed are merged by the cocflow merge driver: timelines and
    recusals by union, a field changed on one side from that side. When both sides changed
    the same field differently, sync stops, changes nothing and says which field: choose a
    side with --prefer. Exit 4 when it cannot finish.

    \b
    Examples:
      cocflow sync
      cocflow sync --merge
      cocflow sync --prefer theirs
    """
    from cocflow.operations.sync import sync

    preferred: Preference | None = (
        "mine" if prefer == "mine" else "theirs" if prefer == "theirs" else None)
    result = sync(workspace(), "merge" if merge else "rebase", preferred, push=not no_push)
    for change in result.roster_pending:
        click.echo(neutralise(f"Roster change not accepted by this clone: {change}"), err=True)
    if result.roster_pending:
        click.echo("Until you check them with the people concerned and run `cocflow team "
                   "accept`, they give nobody access.", err=True)
    if as_json:
        emit_json(result.to_json())
        return
    for item in result.set_up:
        say(f"Set up {item} for this clone.")
    for old, new in result.renumbered.items():
        say(f"Your case {old} is now {new}: another member opened a different case as {old} "
            "meanwhile. Use the new id from now on.")
    if result.method == "up to date" and not result.pushed:
        say(f"Up to date with {result.remote}/{result.branch}.")
        return
    say(f"Synced with {result.remote}/{result.branch} ({result.method}): "
        f"{result.incoming} commit(s) in, {result.outgoing} out"
        f"{', pushed' if result.pushed else ''}.")
    if no_push and result.outgoing:
        next_step("cocflow sync (to push)")


@click.command("merge-driver", hidden=True)
@click.argument("base", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("ours", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("theirs", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("pathname")
@repo_option
def merge_driver_command(base: Path, ours: Path, theirs: Path, pathname: str) -> None:
    """The git merge driver for case files (git runs it; `init` and `doctor --fix` set it up).

    Decrypts the three versions with your key, merges them (timelines and recusals by
    union, one-sided changes kept), re-encrypts to the merged case's recipients and writes
    OURS. Exit 1, leaving OURS untouched and all versions in git's index, on a conflict.

    \b
    Example (what git runs, from .git/config):
      cocflow merge-driver %O %A %B %P
    """
    from cocflow.operations.merge_driver import run_driver

    result = run_driver(base, ours, theirs, pathname, repo_path())
    settled = f" (settled by preference: {', '.join(result.preferred)})" if result.preferred \
        else ""
    click.echo(neutralise(f"cocflow: merged {pathname}{settled}"), err=True)
