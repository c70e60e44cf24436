"""Repository and key commands: init, keygen, whoami, doctor, migrate, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cocflow.cli.common import (
    colour,
    emit_json,
    json_option,
    next_step,
    repo_option,
    repo_path,
    say,
)
from cocflow.domain.display import neutralise
from cocflow.errors import ProblemsFound

if TYPE_CHECKING:
    from cocflow.operations.migrate import MigrateResult


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path, file_okay=False))
@click.option("--ci", type=click.Choice(["github", "gitlab", "none"]), default="github",
              show_default=True,
              help="CI files to write: GitHub workflows (+ dependabot), .gitlab-ci.yml, or none.")
@click.option("--install", "install", metavar="SPEC",
              help="What CI installs, pinned: \"git+https://HOST/TEAM/cocflow@COMMIT\" (40 hex) "
                   "or \"cocflow==VERSION --hash=sha256:HEX\". Default: where this cocflow "
                   "was installed from (PEP 610); a bare name is refused.")
@json_option
def init_command(path: Path, ci: str, install: str | None, as_json: bool) -> None:
    """Create a new case repository at PATH.

    Its CI checks the cases without a key and raises deadline alerts; it installs exactly
    the cocflow recorded in cocflow.yaml (`install:`). Installed with pipx or pip from a git
    URL pinned to a commit, cocflow records that very commit.

    \b
    Examples:
      cocflow init ./coc-cases
      cocflow init ./coc-cases --ci gitlab
      cocflow init ./coc-cases --install "git+https://github.com/TEAM/cocflow@COMMIT"
      cocflow init ./coc-cases --ci none
    """
    from cocflow.operations.setup import init_repository

    root = init_repository(path, ci, install)
    if as_json:
        emit_json({"path": str(root), "ci": ci})
        return
    say(f"Created case repository {root} (one commit).")
    next_step("cocflow keygen, then `cocflow -C PATH team add HANDLE --key age1...` for each "
              "member; keep this repository private")


@click.command("keygen")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the key (default: SOPS_AGE_KEY_FILE or sops' default path).")
@json_option
def keygen_command(out: Path | None, as_json: bool) -> None:
    """Create your age key (mode 0600, never overwritten); print its public key.

    \b
    Examples:
      cocflow keygen
      cocflow keygen --out ~/.config/sops/age/keys.txt
    """
    from cocflow.operations.setup import create_key

    target, public = create_key(out)
    if as_json:
        emit_json({"key_file": str(target), "public_key": public})
        return
    say(f"Wrote a new age key to {target} (mode 0600). Back it up somewhere safe and private.")
    say(f"Public key (share it with the team): {public}")
    if out is not None:
        say(f"Tell sops where it is: export SOPS_AGE_KEY_FILE={target}")
    next_step(f"a member runs `cocflow team add YOUR_HANDLE --key {public}`, then `cocflow "
              "share --open YOUR_HANDLE` for the cases you are to read")


@click.command("whoami")
@repo_option
@json_option
def whoami_command(as_json: bool) -> None:
    """Print the roster handle of your local key.

    \b
    Example:
      cocflow whoami
    """
    from cocflow.cli.common import workspace

    handle = workspace().actor
    emit_json({"handle": handle}) if as_json else say(handle)


@click.command("doctor")
@click.option("--fix", is_flag=True, help="Re-install local guards (diff driver, hooks).")
@repo_option
@json_option
def doctor_command(fix: bool, as_json: bool) -> None:
    """Check sops, git, your key, the roster and the repository.

    Each check says OK, or what to do. Exit 1 when something needs attention.

    \b
    Examples:
      cocflow doctor
      cocflow doctor --fix
    """
    from cocflow.operations.setup import doctor
    from cocflow.operations.setup import fix as fix_guards

    if fix:
        fix_guards(repo_path())
    findings = doctor(repo_path())
    if as_json:
        emit_json([f.to_json() for f in findings])
    else:
        for finding in findings:
            mark = colour("OK  ", fg="green") if finding.ok else colour("FIX ", fg="red")
            click.echo(mark + neutralise(f"{finding.name:<12} {finding.detail}"))
    failed = [f.name for f in findings if not f.ok]
    if failed:
        raise ProblemsFound(f"{len(failed)} check(s) need attention: {', '.join(failed)}")


@click.command("demo")
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
def demo_command(directory: Path | None) -> None:
    """Run a whole case in a throwaway repository with three generated members.

    Prints every step with the command a person would type.

    \b
    Examples:
      cocflow demo
      cocflow demo /tmp/cocflow-demo
    """
    from cocflow.operations.demo import run_demo

    run_demo(directory, say)


@click.command("migrate")
@click.option("--dry-run", is_flag=True, help="List what would be migrated; change nothing.")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Cases converted in parallel (default: twice the CPUs, at most 8).")
@repo_option
@json_option
def migrate_command(dry_run: bool, jobs: int | None, as_json: bool) -> None:
    """Convert every format-1 case your key can read (and its evidence) to format 2.

    Format 2 seals everything but meta into one padded value, so a reader without a key
    learns nothing from sizes (docs/case-format.md). One commit. Cases your key cannot open
    are listed: a member who can read them runs `cocflow migrate` after pulling (exit 1
    until every case is converted).

    \b
    Examples:
      cocflow migrate --dry-run
      cocflow migrate
      cocflow migrate --json
    """
    from cocflow.cli.common import progress, workspace
    from cocflow.operations.migrate import apply_migrate, plan_migrate, plan_result

    ws = workspace()
    plan = plan_migrate(ws)
    if dry_run:
        result = plan_result(ws, plan)
    else:
        with progress("migrating") as bar:
            bar.start(len(plan.cases))
            result = apply_migrate(ws, plan, jobs, bar.tick)
    if as_json:
        emit_json(result.to_json())
    else:
        _say_migrate(result)
    if not result.complete and not dry_run:
        raise ProblemsFound(
            f"migration incomplete: {len(result.need_other_member)} case(s) need another "
            f"member, {len(result.unreadable)} cannot be read by this cocflow (`cocflow "
            "verify` says why)")


def _say_migrate(result: MigrateResult) -> None:
    if result.dry_run:
        say("Dry run: nothing was changed.")
        if result.migrated:
            say(f"Would migrate {len(result.migrated)} case(s): {', '.join(result.migrated)}.")
    elif result.migrated:
        say(f"Migrated {len(result.migrated)} case(s) to format 2 (one commit): "
            f"{', '.join(result.migrated)}.")
    else:
        say("No case was migrated; nothing was committed.")
    say(f"Already in format 2: {len(result.unchanged)} case(s).")
    for case_id, paths in result.repaired.items():
        say(f"Check case {case_id}: format 1 had stored {', '.join(paths)} as a number; it "
            "is text again, as sops kept it (`cocflow show`, `cocflow edit`).")
    if result.unreadable:
        say(f"Cannot be read by this cocflow: {', '.join(result.unreadable)} (`cocflow verify`).")
    if result.need_other_member:
        say(f"Need another member: {', '.join(result.need_other_member)} (your key cannot "
            "open them).")
        if not result.dry_run:
            next_step("a member who can read them pulls and runs `cocflow migrate`")
