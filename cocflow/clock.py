"""The one clock: UTC now, overridable with COCFLOW_NOW for tests and what-if runs."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from cocflow.errors import InvalidInput


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (a `Z` or an offset) into an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(f"not an RFC 3339 timestamp: {text!r}") from None
    if value.tzinfo is None:
        raise InvalidInput(f"timestamp needs a time zone (e.g. Z): {text!r}")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past the last datetime
        raise InvalidInput(f"timestamp out of range: {text!r}") from None


def format_timestamp(value: datetime) -> str:
    """The one stored form: UTC to the second, `Z` suffix."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    """Current UTC time, or COCFLOW_NOW when set."""
    override = os.environ.get("COCFLOW_NOW")
    if override:
        return parse_timestamp(override)
    return datetime.now(timezone.utc).replace(microsecond=0)


def normalize_timestamp(text: str) -> str:
    """Any RFC 3339 input to the stored UTC form."""
    return format_timestamp(parse_timestamp(text))
