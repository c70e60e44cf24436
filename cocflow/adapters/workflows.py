"""CI files: one source (.github/workflows of cocflow, templates/ in the package), shipped in
the wheel.

Route (1), a team's private copy of cocflow's own repository, runs the workflows as they are:
they install cocflow from the checkout (`pip install .`), so CI runs exactly the reviewed
code. Route (2), a separate repository made by `cocflow init`, gets the same keyless files
with one difference only: the install step installs the pinned spec recorded in
cocflow.yaml instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from cocflow.domain.install_spec import InstallSpec

WORKFLOWS_DIR = Path(".github") / "workflows"
ALL_WORKFLOWS = ("tests.yml", "cases.yml", "deadlines.yml")
# tests.yml runs cocflow's own test suite (`make test`): a case repository has none.
CASE_REPOSITORY_WORKFLOWS = ("cases.yml", "deadlines.yml")
SOURCE_INSTALL = "python -m pip install ."
DEPENDABOT = Path(".github") / "dependabot.yml"
GITLAB_CI = Path(".gitlab-ci.yml")
CI_CHOICES = ("github", "gitlab", "none")
_SOURCE_WORKFLOWS = Path(__file__).resolve().parents[2] / WORKFLOWS_DIR


def workflow_text(name: str) -> str:
    """One workflow as shipped: inside the package in a wheel, beside it in a checkout."""
    packaged = resources.files("cocflow").joinpath("github").joinpath("workflows").joinpath(name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_SOURCE_WORKFLOWS / name).read_text(encoding="utf-8")


def template_text(name: str) -> str:
    """A file of cocflow/templates (GitLab CI, a case repository's dependabot.yml)."""
    return resources.files("cocflow").joinpath("templates").joinpath(name).read_text(
        encoding="utf-8")


def with_install(text: str, spec: InstallSpec) -> str:
    """The same CI file with its one source-install line replaced by the pinned spec.

    The line may be a `run:` value (GitHub) or a list item (GitLab); its indentation and
    prefix are kept, and a spec needing several commands becomes a block of them.
    """
    lines = text.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.rstrip().endswith(SOURCE_INSTALL)]
    if len(found) != 1:
        raise ValueError(f"expected one `{SOURCE_INSTALL}` line, found {len(found)}")
    index = found[0]
    line = lines[index]
    prefix = line[: line.rindex(SOURCE_INSTALL)]
    commands = spec.shell_lines()
    if len(commands) == 1:
        lines[index] = f"{prefix}{commands[0]}\n"
    elif prefix.lstrip().startswith("- "):  # a YAML list of commands (GitLab): one item each
        lines[index] = "".join(f"{prefix}{command}\n" for command in commands)
    else:
        body_indent = " " * (len(prefix) - len(prefix.lstrip()) + 2)
        lines[index] = f"{prefix}|\n" + "".join(f"{body_indent}{c}\n" for c in commands)
    return "".join(lines)


def write_ci(root: Path, ci: str, spec: InstallSpec | None) -> list[Path]:
    """Write a case repository's CI files for `ci` (github, gitlab or none)."""
    if ci == "none":
        return []
    if spec is None:
        raise ValueError("CI files need a pinned install spec")
    if ci == "gitlab":
        return [_write(root / GITLAB_CI, with_install(template_text("gitlab-ci.yml"), spec))]
    written = [_write(root / WORKFLOWS_DIR / name, with_install(workflow_text(name), spec))
               for name in CASE_REPOSITORY_WORKFLOWS]
    written.append(_write(root / DEPENDABOT, template_text("dependabot.yml")))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
