"""Hostile input: YAML bombs, deep nesting, huge or broken input, wrong shapes, bad ids.

Every refusal is exit 2 with one line on stderr and no traceback; nothing is committed.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cocflow.adapters.keys import generate
from cocflow.adapters.sops import Keyring
from cocflow.adapters.yamlio import MAX_DEPTH, MAX_INPUT_BYTES
from cocflow.operations.setup import init_repository
from cocflow.operations.team import add_member
from cocflow.operations.workspace import Workspace
from tests.conftest import HANDLES, SENTINEL, Key, git, report_yaml, snapshot, walk_commands

BILLION_LAUGHS = "\n".join(
    ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["report: *i"]
)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Key]]]:
    """One repository for the whole module: refusals change nothing, so they can share it."""
    base = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"HOME": str(base), "GIT_CONFIG_GLOBAL": str(base / ".gitconfig"),
                            "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Test",
                            "GIT_AUTHOR_EMAIL": "t@cocflow.invalid", "GIT_COMMITTER_NAME": "Test",
                            "GIT_COMMITTER_EMAIL": "t@cocflow.invalid"}.items():
            patch.setenv(name, value)
        keys = {h: Key(h, base / f"{h}.txt", generate(base / f"{h}.txt")) for h in HANDLES}
        root = init_repository(base / "repo", ci="none")
        for handle in ("alice", "bob", "carol"):
            add_member(Workspace.open(root, Keyring()), handle, [keys[handle].public])
        yield root, keys


@pytest.fixture
def shared(team, run):  # type: ignore[no-untyped-def]
    """The module's repository, checked to be unchanged by the test."""
    root, _keys = team
    before = snapshot(root)
    yield team
    assert snapshot(root) == before


def refused(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 2, one `Error:` line, no traceback, the given words in it."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def new_case(run, team, document: str | bytes):  # type: ignore[no-untyped-def]
    repo, keys = team
    return run("-C", str(repo), "new", "--from", "-", input=document, as_member=keys["alice"])


def test_a_billion_laughs_document_is_refused_quickly(shared, run):
    started = time.monotonic()
    result = new_case(run, shared, BILLION_LAUGHS)
    refused(result, "anchors or aliases")
    assert time.monotonic() - started < 30  # generous: expansion would never finish


def test_deep_nesting_is_refused(shared, run):
    deep = "report: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    refused(new_case(run, shared, deep), "nested deeper")


def test_very_deep_nesting_does_not_overflow_the_stack(shared, run):
    deep = "report: " + "[" * 100_000 + "]" * 100_000 + "\n"
    refused(new_case(run, shared, deep))


def test_huge_input_is_refused_before_parsing(shared, run):
    huge = "report:\n  description: " + "x" * (MAX_INPUT_BYTES + 1) + "\n"
    refused(new_case(run, shared, huge), "larger than")


def test_invalid_utf8_is_refused(shared, run):
    refused(new_case(run, shared, b"report:\n  title: \xff\xfe broken\n"), "UTF-8")


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("just a string\n", ("mapping",)),
        ("- a\n- list\n", ("mapping",)),
        ("report: 5\n", ("report",)),
        ("report: [a, b]\n", ("report",)),
        ("report: {title: 5, channel: email, description: d}\n", ("title", "type string")),
        ("report: {title: t, channel: pigeon, description: d}\n", ("channel", "one of")),
        ("report: {title: t, channel: email}\n", ("missing description",)),
        ("report: {title: t, channel: email, description: d, secret: x}\n", ("unknown key",)),
        ("report: {title: t, channel: email, description: d}\nextra: 1\n", ("unknown key",)),
        ("report: {title: t, channel: email, description: d, 1: x, [a]: y}\n", ()),
        ("report: {title: t, channel: email, description: d, occurred_at: yesterday}\n",
         ("timestamp",)),
        ("report: {title: t, channel: email, description: d, "
         "occurred_at: '9999-12-31T23:59:59-01:00'}\n", ("out of range",)),
        ("report: {title: t, channel: email, description: d}\nreceived_at: 2026-13-45\n",
         ("timestamp",)),
        ("report: !!python/object/apply:os.system ['true']\n", ("YAML",)),
        ("report: !!binary aGVsbG8=\n", ("report",)),
        ("report: !!set {a, b}\n", ("report",)),
        ("report: {title: \"\\ud800\", channel: email, description: d}\n", ()),
        ("\x00\x01report: x\n", ("YAML",)),
        ("report: {title: t, channel: email, description: d}\nrecusals: [{handle: nobody}]\n",
         ("nobody",)),
        ("report: {title: t, channel: email, description: d, "
         "reported: [{team_handle: '../../etc'}]}\n", ("team_handle",)),
    ],
)
def test_wrong_shapes_and_types_are_exit_2_with_one_line(shared, run, document, words):
    refused(new_case(run, shared, document), *words)


def test_an_error_never_echoes_report_text(shared, run):
    from tests.conftest import SENTINEL

    result = new_case(run, shared, report_yaml(channel=f"pigeon {SENTINEL}"))
    refused(result, "channel")
    assert SENTINEL not in result.stderr


# --- case ids ----------------------------------------------------------------------------

BAD_IDS = ["../team", "../../etc/passwd", "/etc/passwd", "2026-1", "2026-0001.yaml",
           "2026-0001/../x", "", " 2026-0001", "2026-000\u0661", "cases/2026-0001"]


def commands_taking_an_id() -> list[tuple[list[str], click.Command]]:
    """Every command, at any depth, with an ID argument (found, so new ones are covered)."""
    return [(path, command) for path, command in walk_commands()
            if any(p.name == "case_id" for p in command.params)]


def invocation(path: list[str], command: click.Command, case_id: str) -> list[str]:
    """The command line with `case_id` and a plausible value for every other required input."""
    args = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            if param.name == "case_id":
                args.append(case_id)
            elif param.required:
                args.append(_plausible(param))
        elif isinstance(param, click.Option) and param.required:
            args += [param.opts[0], _plausible(param)]
    return args


def _plausible(param: click.Parameter) -> str:
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    return "alice" if "handle" in (param.name or "") else "x"


def test_the_commands_that_take_an_id_are_found():
    names = {" ".join(path) for path, _command in commands_taking_an_id()}
    assert {"show", "note", "move", "edit"} <= names


@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize(("path", "command"), commands_taking_an_id(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_command_validates_the_id_before_it_touches_a_path(shared, run, path, command,
                                                                  bad_id, tmp_path):
    repo, keys = shared
    marker = tmp_path / "editor-ran"
    result = run("-C", str(repo), *invocation(path, command, bad_id), as_member=keys["alice"],
                 env={"EDITOR": f"touch {marker}", "COCFLOW_SOPS": "/nonexistent/sops"})
    refused(result, "not a case id")
    assert not marker.exists()


# --- properties ---------------------------------------------------------------------------

SCHEMA_WORDS = ["report", "title", "channel", "description", "reporter", "reported",
                "witnesses", "categories", "consent", "name", "contact", "team_handle",
                "anonymous", "occurred_at", "space", "location", "received_at", "recusals",
                "handle", "reason", "note", "meta", "name_reporter"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["email", "online", "other", "alice", "carol",
                                           "2026-11-18T20:00:00Z", "stalking", "",
                                           f"VALUE-{SENTINEL}"]),
)
keys_ = st.one_of(st.sampled_from(SCHEMA_WORDS), st.text(max_size=12), st.integers())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys_, inner, max_size=5)),
    max_leaves=25,
)


def outcome(run, team, document: str | bytes):  # type: ignore[no-untyped-def]
    """Exit 0 (a case was opened) or exit 2 with one line; never anything else."""
    result = new_case(run, team, document)
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert SENTINEL not in result.stderr  # an input value is never echoed back
    return result


PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(document=st.one_of(values, st.dictionaries(keys_, values, max_size=4)))
def test_random_documents_pass_or_get_exit_2(team, run, document):
    outcome(run, team, yaml.safe_dump(document, allow_unicode=True))


@PROPERTY
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_and_bytes_pass_or_get_exit_2(team, run, text):
    outcome(run, team, text)


VALID = yaml.safe_load(report_yaml())


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += _paths(sub, (*prefix, index))
    return found


def mutate(document: Any, path: tuple, action: str, value: Any, key: Any) -> Any:
    """The document with one change at `path`: replaced, removed, or given an extra key."""
    mutated = copy.deepcopy(document)
    if not path:
        return value if action == "replace" else mutated
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "remove":
        del parent[last]
    elif isinstance(parent[last], dict):
        parent[last][key] = value
    else:
        parent[last] = [parent[last], value]
    return mutated


@PROPERTY
@given(data=st.data())
def test_mutations_of_a_valid_intake_pass_or_get_exit_2(team, run, data):
    path = data.draw(st.sampled_from(_paths(VALID)))
    action = data.draw(st.sampled_from(["replace", "remove", "add"]))
    mutated = mutate(VALID, path, action, data.draw(values), data.draw(keys_))
    outcome(run, team, yaml.safe_dump(mutated, allow_unicode=True))


def test_the_property_repository_holds_only_whole_committed_cases(team, run):
    outcome(run, team, report_yaml())
    repo, _keys = team
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
