"""Shell completion scripts."""

from __future__ import annotations

import click


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion_command(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Examples:
      cocflow completion bash >> ~/.bashrc
      cocflow completion zsh > ~/.zfunc/_cocflow
      cocflow completion fish > ~/.config/fish/completions/cocflow.fish
    """
    from click.shell_completion import get_completion_class

    from cocflow.cli import cli

    completer = get_completion_class(shell)
    if completer is None:  # pragma: no cover - the Choice above lists only known shells
        raise click.UsageError(f"no completion for {shell}")
    ctx = click.get_current_context()
    click.echo(completer(cli, {}, ctx.find_root().info_name or "cocflow",
                         "_COCFLOW_COMPLETE").source())
