"""Private decrypted copies (`edit`, the description of `new`): start-up clean-up."""

from __future__ import annotations


def remove_stale_edit_copies() -> list[str]:
    """Remove this user's private edit directories whose cocflow process is gone."""
    from cocflow.adapters.editor import remove_stale_copies

    return remove_stale_copies()
