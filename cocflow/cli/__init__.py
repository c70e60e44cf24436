"""The cocflow command line: parse, call operations, print; errors become one line and a code."""

from __future__ import annotations

import os
import signal
import sys

import click

from cocflow import __version__
from cocflow.cli.common import root_options
from cocflow.errors import CocflowError

EPILOG = """\b
Start here:
  cocflow demo                 see a whole case, with three generated members
  cocflow init ./coc-cases     a new case repository
  cocflow keygen               your age key (prints the public key to share)
  cocflow new --from report.yaml
  cocflow due                  what needs an answer soon
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cocflow")
@root_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """cocflow: the case tool of a Code of Conduct response team.

    Each case is a SOPS-encrypted file in a private git repository, readable only by the
    team members who are not recused from it. Every change is one git commit.
    """
    ctx.ensure_object(dict)


def _register() -> None:
    from cocflow.cli import (
        access,
        cases,
        ci,
        evidence,
        lifecycle,
        reliability,
        repo,
        report,
        shell,
        team,
    )

    modules = (repo, team, cases, lifecycle, access, evidence, report, reliability, ci, shell)
    for module in modules:
        module.register(cli)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the single place that turns errors into `Error: ...` and an exit code."""
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        cli.main(args=argv, prog_name="cocflow", standalone_mode=False)
    except CocflowError as exc:
        _fail(str(exc), exc.exit_code, exc)
    except OSError as exc:  # a full disk, a read-only directory: never a traceback
        _fail(_describe_os_error(exc), 4, exc)
    except click.exceptions.Abort:
        _fail("aborted; nothing was changed", 130, None)
    except KeyboardInterrupt as exc:
        _fail("interrupted; nothing was changed", 130, exc)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click.ClickException as exc:
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
        _fail(exc.format_message() + hint, exc.exit_code, exc)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)


def _interrupted(_signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so every cleanup and rollback runs.
    raise KeyboardInterrupt


def _describe_os_error(exc: OSError) -> str:
    # Names the file, never its content; a path holds no case text.
    where = f" ({os.path.basename(str(exc.filename))})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}: check free disk space and permissions"


def _fail(message: str, code: int, exc: BaseException | None) -> None:
    if os.environ.get("COCFLOW_DEBUG") and exc is not None:
        import traceback

        traceback.print_exception(exc)
    first_line = " ".join(message.split("\n")[0].split()) or "failed"
    click.echo(f"Error: {first_line}", err=True)
    sys.exit(code)
