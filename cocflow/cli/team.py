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
from cocflow.cli.render import say_roster_review, table
from cocflow.domain.roster import fingerprint

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
    """Add a member to team.yaml (they read a case once it is shared with them: `share`).

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
    say("Each other member's clone shows the new member (with key fingerprints) and waits for "
        "their `cocflow team accept`.")
    next_step(f"after {member.handle} declares no conflict, a member who reads the open "
              f"cases runs `cocflow share --open {member.handle}`")


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


@team_group.command("set-keys")
@click.argument("handle")
@click.option("--key", "keys", multiple=True, required=True,
              help="An age (age1...) or ssh-ed25519 public key; repeat for more.")
@repo_option
@json_option
def team_set_keys(handle: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Replace a member's keys (a lost or new laptop).

    A key taken away stops at once; a new key waits until the other members accept the
    change (`cocflow team accept`, after checking the fingerprint with the member) and
    reaches existing cases only through `cocflow share`. Keep the old key until then.

    \b
    Example:
      cocflow team set-keys carol --key age1old... --key age1new...
    """
    from cocflow.operations.team import set_keys

    member = set_keys(workspace(), handle, keys)
    if as_json:
        emit_json(member.to_document())
        return
    prints = ", ".join(fingerprint(k) for k in member.keys)
    say(f"{handle} now has {len(member.keys)} key(s): {prints} (one commit).")
    next_step("the other members check these fingerprints with you, then run "
              "`cocflow team accept`")


@team_group.command("accept")
@click.option("--yes", is_flag=True, help="Accept without asking (after checking the list).")
@repo_option
@json_option
def team_accept(yes: bool, as_json: bool) -> None:
    """Accept the changes to team.yaml since this clone last accepted the roster.

    Lists every change per handle (added, removed, key added or removed, escrow, renamed,
    settings) with key fingerprints and the commits and authors that made it. Removals
    already took effect; additions start only now. Check each one with the people concerned
    (a call, a chat you trust) before you accept: anyone with push access can edit team.yaml.

    \b
    Examples:
      cocflow team accept
      cocflow team accept --yes --json
    """
    from cocflow.operations.team import accept_roster, review_roster

    ws = workspace()
    review = review_roster(ws)
    if not review.changes:
        if as_json:
            emit_json({**review.to_json(), "accepted": False})
        else:
            say("team.yaml matches the roster this clone accepted; nothing to accept.")
        return
    if not as_json:
        say_roster_review(review)
    if not yes and not click.confirm("Accept these changes?", default=False, err=True):
        raise click.Abort()
    accept_roster(ws, review)
    if as_json:
        emit_json({**review.to_json(), "accepted": True})
    else:
        say("Accepted: this clone now encrypts to team.yaml as it is.")
        if any(c.kind == "added" or c.kind == "key added" for c in review.pending):
            next_step("existing cases reach new keys only through `cocflow share`")
