"""What a case repository's CI installs: pinned specs only, by default where cocflow came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cocflow.domain import install_spec
from cocflow.errors import InvalidInput

COMMIT = "3f" * 20
DIGEST = "ab" * 32


@pytest.mark.parametrize("given, expected", [
    (f"git+https://github.com/team/cocflow@{COMMIT}",
     f"cocflow @ git+https://github.com/team/cocflow@{COMMIT}"),
    (f"cocflow @ git+ssh://git@git.example.org/team/cocflow.git@{COMMIT}",
     f"cocflow @ git+ssh://git@git.example.org/team/cocflow.git@{COMMIT}"),
    (f"cocflow==0.1.0 --hash=sha256:{DIGEST}", f"cocflow==0.1.0 --hash=sha256:{DIGEST}"),
    (f"cocflow==0.2.1  --hash=sha256:{DIGEST} --hash=sha256:{'cd' * 32}",
     f"cocflow==0.2.1 --hash=sha256:{DIGEST} --hash=sha256:{'cd' * 32}"),
    (f"https://files.example.org/cocflow-0.1.0-py3-none-any.whl#sha256={DIGEST}",
     f"cocflow @ https://files.example.org/cocflow-0.1.0-py3-none-any.whl#sha256={DIGEST}"),
])
def test_pinned_specs_are_accepted_and_normalised(given, expected):
    assert install_spec.parse(given).requirement == expected


@pytest.mark.parametrize("given", [
    "cocflow", "cocflow==0.1.0", "cocflow>=0.1", "git+https://github.com/team/cocflow",
    "git+https://github.com/team/cocflow@main", "git+https://github.com/team/cocflow@v0.1.0",
    f"git+https://github.com/team/cocflow@{COMMIT[:12]}",
    f"git+https://github.com/team/cocflow@{COMMIT}; rm -rf ~",
    f"git+https://github.com/te'am/cocflow@{COMMIT}",
    f"git+https://github.com/$(whoami)/cocflow@{COMMIT}",
    f"cocflow==0.1.0 --hash=md5:{DIGEST[:32]}", f"other==0.1.0 --hash=sha256:{DIGEST}",
    f"http://files.example.org/cocflow.whl#sha256={DIGEST}",
    "https://files.example.org/cocflow-0.1.0-py3-none-any.whl",
])
def test_unpinned_or_unsafe_specs_are_refused(given):
    with pytest.raises(InvalidInput, match="not a pinned install spec"):
        install_spec.parse(given)


def test_the_default_is_the_commit_a_vcs_install_came_from():
    document = {"url": "https://github.com/team/cocflow",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "main"}}
    spec = install_spec.from_direct_url(document, "0.1.0")
    assert spec.requirement == f"cocflow @ git+https://github.com/team/cocflow@{COMMIT}"


def test_the_default_of_an_archive_install_keeps_its_hash():
    document = {"url": "https://files.example.org/cocflow-0.1.0-py3-none-any.whl",
                "archive_info": {"hashes": {"sha256": DIGEST}}}
    spec = install_spec.from_direct_url(document, "0.1.0")
    assert spec.requirement.endswith(f"cocflow-0.1.0-py3-none-any.whl#sha256={DIGEST}")


@pytest.mark.parametrize("document, says", [
    (None, "package index"),
    ({"url": "file:///home/me/cocflow", "dir_info": {"editable": True}}, "local path"),
    ({"url": "file:///tmp/cocflow.whl", "archive_info": {"hash": f"sha256={DIGEST}"}},
     "local path"),
    ({"url": "https://hg.example.org/cocflow", "vcs_info": {"vcs": "hg", "commit_id": "1"}},
     "without a full commit"),
    ({"url": "https://files.example.org/cocflow.tar.gz", "archive_info": {}}, "cannot tell"),
])
def test_a_default_ci_could_not_repeat_is_refused_with_what_to_pass(document, says):
    with pytest.raises(InvalidInput, match=says) as raised:
        install_spec.from_direct_url(document, "0.1.0")
    assert "--install" in str(raised.value)


def test_the_hashed_form_downloads_the_checked_file_then_installs_it():
    lines = install_spec.parse(f"cocflow==0.1.0 --hash=sha256:{DIGEST}").shell_lines()
    assert any("--require-hashes" in line and "--no-deps" in line for line in lines)
    assert lines[-1] == 'python -m pip install "$spec_dir"/cocflow-*'


def test_init_records_the_spec_and_the_workflows_install_it(tmp_path: Path, run):
    spec = f"git+https://git.example.org/team/cocflow@{COMMIT}"
    result = run("init", str(tmp_path / "coc"), "--install", spec, "--json")
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "coc"
    recorded = yaml.safe_load((root / "cocflow.yaml").read_text())["install"]
    assert recorded == f"cocflow @ {spec}"
    cases = (root / ".github" / "workflows" / "cases.yml").read_text()
    assert f"python -m pip install '{recorded}'" in cases
    assert json.loads(result.stdout) == {"path": str(root), "ci": "github"}


def test_init_refuses_an_unpinned_name_and_creates_nothing(tmp_path: Path, run):
    result = run("init", str(tmp_path / "coc"), "--install", "cocflow==0.1.0")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: not a pinned install spec")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "coc").exists()


def test_init_from_a_checkout_says_exactly_what_to_pass(tmp_path: Path, run):
    # this test suite runs an editable install: a local path no CI can reach
    result = run("init", str(tmp_path / "coc"))
    assert result.exit_code == 2
    assert "local path" in result.stderr and "--install" in result.stderr
    assert "--ci none" in result.stderr
    assert not (tmp_path / "coc").exists()


def test_init_for_gitlab_writes_gitlab_ci_only(tmp_path: Path, run):
    result = run("init", str(tmp_path / "coc"), "--ci", "gitlab", "--install",
                 f"cocflow==0.1.0 --hash=sha256:{DIGEST}")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "coc" / ".gitlab-ci.yml").is_file()
    assert not (tmp_path / "coc" / ".github").exists()


def test_check_flags_an_unpinned_install_in_cocflow_yaml(repo: Path, run):
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text() + 'install: "cocflow"\n')
    result = run("-C", str(repo), "check", "--json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["code"] == "config-invalid" and "pinned" in problem["message"]
