"""What the statistics pass settled about each row, so the decision pass validates only what it reads.

A batch whose policy ranks accounts reads a re-readable source twice. The first pass validates
every column of every row: that decides which rows are refused and why, and counts the blank
cells. The second pass needs only the columns the evaluator reads; validating the others again
would find what the first pass found. So the second pass validates those columns alone and takes
the refusals (duplicate ids included) and the blank counts from the first.

The refusals are held as :class:`RowError`\\ s. Past :data:`MAX_HELD` of them the first pass stops
holding them and the second validates every column again, as before: memory stays bounded by a
chunk, not by how many rows a file gets wrong.
"""

from __future__ import annotations

from collections.abc import Collection

from accountrules.batch.errors import RowError
from accountrules.batch.validate import Chunk

MAX_HELD = 10_000
"""Refused rows held from the first pass (about 5 MB of errors at most)."""


class Settled:
    """Fed every chunk of the first pass (:meth:`record`); then settles the chunks of the second (:meth:`apply`)."""

    def __init__(self, only: Collection[str]):
        self.only = frozenset(only)
        self._errors: dict[int, RowError] | None = {}  # by 0-based row of the whole input
        self._blanks: dict[int, dict[str, int]] = {}  # by the first row of a chunk

    @property
    def usable(self) -> bool:
        """Whether every refusal of the first pass is held (else the second pass validates everything)."""
        return self._errors is not None

    def record(self, chunk: Chunk) -> None:
        """Keep what validating every column decided about ``chunk``'s rows."""
        if self._errors is None:
            return
        if len(self._errors) + len(chunk.errors) > MAX_HELD:
            self._errors = None
            self._blanks = {}
            return
        self._errors.update((chunk.start + j, e) for j, e in chunk.errors.items())
        self._blanks[chunk.start] = dict(chunk.blanks)

    def apply(self, chunk: Chunk) -> None:
        """``chunk``, validated on :attr:`only`, gets the first pass's refusals and blank counts (a refusal
        the second pass finds on its own is kept too, though validating fewer columns finds none more)."""
        errors = self._errors
        if errors is None:
            raise RuntimeError("the first pass's refusals were not held: validate every column")
        own = dict(chunk.errors)
        chunk.errors.clear()
        start = chunk.start
        for j in range(chunk.n):
            e = errors.get(start + j)
            if e is not None:
                chunk.errors[j] = e
        for j, e in own.items():
            chunk.errors.setdefault(j, e)
        blanks = self._blanks.get(start)
        if blanks is not None:
            chunk.blanks = blanks


__all__ = ["MAX_HELD", "Settled"]
