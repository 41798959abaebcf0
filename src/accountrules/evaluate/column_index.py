"""First-hit tables looked up over columns: :class:`~accountrules.compile.index.RowIndex` for a batch.

Each batch row falls in one *slot* of the index (``numpy.searchsorted`` over the bounds for
numbers and dates, a code table for strings; unknown and NaN values fall in a last slot
whose only candidates are the rows that do not test the value, since an unknown or NaN
value makes every indexed test false or unknown). Per slot the first *exact* candidate is
known in advance; only the candidates before it that are not exact (rows with other
conditions, rows that do not test the value) are evaluated as masks, and the first of
those that fires wins if it comes earlier. The result is the first-hit row of a scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from accountrules.compile.index import RowIndex

__all__ = ["ColumnIndex"]

_NONE = np.iinfo(np.int64).max


def _number(v: Any) -> float:
    return float(v.toordinal()) if isinstance(v, dt.date) else float(v)


class ColumnIndex:
    """Candidate lookup for one first-hit table over a batch."""

    __slots__ = ("codes", "first_exact", "key", "kind", "member", "points", "scan_rows")

    def __init__(self, lookup: RowIndex):
        self.key = lookup.key
        self.kind = lookup.kind
        self.codes: tuple[str, ...] = tuple(lookup.codes)
        slots = [*lookup.slots] if lookup.kind != "string" else [*lookup.codes.values()]
        slots.append(lookup.unindexed)  # unknown values, and strings no row names
        self.points = np.array([_number(p) for p in lookup.points], dtype=np.float64)
        first_exact = np.full(len(slots), _NONE, dtype=np.int64)
        before: dict[int, list[int]] = {}  # a row to evaluate -> slots where it precedes the first exact row
        for s, cands in enumerate(slots):
            for r in cands:
                if r in lookup.exact:
                    first_exact[s] = r
                    break
                before.setdefault(r, []).append(s)
        self.first_exact = first_exact
        self.scan_rows: tuple[int, ...] = tuple(sorted(before))
        self.member: dict[int, NDArray[np.bool_]] = {}
        for r, where in before.items():
            m = np.zeros(len(slots), dtype=np.bool_)
            m[where] = True
            self.member[r] = m

    def number_slots(self, values: NDArray[np.float64], known: NDArray[np.bool_] | None) -> NDArray[np.int64]:
        """The slot of each value (dates as day ordinals); ``known`` False (or NaN) -> the unknown slot."""
        points = self.points
        m = points.shape[0]
        i = np.searchsorted(points, values, side="left").astype(np.int64)
        on_point = (i < m) & (points[np.minimum(i, max(m - 1, 0))] == values) if m else np.zeros(len(i), np.bool_)
        slot = 2 * i + on_point
        unknown = np.isnan(values) if known is None else (~known | np.isnan(values))
        return np.where(unknown, len(self.first_exact) - 1, slot)

    def code_slots(self, codes: NDArray[np.int64], vocab: Mapping[str, int]) -> NDArray[np.int64]:
        """The slot of each string code (``-1`` unknown) of a batch whose strings are coded by ``vocab``."""
        other = len(self.first_exact) - 1
        lut = np.full(len(vocab) + 1, other, dtype=np.int64)  # code -1 reads the last entry
        for s, text in enumerate(self.codes):
            code = vocab.get(text)
            if code is not None:
                lut[code] = s
        return lut[codes]

    def first(self, slot: NDArray[np.int64], fires: Mapping[int, NDArray[np.bool_]]) -> NDArray[np.int64]:
        """First-hit row per batch row (-1: none), given the masks of :attr:`scan_rows`."""
        idx = self.first_exact[slot]
        for r in self.scan_rows:
            hit = fires[r] & self.member[r][slot] & (r < idx)
            idx = np.where(hit, r, idx)
        return np.where(idx == _NONE, -1, idx)
