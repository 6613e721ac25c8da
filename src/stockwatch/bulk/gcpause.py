"""A pause of the cyclic garbage collector for bulk object building."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The collector is one per process: pauses taken by several threads at once (a recompute's
# reader thread beside its compute) end when the last of them ends, not when the first does.
_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects that form no cycles.

    With a million live TierLevels the collections their allocations trigger walk them all; the
    objects built here are acyclic, so reference counting frees them and the pause loses nothing.
    """
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
