"""The diff driver's conversion: what `git diff` and `git log -p` show for a case file.

git runs it once per file version (`python -m cocflow textconv FILE`, which skips the
command-line layer), so it imports only what it needs and decrypts in-process. Its output is
not cached by default: git's textconv cache (`diff.sops.cachetextconv`) would keep decrypted
cases in .git (refs/notes/textconv/sops); a member may turn it on for their own clone
(README: Guards).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from cocflow.errors import CocflowError, IntegrityError, Unreadable


def textconv(path: Path) -> bytes:
    """What `git diff` shows for a case: decrypted for a member, else the file as it is.

    Someone without a key (or a recused member) sees the ciphertext, exactly as without
    the diff driver; a file that fails its MAC is shown encrypted, under a warning line.
    """
    raw = path.read_bytes()
    from cocflow.adapters.keys import local_keyring
    from cocflow.adapters.sops_reader import SopsReader

    try:
        decrypted = SopsReader(local_keyring()).decrypt(raw.decode("utf-8"), "the file")
        return _readable(decrypted).encode("utf-8")
    except IntegrityError:
        return b"# cocflow: this file FAILED its integrity check (MAC); shown encrypted\n" + raw
    except (CocflowError, UnicodeDecodeError):
        return raw


def _readable(decrypted: Any) -> str:
    """A decrypted case as YAML, its sealed body opened (a diff line per field)."""
    from cocflow.adapters import yamlio
    from cocflow.domain import sealed

    document = decrypted
    if isinstance(decrypted, dict) and sealed.format_of(decrypted.get("meta")) == sealed.FORMAT:
        with contextlib.suppress(Unreadable):  # shown as sops gave it
            document = sealed.unseal(decrypted)
    return yamlio.dump(document)
