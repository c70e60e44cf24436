"""What every command shares: -C/--repo, --json, the workspace, output helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cocflow.operations.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])


def _remember_repo(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        ctx.ensure_object(dict)["repo"] = value
    return value


def repo_option(function: F) -> F:
    """-C/--repo, on the group (`cocflow -C PATH list`) and on each command (`list -C PATH`)."""
    return click.option(
        "-C", "--repo", type=click.Path(path_type=Path, file_okay=False), expose_value=False,
        callback=_remember_repo, is_eager=True,
        help="The case repository (default: the nearest parent holding cocflow.yaml).",
    )(function)



def _complete_case_id(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
    from cocflow.errors import CocflowError
    from cocflow.operations.cases import case_ids

    try:
        ids = case_ids(ctx.ensure_object(dict).get("repo"))
    except CocflowError:
        return []
    return [case_id for case_id in ids if case_id.startswith(incomplete)]


def case_id_argument(function: F) -> F:
    """The ID argument, with shell completion of existing case ids."""
    return click.argument("case_id", metavar="ID", shell_complete=_complete_case_id)(function)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="One JSON document on stdout, for scripts.")(function)


def repo_path() -> Path | None:
    return click.get_current_context().ensure_object(dict).get("repo")


def workspace() -> Workspace:
    from cocflow.operations.workspace import Workspace

    return _protected(Workspace.open(repo_path()))


def keyless_workspace() -> Workspace:
    """For commands that read only plaintext meta: no key is looked for."""
    from cocflow.operations.workspace import Workspace

    return _protected(Workspace.open_keyless(repo_path()))


# `check` runs inside the pre-commit hook and in CI; the others are run by git or report on
# the guards themselves: none of them sets guards up as a side effect.
UNGUARDED_COMMANDS = {"check", "doctor", "textconv", "merge-driver", "init", "demo"}


def _protected(ws: Workspace) -> Workspace:
    """A clone is protected from its first command: missing local guards are installed."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command.name in UNGUARDED_COMMANDS:
        return ws
    from cocflow.operations.hooks import protect_clone

    set_up, todo = protect_clone(ws.root)
    if set_up:
        click.echo(f"Set up {', '.join(set_up)} for this clone (what `cocflow doctor --fix` "
                   "installs).", err=True)
    for item in todo:
        click.echo(f"Warning: {item}", err=True)
    return ws


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def say(message: str) -> None:
    click.echo(message)


def next_step(message: str) -> None:
    click.echo(click.style("next: ", bold=True) + message)
