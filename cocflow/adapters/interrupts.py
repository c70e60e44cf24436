"""Holding SIGINT/SIGTERM/SIGHUP/SIGQUIT back while git changes the repository.

main() turns SIGTERM, SIGHUP and SIGQUIT into KeyboardInterrupt so that rollbacks run. But
an interrupt that lands while a `git commit` child is still running would start the rollback
next to a commit that may yet finish; one that lands in the middle of the rollback would stop
it half way. Inside `deferred_interrupts()` a signal is only noted; it is raised as
KeyboardInterrupt when the block ends, once git is done, so the caller's rollback sees a
repository at rest.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Ctrl-C, kill, a closed terminal (SIGHUP) and Ctrl-\\ (SIGQUIT) all clean up the same way.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Note each of SIGNALS during the block; raise KeyboardInterrupt at its end if one came."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    caught: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None means a handler set outside Python; the default is the closest we can do.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            raise KeyboardInterrupt
