"""Where the running cocflow was installed from: its PEP 610 `direct_url.json`, if any."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cocflow import __version__


def running_install() -> tuple[dict[str, Any] | None, str]:
    """(the direct_url.json document or None, the version) of the cocflow that is running.

    None means an index install (no record); a source tree run without any install is
    reported as a local path, which is what it is.
    """
    from importlib import metadata

    try:
        distribution = metadata.distribution("cocflow")
    except metadata.PackageNotFoundError:
        return {"url": Path(__file__).resolve().parents[2].as_uri(), "dir_info": {}}, __version__
    text = distribution.read_text("direct_url.json")
    if not text:
        return None, distribution.version
    try:
        document = json.loads(text)
    except ValueError:
        return None, distribution.version
    return (document if isinstance(document, dict) else None), distribution.version
