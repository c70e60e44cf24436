"""Every command explains itself: help text with an example, and a place in the README."""

from __future__ import annotations

import re
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


def groups() -> list[tuple[str, click.Group]]:
    from cocflow.cli import COMMANDS

    ctx = click.Context(cli)
    found = [(name, cli.get_command(ctx, name)) for name in COMMANDS]
    return [(name, group) for name, group in found if isinstance(group, click.Group)]


@pytest.mark.parametrize(("name", "group"), groups())
def test_every_group_has_help_with_examples(name, group):
    assert group.help and "Example" in group.help, name


def parameter(command: click.Command, name: str) -> click.Parameter:
    [found] = [p for p in command.params if p.name == name]
    return found


@pytest.mark.parametrize(("path", "command"), leaf_commands())
def test_every_case_id_and_handle_completes(path, command):
    for param in command.params:
        if {"ID", "HANDLE"} & set(re.findall(r"[A-Z]+", param.metavar or "")):
            assert param._custom_shell_complete is not None, (path, param.name)


def test_share_and_set_keys_complete_ids_and_handles(repo, open_case, monkeypatch):
    """`share [ID]... HANDLE` and `team set-keys HANDLE` take ids and handles too."""
    from click.shell_completion import ShellComplete

    case_id = open_case()
    monkeypatch.chdir(repo)
    complete = ShellComplete(cli, {}, "cocflow", "_COCFLOW_COMPLETE").get_completions
    assert [c.value for c in complete(["share"], "")] == [case_id, "alice", "bob", "carol"]
    assert [c.value for c in complete(["share", case_id], "c")] == ["carol"]
    assert [c.value for c in complete(["share", "--open"], "b")] == ["bob"]
    assert [c.value for c in complete(["team", "set-keys"], "a")] == ["alice"]


def test_handles_complete_from_the_roster(repo, monkeypatch):
    from click.shell_completion import ShellComplete

    monkeypatch.chdir(repo)
    complete = ShellComplete(cli, {}, "cocflow", "_COCFLOW_COMPLETE").get_completions
    assert [c.value for c in complete(["team", "remove"], "")] == ["alice", "bob", "carol"]
    assert [c.value for c in complete(["recuse", "2026-0001"], "c")] == ["carol"]
    assert [c.value for c in complete(["new", "--recuse"], "b")] == ["bob"]


@pytest.mark.parametrize("path", ["move", "recuse", "attach", "note"])
def test_free_text_is_minus_m_or_message_everywhere(path):
    command = dict(leaf_commands())[path]
    [option] = [p for p in command.params if "-m" in p.opts]
    assert "--message" in option.opts


@pytest.mark.parametrize("path", ["rekey", "verify"])
def test_parallel_commands_take_minus_j_or_jobs(path):
    command = dict(leaf_commands())[path]
    assert {"-j", "--jobs"} <= set(parameter(command, "jobs").opts)


def test_sync_takes_merge_or_rebase_as_one_flag_pair():
    option = parameter(dict(leaf_commands())["sync"], "merge")
    assert option.opts == ["--merge"] and option.secondary_opts == ["--rebase"]
    assert option.default is False
