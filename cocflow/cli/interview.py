"""`cocflow new` in a terminal: each answer checked as it is typed, nothing typed is lost.

A wrong timestamp, space or category is refused on the spot, with the choices shown, and
asked again; the answers already given stay. The description is written in the editor
through the same private copy as `edit` (0600 file, 0700 directory on /dev/shm).
"""

from __future__ import annotations

from typing import Any

import click

from cocflow.cli.common import say
from cocflow.domain import transparency
from cocflow.domain.case import CHANNELS

TITLE_MAX = 200


def ask_for_report() -> dict[str, Any]:
    """The intake document, asked field by field."""
    from cocflow.operations.text_entry import write_in_editor

    say("New case. Press Enter to leave an optional field empty.")
    report: dict[str, Any] = {
        "title": click.prompt("Title (a short, neutral summary)", value_proc=_title, err=True),
        "channel": click.prompt("Channel", type=click.Choice(CHANNELS), default="email",
                                err=True),
    }
    anonymous = click.confirm("Is the reporter anonymous?", default=False, err=True)
    report["reporter"] = {"anonymous": anonymous}
    if not anonymous:
        report["reporter"]["name"] = optional("Reporter name")
        report["reporter"]["contact"] = optional("Reporter contact")
    reported_name = optional("Reported person's name")
    if reported_name:
        report["reported"] = [{"name": reported_name,
                               "contact": optional("Reported person's contact"),
                               "team_handle": optional("Their team handle, if a member")}]
    report["occurred_at"] = optional("When it happened (e.g. 2026-11-18T20:00:00Z)", _timestamp)
    report["space"] = optional(f"Space ({', '.join(transparency.SPACES)})", _space)
    report["location"] = optional("Where")
    report["categories"] = optional(
        f"Categories, comma-separated, from: {', '.join(transparency.CATEGORIES)}",
        _categories) or []
    report["description"] = write_in_editor("Describe what happened (encrypted).")
    report["consent"] = {
        "name_reporter": click.confirm("May the reporter be named in a decision?", default=False,
                                       err=True),
        "share_with_reported": click.confirm(
            "May the report be shared with the reported person?", default=False, err=True),
    }
    return {"report": report}


def optional(prompt: str, check: Any = None) -> Any:
    """An optional answer: empty is None; otherwise `check` turns it into the value or refuses
    it with click.BadParameter, and click asks again."""

    def convert(answer: str) -> Any:
        text = answer.strip()
        if not text:
            return None
        return check(text) if check else text

    return click.prompt(prompt, default="", show_default=False, value_proc=convert, err=True)


def _title(answer: str) -> str:
    text = " ".join(answer.split())
    if not text:
        raise click.BadParameter("a title is needed")
    if len(text) > TITLE_MAX:
        raise click.BadParameter(f"at most {TITLE_MAX} characters (this one has {len(text)})")
    return text


def _timestamp(answer: str) -> str:
    from cocflow.domain.timestamps import normalize_timestamp
    from cocflow.errors import InvalidInput

    try:
        return normalize_timestamp(answer, "the time")
    except InvalidInput as exc:
        raise click.BadParameter(f"{exc}; e.g. 2026-11-18T20:00:00Z") from None


def _space(answer: str) -> str:
    if answer not in transparency.SPACES:
        raise click.BadParameter(f"one of {', '.join(transparency.SPACES)}")
    return answer


def _categories(answer: str) -> list[str]:
    chosen = list(dict.fromkeys(c.strip() for c in answer.split(",") if c.strip()))
    unknown = [c for c in chosen if c not in transparency.CATEGORIES]
    if unknown:
        raise click.BadParameter(f"unknown: {', '.join(unknown)}; choose from "
                                 f"{', '.join(transparency.CATEGORIES)}")
    return chosen
