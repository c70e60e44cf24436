"""Every command explains itself: help text with an example, and a place in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from cocflow.cli import cli
from tests.conftest import walk_commands

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def leaf_commands() -> list[tuple[str, click.Command]]:
    return [(" ".join(path), command) for path, command in walk_commands()]


@pytest.mark.parametrize(("path", "command"), leaf_commands())
def test_every_command_has_help_with_an_example(path, command):
    assert command.help and "Example" in command.help, path


@pytest.mark.parametrize(("path", "command"), leaf_commands())
def test_every_command_is_in_the_readme(path, command):
    assert f"cocflow {path}" in README, path


@pytest.mark.parametrize(("path", "command"), leaf_commands())
def test_every_command_answers_help(path, command, run):
    result = run(*path.split(), "--help")
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_completion_script_names_the_program(run):
    result = run("completion", "bash")
    assert result.exit_code == 0
    assert "_COCFLOW_COMPLETE" in result.stdout and "cocflow" in result.stdout


def test_case_ids_complete_from_the_repository(repo, open_case, monkeypatch):
    from click.shell_completion import ShellComplete

    case_id = open_case()
    monkeypatch.chdir(repo)
    completions = ShellComplete(cli, {}, "cocflow", "_COCFLOW_COMPLETE").get_completions(
        ["show"], "2026")
    assert [c.value for c in completions] == [case_id]
