"""Roster commands: team list, team add, team remove."""

from __future__ import annotations

import click

from cocflow.cli.common import (
    emit_json,
    handle_argument,
    json_option,
    next_step,
    repo_option,
    say,
    workspace,
)
from cocflow.cli.render import table

HISTORY_WARNING = (
    "Earlier commits stay readable with that key: review who can clone this repository."
)


@click.group("team")
def team_group() -> None:
    """The response team roster (team.yaml).

    \b
    Examples:
      cocflow team list
      cocflow team add dana --key age1... --name "Dana"
      cocflow team remove bob
    """


@team_group.command("list")
@repo_option
@json_option
def team_list(as_json: bool) -> None:
    """List members, their keys and the escrow keys.

    \b
    Example:
      cocflow team list
    """
    roster = workspace().roster
    if as_json:
        emit_json(roster.to_document())
        return
    rows = [(m.handle, m.name, m.since, len(m.keys), m.keys[0][:24] + "...") for m in
            roster.members]
    say(table(["handle", "name", "since", "keys", "first key"], rows))
    say(f"escrow keys: {len(roster.escrow)}; min_recipients: {roster.min_recipients}")


@team_group.command("add")
@click.argument("handle")
@click.option("--key", "keys", multiple=True, required=True,
              help="An age (age1...) or ssh-ed25519 public key; repeat for more.")
@click.option("--name", help="The member's display name.")
@repo_option
@json_option
def team_add(handle: str, keys: tuple[str, ...], name: str | None, as_json: bool) -> None:
    """Add a member to team.yaml (cases change only with `rekey`).

    \b
    Example:
      cocflow team add dana --key age1... --name "Dana"
    """
    from cocflow.operations.team import add_member

    member = add_member(workspace(), handle, keys, name)
    if as_json:
        emit_json(member.to_document())
        return
    say(f"Added {member.handle} with {len(member.keys)} key(s) to team.yaml (one commit).")
    next_step("cocflow rekey, so that the new member can read the cases")


@team_group.command("remove")
@handle_argument
@repo_option
@json_option
def team_remove(handle: str, as_json: bool) -> None:
    """Remove a member from team.yaml (their access ends with `rekey`).

    \b
    Example:
      cocflow team remove bob
    """
    from cocflow.operations.team import remove_member

    readable = remove_member(workspace(), handle)
    if as_json:
        emit_json({"removed": handle, "still_recipient_of": readable})
        return
    say(f"Removed {handle} from team.yaml (one commit). Until `rekey`, {handle} can still "
        f"read {len(readable)} case(s).")
    say(HISTORY_WARNING)
    next_step("cocflow rekey")
