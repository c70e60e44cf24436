"""CI files: valid, least-privilege, pinned, keyless, linted; one source for both routes.

Route (1): this repository's own workflows install cocflow from the checkout. Route (2):
`cocflow init` writes the same files, installing exactly the pinned spec in cocflow.yaml.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cocflow.adapters import workflows
from cocflow.domain import install_spec

SOURCE = Path(__file__).resolve().parent.parent
WORKFLOWS = SOURCE / ".github" / "workflows"
BIN = Path(sys.executable).parent
# Current majors (Node 24), full SHAs; where each came from is in the commit that set them.
KNOWN_PINS = {
    "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
    "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97 # v7.0.0",
}
VCS_SPEC = f"git+https://git.example.org/coc-team/cocflow@{'a1' * 20}"
HASHED_SPEC = f"cocflow==0.1.0 --hash=sha256:{'0f' * 32}"
SPECS = {"vcs": VCS_SPEC, "hashed": HASHED_SPEC}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(document: dict) -> dict:
    return document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true


def steps(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


def runs(document: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(document))


def make_repository(base: Path, ci: str, spec: str | None) -> Path:
    from cocflow.operations.setup import init_repository

    root = base / f"coc-{ci}"
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@cocflow.invalid",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@cocflow.invalid"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("GIT_CONFIG_GLOBAL", str(base / "gitconfig"))
        init_repository(root, ci, spec)
    return root


@pytest.fixture(scope="module", params=sorted(SPECS))
def case_repository(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Route (2) on GitHub, once per form of pinned spec."""
    return make_repository(tmp_path_factory.mktemp(request.param), "github",
                           SPECS[request.param])


@pytest.fixture(scope="module")
def gitlab_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repository(tmp_path_factory.mktemp("gitlab"), "gitlab", HASHED_SPEC)


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, check=False)


def folder_of(where: str, case_repository: Path) -> Path:
    return WORKFLOWS if where == "source" else case_repository / ".github" / "workflows"


def test_the_source_has_exactly_the_three_workflows():
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(workflows.ALL_WORKFLOWS)


@pytest.mark.parametrize("where", ["source", "init"])
def test_workflows_match_the_github_workflow_schema(where, case_repository):
    folder = folder_of(where, case_repository)
    result = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                  *map(str, sorted(folder.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("where", ["source", "init"])
def test_dependabot_keeps_the_pins_current_and_matches_its_schema(where, case_repository):
    root = SOURCE if where == "source" else case_repository
    path = root / workflows.DEPENDABOT
    result = tool("check-jsonschema", "--builtin-schema", "vendor.dependabot", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    ecosystems = {update["package-ecosystem"] for update in load(path)["updates"]}
    # pip only where there is a Python project to update: this repository, not a case one
    assert ecosystems == ({"github-actions", "pip"} if where == "source" else {"github-actions"})


@pytest.mark.parametrize("where", ["source", "init"])
@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_finds_nothing_for_any_persona(where, persona, case_repository):
    root = SOURCE / ".github" if where == "source" else case_repository / ".github"
    result = tool("zizmor", "--offline", "--no-progress", "--persona", persona, str(root))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("where", ["source", "init"])
def test_actionlint_with_shellcheck_finds_nothing(where, case_repository):
    folder = folder_of(where, case_repository)
    result = tool("actionlint", "-shellcheck", str(BIN / "shellcheck"), "-pyflakes", "",
                  *map(str, sorted(folder.glob("*.yml"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_shell_mistake(tmp_path):
    """The lint is real: shellcheck runs inside actionlint and fails an unquoted variable."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo $HOME\n")
    result = tool("actionlint", "-shellcheck", str(BIN / "shellcheck"), "-pyflakes", "",
                  str(bad))
    assert result.returncode == 1 and "SC2086" in result.stdout


@pytest.mark.parametrize("name", workflows.ALL_WORKFLOWS)
def test_actions_are_pinned_to_known_shas_of_current_majors(name):
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


@pytest.mark.parametrize("name", ["tests.yml", "cases.yml"])
def test_required_checks_run_on_every_change_and_in_the_merge_queue(name):
    document = load(WORKFLOWS / name)
    assert set(triggers(document)) == {"push", "pull_request", "merge_group"}
    for event in triggers(document).values():  # a path filter would leave PRs pending
        assert not event or not ({"paths", "paths-ignore"} & set(event))


def test_tests_run_make_test():
    assert "make test" in runs(load(WORKFLOWS / "tests.yml"))


def test_cases_are_checked_without_a_key():
    document = load(WORKFLOWS / "cases.yml")
    assert "cocflow check" in runs(document)
    assert "SOPS_AGE" not in (WORKFLOWS / "cases.yml").read_text()


def test_cases_compare_the_roster_with_where_the_change_starts():
    """`check --since BASE` on the full history: a push changing a recused member's keys is
    a finding (the pull request's base, the merge queue's, or the commit before the push)."""
    document = load(WORKFLOWS / "cases.yml")
    [checkout] = [s for s in steps(document) if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0
    [check] = [s for s in steps(document) if "cocflow check" in s.get("run", "")]
    assert 'cocflow check --since "$BEFORE"' in check["run"]
    assert check["env"]["BEFORE"] == ("${{ github.event.pull_request.base.sha || "
                                      "github.event.merge_group.base_sha || github.event.before }}")


def test_deadlines_run_daily_and_by_hand_with_only_the_workflow_token():
    document = load(WORKFLOWS / "deadlines.yml")
    assert set(triggers(document)) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"\d+ \d+ \* \* \*", triggers(document)["schedule"][0]["cron"])
    [notify] = [s for s in steps(document) if "cocflow notify github" in s.get("run", "")]
    assert notify["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "SOPS_AGE" not in (WORKFLOWS / "deadlines.yml").read_text()


@pytest.mark.parametrize("name", workflows.CASE_REPOSITORY_WORKFLOWS)
def test_route_1_installs_cocflow_from_the_checkout_it_checks(name):
    [install] = [s for s in steps(load(WORKFLOWS / name)) if "pip install" in s.get("run", "")]
    assert install["run"] == "python -m pip install ."


def installed_by(path: Path) -> str:
    """The install step's shell text of a route (2) workflow."""
    [install] = [s for s in steps(load(path)) if "pip " in s.get("run", "")]
    return install["run"]


def test_route_2_installs_exactly_the_spec_recorded_in_cocflow_yaml(case_repository):
    spec = install_spec.parse(load(case_repository / "cocflow.yaml")["install"])
    assert spec.requirement in (VCS_SPEC.replace("git+", "cocflow @ git+"), HASHED_SPEC)
    for name in workflows.CASE_REPOSITORY_WORKFLOWS:
        text = installed_by(case_repository / ".github" / "workflows" / name)
        assert text.strip().splitlines() == spec.shell_lines()
        assert "pip install ." not in text


def test_route_2_changes_nothing_but_the_install_step(case_repository):
    folder = case_repository / ".github" / "workflows"
    assert sorted(p.name for p in folder.iterdir()) == sorted(workflows.CASE_REPOSITORY_WORKFLOWS)
    for name in workflows.CASE_REPOSITORY_WORKFLOWS:
        source = load(WORKFLOWS / name)
        written = load(folder / name)
        for document in (source, written):
            for step in steps(document):
                if "pip " in step.get("run", ""):
                    step["run"] = "INSTALL"
        assert source == written


def test_gitlab_ci_matches_gitlabs_schema_and_is_keyless(gitlab_repository):
    path = gitlab_repository / workflows.GITLAB_CI
    result = tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (gitlab_repository / ".github").exists()
    document = load(path)
    script = "\n".join(document["cases"]["script"])
    assert 'cocflow check --since "$BEFORE"' in script  # the pushed range, history rules
    assert document["cases"]["variables"]["GIT_DEPTH"] == "0"
    assert document["deadlines"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert "cocflow notify webhook" in "\n".join(document["deadlines"]["script"])
    assert document[".install-cocflow"]["before_script"] == \
        install_spec.parse(HASHED_SPEC).shell_lines()
    assert "SOPS_AGE" not in path.read_text()


def test_gitlab_checks_run_on_pushes_and_merge_requests_but_not_the_schedule(gitlab_repository):
    document = load(gitlab_repository / workflows.GITLAB_CI)
    sources = [rule["if"] for rule in document["workflow"]["rules"]]
    assert any("merge_request_event" in rule for rule in sources)
    assert any("CI_COMMIT_BRANCH" in rule for rule in sources)
    assert document["cases"]["rules"][0] == {"if": '$CI_PIPELINE_SOURCE == "schedule"',
                                             "when": "never"}


def test_gitlab_job_scripts_pass_shellcheck(gitlab_repository, tmp_path):
    document = load(gitlab_repository / workflows.GITLAB_CI)
    for job in ("cases", "deadlines", ".install-cocflow"):
        lines = document[job].get("script") or document[job].get("before_script")
        script = tmp_path / f"{job.strip('.')}.sh"
        script.write_text("#!/bin/sh\nset -e\n" + "\n".join(lines) + "\n")
        result = tool("shellcheck", "--shell=sh", str(script))
        assert result.returncode == 0, result.stdout


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
