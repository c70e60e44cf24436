"""The one clock: UTC now, overridable with COCFLOW_NOW for tests and what-if runs."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from cocflow.domain.timestamps import parse_timestamp


def now() -> datetime:
    """Current UTC time, or COCFLOW_NOW when set."""
    override = os.environ.get("COCFLOW_NOW")
    if override:
        return parse_timestamp(override, "COCFLOW_NOW")
    return datetime.now(timezone.utc).replace(microsecond=0)
