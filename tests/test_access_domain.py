"""The pure access rules behind rekey and audit: exact recipient changes, per-case access."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cocflow.domain import access
from tests.test_domain import ROSTER

KEYS = st.lists(st.sampled_from(["age1a", "age1b", "age1c", "age1d", "age1e"]), max_size=6)


def test_recipient_change_adds_the_missing_and_removes_the_extra():
    change = access.recipient_change(["age1a", "age1old"], ["age1a", "age1new"])
    assert (change.add, change.remove) == (("age1new",), ("age1old",))


def test_recipient_change_is_not_needed_when_only_the_order_differs():
    assert not access.recipient_change(["age1b", "age1a"], ["age1a", "age1b"]).needed


@given(current=KEYS, desired=KEYS)
def test_recipient_change_never_adds_a_key_that_is_present(current, desired):
    change = access.recipient_change(current, desired)
    assert not set(change.add) & set(current)
    assert (set(current) | set(change.add)) - set(change.remove) == set(desired)


def test_case_access_of_a_case_that_matches_the_policy_has_no_problems():
    found = access.assess(ROSTER, "2026-0001", ["bob"],
                               access.desired_recipients(ROSTER, ["bob"]))
    assert found.readers == ("alice", "carol") and found.problems() == []


def test_case_access_names_departed_keys_recused_recipients_and_missing_members():
    found = access.assess(ROSTER, "2026-0001", ["bob"], ["age1a", "age1b", "age1gone"])
    assert found.departed == ("age1gone",)
    assert found.recused_recipients == ("bob",)
    assert found.missing == ("alice", "carol")  # alice's ssh key is not a recipient
    assert {f.code for f in found.findings} == {"recipient-recused", "recipient-unknown",
                                               "too-few-recipients"}


def test_escrow_keys_are_neither_readers_nor_departed():
    found = access.assess(ROSTER, "2026-0001", [],
                               [*access.desired_recipients(ROSTER, []), "age1escrow"])
    assert found.departed == () and "escrow" not in found.readers
