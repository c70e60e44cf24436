"""A second decision after a reopening needs a new contact with the reported person."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cocflow.domain.lifecycle import MoveRequest, add_note, apply_move
from cocflow.errors import InvalidInput
from tests.test_lifecycle_rules import case

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
DECIDE = MoveRequest("decided", outcomes=("warning",), rationale="because")


def decided_closed_reopened():
    first = apply_move(case("investigating", contacted=True), DECIDE, "bob", NOW)
    closed = apply_move(first, MoveRequest("closed"), "bob", NOW)
    return apply_move(closed, MoveRequest("investigating", note="appeal"), "bob", NOW)


def test_the_contact_before_the_reopening_does_not_count():
    reopened = decided_closed_reopened()
    with pytest.raises(InvalidInput, match="not been contacted since the case was reopened"):
        apply_move(reopened, DECIDE, "bob", NOW)


def test_a_new_contact_after_the_reopening_allows_the_second_decision():
    reopened = add_note(decided_closed_reopened(), "contacted-reported", "sent the appeal",
                        "bob", NOW)
    decided = apply_move(reopened, DECIDE, "bob", NOW)
    assert len(decided["decisions"]) == 2
    assert decided["decisions"][-1]["contact_skipped_reason"] is None


def test_skip_contact_still_works_after_a_reopening():
    skip = MoveRequest("decided", outcomes=("warning",), rationale="r", skip_contact="safety")
    decided = apply_move(decided_closed_reopened(), skip, "bob", NOW)
    assert decided["decisions"][-1]["contact_skipped_reason"] == "safety"
