"""Where a case repository is: light enough to run before anything else is imported."""

from __future__ import annotations

from pathlib import Path

from cocflow.errors import EnvironmentProblem

CONFIG_FILE = "cocflow.yaml"


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` that holds cocflow.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise EnvironmentProblem(
        f"not a cocflow case repository (no {CONFIG_FILE} in {here} or above): "
        "cd into one, pass -C PATH, or create one with `cocflow init PATH`"
    )
