"""The cocflow command line: parse, call operations, print; errors become one line and a code."""

from __future__ import annotations

import os
import signal
import sys

import click

from cocflow import __version__
from cocflow.cli.common import JSON_EMITTED, repo_option
from cocflow.errors import CocflowError

EPILOG = """\b
Start here:
  cocflow demo                 see a whole case, with three generated members
  cocflow init ./coc-cases     a new case repository
  cocflow keygen               your age key (prints the public key to share)
  cocflow new --from ~/intake/report.yaml
  cocflow due                  what needs an answer soon
"""


# Command name -> "module:attribute" in cocflow.cli; a module is imported only when one of
# its commands runs, so `cocflow show` does not pay for rekey, check or the report.
COMMANDS = {
    "init": "repo:init_command", "keygen": "repo:keygen_command",
    "whoami": "repo:whoami_command", "doctor": "repo:doctor_command",
    "demo": "repo:demo_command", "migrate": "repo:migrate_command",
    "team": "team:team_group",
    "new": "cases:new_command", "list": "cases:list_command", "show": "cases:show_command",
    "search": "search:search_command",
    "move": "lifecycle:move_command", "note": "lifecycle:note_command",
    "edit": "lifecycle:edit_command", "due": "lifecycle:due_command",
    "void": "lifecycle:void_command",
    "recuse": "access:recuse_command", "share": "share:share_command",
    "rekey": "access:rekey_command",
    "audit": "access:audit_command", "attach": "evidence:attach_command",
    "evidence": "evidence:evidence_command", "report": "report:report_command",
    "verify": "check:verify_command", "sync": "sync:sync_command",
    "merge-driver": "sync:merge_driver_command", "check": "check:check_command",
    "notify": "notify:notify_group", "textconv": "check:textconv_command",
    "completion": "shell:completion_command",
    "intake": "intake:intake_group", "inbox": "intake:inbox_group",
    "reply": "intake:reply_command",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            module, attribute = COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(f"cocflow.cli.{module}"), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cocflow")
@repo_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """cocflow: the case tool of a Code of Conduct response team.

    Each case is a SOPS-encrypted file in a private git repository, readable only by the
    team members who are not recused from it. Every change is one git commit.
    """
    ctx.ensure_object(dict)


def main(argv: list[str] | None = None) -> None:
    """Entry point: the single place that turns errors into `Error: ...` and an exit code."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, _interrupted)
    from cocflow.operations.private_files import remove_stale_edit_copies

    remove_stale_edit_copies()
    args = list(sys.argv[1:] if argv is None else argv)
    _JSON["wanted"] = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    JSON_EMITTED["done"] = False
    _commits_made().clear()
    try:
        cli.main(args=args, prog_name="cocflow", standalone_mode=False)
    except CocflowError as exc:
        _fail(str(exc), exc.exit_code, exc)
    except OSError as exc:  # a full disk, a read-only directory: never a traceback
        _fail(_describe_os_error(exc), 4, exc)
    except click.exceptions.Abort:
        _fail(f"aborted; {_what_changed()}", 130, None)
    except KeyboardInterrupt as exc:
        _fail(f"interrupted; {_what_changed()}", 130, exc)
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
    except Exception as exc:  # a bug: its message could quote case data, so name only the type
        _fail(f"unexpected internal error ({type(exc).__name__}); {_what_changed()}; rerun "
              "with COCFLOW_DEBUG=1 and report it", 1, exc)
    sys.exit(0)


def _what_changed() -> str:
    """The truth about the repository when a command stops early."""
    made = _commits_made()
    if not made:
        return "nothing was changed"
    named = ", ".join(f"`{message}`" for message in made)
    return f"the change was committed ({named}; see `git log -1`)"


def _commits_made() -> list[str]:
    # Read without importing: a command that never loaded the workspace committed nothing.
    module = sys.modules.get("cocflow.operations.workspace")
    committed = getattr(module, "COMMITTED", None)
    return committed if isinstance(committed, list) else []


def _interrupted(_signum: int, _frame: object) -> None:
    # SIGTERM, SIGHUP (the terminal closed) and SIGQUIT unwind like Ctrl-C, so every cleanup
    # and rollback runs: the private copy of an edit never stays behind.
    raise KeyboardInterrupt


def _describe_os_error(exc: OSError) -> str:
    # Names the file, never its content; a path holds no case text.
    where = f" ({os.path.basename(str(exc.filename))})" if exc.filename else ""
    return f"{exc.strerror or type(exc).__name__}{where}: check free disk space and permissions"


_JSON = {"wanted": False}


def _fail(message: str, code: int, exc: BaseException | None) -> None:
    if os.environ.get("COCFLOW_DEBUG") and exc is not None:
        import traceback

        traceback.print_exception(exc)
    from cocflow.domain.display import neutralise

    first_line = neutralise(" ".join(message.split("\n")[0].split()), lines=False) or "failed"
    click.echo(f"Error: {first_line}", err=True)
    if _JSON["wanted"] and not JSON_EMITTED["done"]:
        # Under --json, stdout is always one JSON document, failures included.
        import json

        click.echo(json.dumps({"error": {"message": first_line, "exit_code": code}}))
    sys.exit(code)
