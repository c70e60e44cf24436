"""The GitHub workflows: valid, least-privilege, pinned, keyless; one source for `init` too."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cocflow import __version__
from cocflow.adapters import workflows

SOURCE = Path(__file__).resolve().parent.parent
WORKFLOWS = SOURCE / ".github" / "workflows"
BIN = Path(sys.executable).parent
KNOWN_PINS = {
    "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(document: dict) -> dict:
    return document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def runs(document: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(document))


@pytest.fixture(scope="module")
def case_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cocflow.operations.setup import init_repository

    root = tmp_path_factory.mktemp("init") / "coc"
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@cocflow.invalid",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@cocflow.invalid"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("GIT_CONFIG_GLOBAL", str(root.parent / "gitconfig"))
        init_repository(root)
    return root


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, check=False)


def test_the_source_has_exactly_the_three_workflows():
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(workflows.ALL_WORKFLOWS)


@pytest.mark.parametrize("where", ["source", "init"])
def test_workflows_match_the_github_workflow_schema(where, case_repository):
    folder = WORKFLOWS if where == "source" else case_repository / ".github" / "workflows"
    result = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                  *map(str, sorted(folder.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("where", ["source", "init"])
def test_zizmor_finds_nothing(where, case_repository):
    folder = WORKFLOWS if where == "source" else case_repository / ".github" / "workflows"
    result = tool("zizmor", "--offline", "--no-progress", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", workflows.ALL_WORKFLOWS)
def test_actions_are_pinned_to_known_shas_with_their_version(name):
    text = (WORKFLOWS / name).read_text()
    uses = re.findall(r"uses: (.+)$", text, flags=re.M)
    assert uses and set(uses) <= KNOWN_PINS


@pytest.mark.parametrize("name", workflows.ALL_WORKFLOWS)
def test_checkout_never_keeps_credentials(name):
    document = load(WORKFLOWS / name)
    checkouts = [s for s in steps(document) if s.get("uses", "").startswith("actions/checkout")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("name", workflows.ALL_WORKFLOWS)
def test_permissions_are_least_privilege_and_no_secret_is_used(name):
    document = load(WORKFLOWS / name)
    assert document["permissions"] == {"contents": "read"}
    for job_name, job in document["jobs"].items():
        expected = {"contents": "read", "issues": "write"} if name == "deadlines.yml" else None
        assert job.get("permissions") == expected, job_name
    text = (WORKFLOWS / name).read_text()
    assert "secrets." not in text and "pull_request_target" not in text


def test_tests_run_make_test_on_push_and_pull_request():
    document = load(WORKFLOWS / "tests.yml")
    assert set(triggers(document)) == {"push", "pull_request"}
    assert "make test" in runs(document)


def test_cases_are_checked_without_a_key_when_they_change():
    document = load(WORKFLOWS / "cases.yml")
    for event in ("push", "pull_request"):
        assert {"cases/**", "team.yaml", "cocflow.yaml"} <= set(triggers(document)[event]["paths"])
    assert "cocflow check" in runs(document)
    assert "SOPS_AGE" not in (WORKFLOWS / "cases.yml").read_text()


def test_deadlines_run_daily_and_by_hand_with_only_the_workflow_token():
    document = load(WORKFLOWS / "deadlines.yml")
    assert set(triggers(document)) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"\d+ \d+ \* \* \*", triggers(document)["schedule"][0]["cron"])
    assert "python -m pip install ." in runs(document)
    [notify] = [s for s in steps(document) if "cocflow notify github" in s.get("run", "")]
    assert notify["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "SOPS_AGE" not in (WORKFLOWS / "deadlines.yml").read_text()


def test_init_writes_the_same_workflows_with_only_the_install_step_changed(case_repository):
    folder = case_repository / ".github" / "workflows"
    assert sorted(p.name for p in folder.iterdir()) == sorted(workflows.CASE_REPOSITORY_WORKFLOWS)
    for name in workflows.CASE_REPOSITORY_WORKFLOWS:
        source = (WORKFLOWS / name).read_text().splitlines()
        written = folder.joinpath(name).read_text().splitlines()
        assert len(source) == len(written)
        changed = [(a.strip(), b.strip()) for a, b in zip(source, written, strict=True) if a != b]
        assert changed == [(workflows.SOURCE_INSTALL,
                            f'run: python -m pip install "cocflow=={__version__}"')]


def test_the_wheel_ships_the_workflows_where_cocflow_looks_for_them():
    pyproject = (SOURCE / "pyproject.toml").read_text()
    assert '".github/workflows" = "cocflow/github/workflows"' in pyproject
    assert workflows.workflow_text("cases.yml") == (WORKFLOWS / "cases.yml").read_text()


def test_pre_commit_framework_hook_runs_the_staged_check(repo, run):
    [hook] = load(SOURCE / ".pre-commit-hooks.yaml")
    assert hook["id"] == "cocflow-check"
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert re.search(hook["files"], "cases/2026-0001.yaml")
    assert re.search(hook["files"], "team.yaml")
    command = hook["entry"].split()
    assert command[:2] == ["cocflow", "check"]
    assert run("-C", str(repo), *command[1:]).exit_code == 0
