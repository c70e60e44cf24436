"""The GitHub workflows: one source (.github/workflows of cocflow), shipped in the wheel.

`cocflow init` writes the keyless ones (case checks, deadline alert) into a new case
repository. There is one difference, and only one: a case repository holds no cocflow
source, so it installs the released cocflow instead of `pip install .`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cocflow import __version__

WORKFLOWS_DIR = Path(".github") / "workflows"
ALL_WORKFLOWS = ("tests.yml", "cases.yml", "deadlines.yml")
# tests.yml runs cocflow's own test suite (`make test`): a case repository has none.
CASE_REPOSITORY_WORKFLOWS = ("cases.yml", "deadlines.yml")
SOURCE_INSTALL = "run: python -m pip install ."
_SOURCE_WORKFLOWS = Path(__file__).resolve().parents[2] / WORKFLOWS_DIR


def released_install(version: str = __version__) -> str:
    """The install step of a case repository's workflows: this very release."""
    return f'run: python -m pip install "cocflow=={version}"'


def workflow_text(name: str) -> str:
    """One workflow as shipped: inside the package in a wheel, beside it in a checkout."""
    packaged = resources.files("cocflow").joinpath("github").joinpath("workflows").joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_SOURCE_WORKFLOWS / name).read_text(encoding="utf-8")


def for_case_repository(text: str) -> str:
    """The same workflow with its install step pointing at the released package."""
    return text.replace(SOURCE_INSTALL, released_install())


def write_workflows(root: Path) -> list[Path]:
    """Write the case repository workflows into `root/.github/workflows`."""
    folder = root / WORKFLOWS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CASE_REPOSITORY_WORKFLOWS:
        path = folder / name
        path.write_text(for_case_repository(workflow_text(name)), encoding="utf-8")
        written.append(path)
    return written
