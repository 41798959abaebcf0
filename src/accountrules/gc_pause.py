"""Pause Python's cyclic garbage collector while a policy is built.

Loading a large policy allocates millions of small, long-lived, acyclic objects (YAML nodes,
expression trees, rows). Each allocation burst makes the cyclic collector traverse them again:
on the 70,000-row table of ``benchmarks/huge_table.py`` that was half of the load time, and it
frees nothing (trees hold no reference cycles; reference counting frees what a failed load
drops). Mercurial's ``util.nogc`` does the same for the same reason.

The collector's switch is process-wide, so this module holds the one piece of process state
that pausing it needs: how many loads are running. The first load to start pauses the collector
if it was running; the last to finish restarts it. A collector that the application switched
off stays off. Thread-safe; loads may nest (an ``extends:`` chain) or run side by side.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


class _Pauses:
    """How many :func:`paused_gc` blocks are open, and whether the first one switched the collector off."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.switched_off = False


_PAUSES = _Pauses()  # process-wide because gc.disable() is: see the module docstring


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic collector paused (reference counting still frees memory)."""
    with _PAUSES.lock:
        if _PAUSES.open == 0:
            _PAUSES.switched_off = gc.isenabled()
            gc.disable()
        _PAUSES.open += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.open -= 1
            if _PAUSES.open == 0 and _PAUSES.switched_off:
                _PAUSES.switched_off = False
                gc.enable()
