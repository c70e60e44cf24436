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
@click.option("--since", metavar="REF",
              help="Also check every commit after REF up to HEAD against the history rules "
                   "(CI: the pushed range): revisions grow by one, no rollback, no case "
                   "deleted, fixed dates, recusals kept, evidence written with its case, and "
                   "no change to the keys of a recused member in team.yaml.")
@repo_option
@json_option
def check_command(staged: bool, since: str | None, as_json: bool) -> None:
    """Check the repository without a key: every problem, never any case content.

    Plaintext outside meta, meta against its schema, file names and ids, recipients
    against team.yaml and recusals, team.yaml and cocflow.yaml, sops metadata, evidence,
    files that a case repository does not hold, settings that weaken protection. Each
    problem has a file, a case id, a stable code and a message. Exit 1 on problems.

    \b
    Examples:
      cocflow check
      cocflow check --json
      cocflow check --staged       (what the pre-commit hook runs)
      cocflow check --since origin/main   (the commits you are about to push)
    """
    from cocflow.operations.check_changes import check_repository

    if staged and since:
        raise click.UsageError("--staged and --since check different things: use one")
    report = check_repository(keyless_workspace().root, staged, since)
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            case = f" [{problem.case}]" if problem.case else ""
            say(f"{problem.file}{case} {problem.code}: {problem.message}")
        if report.triage and not staged:
            say(f"in triage: {', '.join(report.triage)} (readable by the opener, triage "
                "readers and escrow until `cocflow share ID --team`)")
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
        raise ProblemsFound(_failed_summary(report))
    if report.unreadable and not report.verified:
        raise AccessDenied(f"your key can open none of the {len(report.unreadable)} case(s)")


def _failed_summary(report: Report) -> str:
    """Restoring from history is the advice for tampering only: a case in a format this
    cocflow does not know was written with a key, and needs a newer cocflow instead."""
    unreadable = sum(1 for finding in report.failed if finding.code == "unreadable")
    other = len(report.failed) - unreadable
    parts = []
    if other:
        parts.append(f"{other} case file(s) failed verification: restore them from git "
                     "history and tell the team")
    if unreadable:
        parts.append(f"{unreadable} case file(s) cannot be read by this cocflow (each line "
                     "above says why)")
    return "; ".join(parts)


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
