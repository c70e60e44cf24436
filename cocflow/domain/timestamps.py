"""Timestamps as cocflow stores them: RFC 3339, UTC to the second, a `Z` suffix."""

from __future__ import annotations

from datetime import datetime, timezone

from cocflow.errors import InvalidInput


def parse_timestamp(text: str, field: str = "") -> datetime:
    """Parse an RFC 3339 timestamp (a `Z` or an offset) into an aware UTC datetime.

    Errors name `field`, never the value: a mistyped date field may hold case text.
    """
    try:
        return _parse(text)
    except InvalidInput as exc:
        raise InvalidInput(f"{field}: {exc}" if field else str(exc)) from None


def _parse(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput("not an RFC 3339 timestamp (e.g. 2026-11-18T20:00:00Z)") from None
    if value.tzinfo is None:
        raise InvalidInput("a timestamp needs a time zone (e.g. 2026-11-18T20:00:00Z)")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past the last datetime
        raise InvalidInput("a timestamp is out of range") from None


def format_timestamp(value: datetime) -> str:
    """The one stored form: UTC to the second, `Z` suffix."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_timestamp(text: str, field: str = "") -> str:
    """Any RFC 3339 input to the stored UTC form."""
    return format_timestamp(parse_timestamp(text, field))
