"""`share`: the only way to add readers to existing cases (named, listed, recorded)."""

from __future__ import annotations

import click

from cocflow.cli.common import emit_json, json_option, next_step, repo_option, say, workspace
from cocflow.cli.render import table
from cocflow.domain.display import neutralise
from cocflow.domain.roster import fingerprint


@click.command("share")
@click.argument("targets", nargs=-1, metavar="[ID]... HANDLE")
@click.option("--open", "open_cases", is_flag=True,
              help="Every open case your key can read (HANDLE only).")
@click.option("--team", is_flag=True,
              help="End triage: every member not recused (and escrow) reads the named cases.")
@click.option("--yes", is_flag=True, help="Do it without asking (after reading the list).")
@repo_option
@json_option
def share_command(targets: tuple[str, ...], open_cases: bool, team: bool, yes: bool,
                  as_json: bool) -> None:
    """Give a member (or the whole team) access to cases: the only way to add a reader.

    Lists each case (id, state, received) and the keys it would gain, with fingerprints,
    before anything changes; asks, unless --yes. Refused for a member recused from a case,
    for a key that belonged to a member recused from it, and for a member or key this clone
    has not accepted (`cocflow team accept`). Recorded in each case's timeline; one commit.

    \b
    Examples:
      cocflow share 2026-0007 dana            one case, one member
      cocflow share --open dana               the yearly rotation: every open case
      cocflow share 2026-0009 --team          triage is over: the whole team reads it
    """
    from cocflow.operations.share import apply_share, plan_share

    ids, handle = _parse_targets(targets, open_cases, team)
    ws = workspace()
    plan = plan_share(ws, ids, handle, open_cases)
    if not as_json:
        _say_plan(plan.to_json())
    if not plan.items:
        if as_json:
            emit_json({**plan.to_json(), "shared": []})
        else:
            say("Nothing to share; nothing was changed.")
        return
    if not yes and not click.confirm("Share these cases?", default=False, err=True):
        raise click.Abort()
    shared = apply_share(ws, plan)
    if as_json:
        emit_json({**plan.to_json(), "shared": shared})
        return
    say(f"Shared {len(shared)} case(s) with {plan.with_whom} (one commit, recorded in each "
        "case's timeline).")
    next_step("`cocflow audit` shows who reads each case")


def _parse_targets(targets: tuple[str, ...], open_cases: bool,
                   team: bool) -> tuple[list[str], str | None]:
    if team:
        if open_cases or not targets:
            raise click.UsageError("--team takes the case ids to end triage for")
        return list(targets), None
    if open_cases:
        if len(targets) != 1:
            raise click.UsageError("--open takes exactly one HANDLE")
        return [], targets[0]
    if len(targets) < 2:
        raise click.UsageError("name the case ids and then the HANDLE (or use --open HANDLE)")
    return list(targets[:-1]), targets[-1]


def _say_plan(plan: dict[str, object]) -> None:
    cases = plan["cases"]
    assert isinstance(cases, list)
    rows = [(c["id"], c["status"], c["received_at"][:10],
             ", ".join(fingerprint(k["key"]) for k in c["adding"])) for c in cases]
    if rows:
        click.echo(neutralise(f"Sharing with {plan['with']}:"), err=True)
        click.echo(table(["case", "status", "received", "adds keys"], rows), err=True)
    skipped = plan["skipped"]
    assert isinstance(skipped, list)
    for entry in skipped:
        click.echo(neutralise(f"  left as it is: {entry['id']} ({entry['why']})"), err=True)
