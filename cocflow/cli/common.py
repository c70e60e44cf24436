"""What every command shares: -C/--repo, --json, the workspace, output helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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



def _completer(source: str) -> Callable[[click.Context, click.Parameter, str], list[str]]:
    """Shell completion from `module:function` of cocflow.operations (imported only when a
    shell asks), which lists the candidates of the repository at or above -C."""

    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[str]:
        import importlib

        from cocflow.errors import CocflowError

        module, function = source.split(":")
        lookup = getattr(importlib.import_module(f"cocflow.operations.{module}"), function)
        try:
            found: list[str] = lookup(ctx.ensure_object(dict).get("repo"))
        except CocflowError:
            return []
        return [value for value in found if value.startswith(incomplete)]

    return complete


_complete_case_id = _completer("cases:case_ids")
complete_handle = _completer("team:roster_handles")


def case_id_argument(function: F) -> F:
    """The ID argument, with shell completion of existing case ids."""
    return click.argument("case_id", metavar="ID", shell_complete=_complete_case_id)(function)


def handle_argument(function: F) -> F:
    """The HANDLE argument, with shell completion of the roster's handles."""
    return click.argument("handle", metavar="HANDLE", shell_complete=complete_handle)(function)


TEXT_HELP = " - reads it from stdin, or opens your editor when stdin is a terminal."


def message_option(help_text: str, required: bool = False) -> Callable[[F], F]:
    """-m/--message for every free-text note (--note kept as an alias of older docs)."""
    return text_option("-m", "--message", "--note", "note", help_text=help_text)


def text_option(*names: str, help_text: str) -> Callable[[F], F]:
    """A free-text option: TEXT, or `-` for stdin (the editor, on a terminal).

    (Not click's optional-value flag: it refuses a text that starts with `-`.)
    """
    return click.option(*names, metavar="TEXT", default=None, help=help_text + TEXT_HELP)


def stdin_is_terminal() -> bool:
    """Whether a person can be asked: the one check, so tests can stand in for a terminal."""
    import sys

    return sys.stdin.isatty()


def free_text(value: str | None, what: str, *, needed: bool = False) -> str | None:
    """The text of a free-text option: as given, from stdin (`-`), or from the editor.

    The editor opens for `-` on a terminal, and for a `needed` text left out when there is
    a terminal or an editor is set; without either, the message says how to give it.
    """
    import os
    import sys

    terminal = stdin_is_terminal()
    if value == "-" and not terminal:
        return sys.stdin.read().strip() or None
    if value is None and needed and not (terminal or os.environ.get("VISUAL")
                                         or os.environ.get("EDITOR")):
        raise click.UsageError(f"{what} is needed: give it as TEXT, - to read it from stdin, "
                               "or run in a terminal to write it in your editor")
    if value == "-" or (value is None and needed):
        from cocflow.operations.text_entry import write_in_editor

        return write_in_editor(f"{what}.")
    return value


class Progress:
    """A progress bar on stderr, only when stderr is a terminal: `start(total)`, `tick()`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None

    def start(self, total: int) -> None:
        import sys

        if total and sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()

    def tick(self, *_done: object) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextmanager
def progress(label: str) -> Iterator[Progress]:
    """A Progress closed however the command ends."""
    bar = Progress(label)
    try:
        yield bar
    finally:
        bar.close()


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True,
                        help="One JSON document on stdout, for scripts.")(function)


def repo_path() -> Path | None:
    return click.get_current_context().ensure_object(dict).get("repo")


def workspace() -> Workspace:
    from cocflow.operations.workspace import Workspace

    ws = _protected(Workspace.open(repo_path()))
    _warn_pending_roster(ws)
    return ws


def _warn_pending_roster(ws: Workspace) -> None:
    """Say, on every keyed command, that team.yaml holds changes this clone has not accepted."""
    from cocflow.errors import CocflowError

    try:
        changes = ws.pending_roster_changes()
    except CocflowError:
        return  # the command itself reports a broken roster
    if changes:
        handles = ", ".join(dict.fromkeys(change.handle for change in changes))
        click.echo(f"Warning: team.yaml has {len(changes)} change(s) this clone has not "
                   f"accepted ({handles}); they give nobody access until you check them with "
                   "the people concerned and run `cocflow team accept`", err=True)


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
    from cocflow.operations.clone_guard import protect_clone

    set_up, todo = protect_clone(ws.root)
    if set_up:
        click.echo(f"Set up {', '.join(set_up)} for this clone (what `cocflow doctor --fix` "
                   "installs).", err=True)
    for item in todo:
        click.echo(f"Warning: {item}", err=True)
    return ws


# Whether this run already printed its JSON document: an error after it (check --json finds
# problems) must not add a second document to stdout.
JSON_EMITTED = {"done": False}


def emit_json(value: Any) -> None:
    from cocflow.domain.display import is_control

    JSON_EMITTED["done"] = True
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # json escapes C0 itself; C1 and bidirectional controls become \uXXXX: the same JSON.
    click.echo("".join(f"\\u{ord(c):04x}" if is_control(c) and c != "\n" else c for c in text))


def say(message: str) -> None:
    """Print for a person: control characters and bidi overrides shown, never acted on."""
    from cocflow.domain.display import neutralise

    click.echo(neutralise(message))


def warn(message: str) -> None:
    """`Warning: ...` on stderr, neutralised like `say`."""
    from cocflow.domain.display import neutralise

    click.echo(f"Warning: {neutralise(message)}", err=True)


def colour(text: str, **style: Any) -> str:
    """Styled text for a terminal; plain under NO_COLOR (click drops styles off a terminal)."""
    import os

    return text if os.environ.get("NO_COLOR") else click.style(text, **style)


def next_step(message: str) -> None:
    """A hint of what to do next, on stderr: stdout stays the command's result."""
    from cocflow.domain.display import neutralise

    click.echo(colour("next: ", bold=True) + neutralise(message), err=True)
