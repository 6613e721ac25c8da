"""A pause of the cyclic garbage collector for bulk object building."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects that form no cycles.

    With a million live TierLevels the collections their allocations trigger walk them all; the
    objects built here are acyclic, so reference counting frees them and the pause loses nothing.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
