"""Checking a repository: `check` (keyless, CI), `verify` (with a key), the diff driver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cocflow.cli.common import (
    emit_json,
    json_option,
    keyless_workspace,
    repo_option,
    say,
    workspace,
)
from cocflow.errors import AccessDenied, ProblemsFound

if TYPE_CHECKING:
    from cocflow.operations.verify import Report


@click.command("check")
@click.option("--staged", is_flag=True,
              help="Check the versions staged in the git index, and only the files the next "
                   "commit changes (the pre-commit hook).")
@repo_option
@json_option
def check_command(staged: bool, as_json: bool) -> None:
    """Check the repository without a key: every problem, never any case content.

    Plaintext outside meta, meta against its schema, file names and ids, recipients
    against team.yaml and recusals, team.yaml and cocflow.yaml, sops metadata, evidence.
    Each problem has a file, a case id, a stable code and a message. Exit 1 on problems.

    \b
    Examples:
      cocflow check
      cocflow check --json
      cocflow check --staged       (what the pre-commit hook runs)
    """
    from cocflow.operations.check import check_repository

    report = check_repository(keyless_workspace().root, staged)
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            case = f" [{problem.case}]" if problem.case else ""
            say(f"{problem.file}{case} {problem.code}: {problem.message}")
        if report.ok:
            say(f"OK: {report.files_in_scope} staged change(s) checked, no problems."
                if staged else f"OK: {report.cases} case(s) checked, no problems.")
    if not report.ok:
        where = "in the staged changes" if staged else f"in {report.cases} case(s) checked"
        raise ProblemsFound(f"{len(report.problems)} problem(s) {where}; each line above "
                            "names the file, case, code and fix")


@click.command("textconv", hidden=True)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def textconv_command(file: Path) -> None:
    """Show a case decrypted for `git diff` (the diff driver; git runs it).

    A member with a key sees the decrypted case; anyone else sees the file as it is, so
    `git diff` works without a key. Never cached.

    \b
    Example:
      git config diff.sops.textconv "python -m cocflow textconv"
    """
    from cocflow.operations.textconv import textconv

    sys.stdout.buffer.write(textconv(file))
    sys.stdout.buffer.flush()


@click.command("verify")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Cases decrypted at once (default: twice the CPUs, at most 8).")
@repo_option
@json_option
def verify_command(jobs: int | None, as_json: bool) -> None:
    """Decrypt every case your key can read and prove it intact.

    Checks the SOPS MAC (meta included), the full case schema, and that each file name
    matches the id inside. Cases your key cannot open (recused, not a recipient) are listed
    apart. Exit 1 when any case fails.

    \b
    Examples:
      cocflow verify
      cocflow verify --json
    """
    from cocflow.operations.verify import case_count, verify

    ws = workspace()
    if sys.stderr.isatty() and not as_json:
        with click.progressbar(length=case_count(ws), label="verifying", file=sys.stderr) as bar:
            report = verify(ws, jobs, lambda: bar.update(1))
    else:
        report = verify(ws, jobs)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_verify(report)
    if report.failed:
        raise ProblemsFound(f"{len(report.failed)} case file(s) failed verification: restore "
                            "them from git history and tell the team")
    if report.unreadable and not report.verified:
        raise AccessDenied(f"your key can open none of the {len(report.unreadable)} case(s)")


def _print_verify(report: Report) -> None:
    say(f"Verified {len(report.verified)} case(s): MAC, schema and file name intact.")
    if report.unreadable:
        say(f"Not readable with your key ({len(report.unreadable)}):")
        for finding in report.unreadable:
            say(f"  {finding.file}  {finding.code}")
    if report.failed:
        say(f"FAILED ({len(report.failed)}):")
        for finding in report.failed:
            say(f"  {finding.file}  {finding.message}")
