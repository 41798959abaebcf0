"""Where each row of a batch sits among its own portfolio's sorted values, found by the one sort per key.

When a batch is its own portfolio (``decide_many`` without given statistics), the statistics pass
sorts each ranked key's values once. Deciding a chunk then ranked its rows again: a sort of the
chunk and a binary search of each value into the whole portfolio, per chunk and key, a cost that
grew with the portfolio (``n log n`` over the batch, run chunk by chunk). Sorting with ``argsort``
instead gives, at the price of one scatter, every row's ``bisect_left`` and ``bisect_right`` into the
sorted values; a chunk reads its rows' slice. A slice is used only after the chunk's values are
found equal to the values it was computed from, so a chunk decided from other values (or by
another path) is searched as before: the answer never depends on the two passes staying in step.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArr = NDArray[np.int64]
HeldArr = NDArray[np.signedinteger[Any]]
FloatArr = NDArray[np.float64]
# a key's values in row order, their bisect_left and bisect_right into the sorted values
Positions = tuple[FloatArr, HeldArr, HeldArr]


def run_starts(xs: FloatArr) -> tuple[IntArr, IntArr]:
    """For sorted ``xs``: bisect_left and bisect_right of every element into ``xs`` itself."""
    m = xs.shape[0]
    pos = np.arange(m, dtype=np.int64)
    start = np.ones(m, dtype=np.bool_)
    start[1:] = xs[1:] != xs[:-1]
    left = np.maximum.accumulate(np.where(start, pos, 0))
    end = np.ones(m, dtype=np.bool_)
    end[:-1] = start[1:]
    right = np.minimum.accumulate(np.where(end, pos + 1, m)[::-1])[::-1]
    return left, right


def sort_with_positions(values: array[float]) -> Positions | None:
    """Sort ``values`` (known values in row order) in place, as the statistics keep them, and give
    each value's positions in row order; None, the values sorted all the same, when one is NaN (the
    statistics leave it out, so a row's place would no longer be its index)."""
    view = np.frombuffer(values, dtype=np.float64)
    row = view.copy()
    order = np.argsort(row)
    np.take(row, order, out=view)
    if view.shape[0] and view[-1] != view[-1]:  # NaN sorts last
        known = int(np.searchsorted(view, np.nan, side="left"))
        del view  # an exported buffer would pin the array's size
        del values[known:]
        return None
    left, right = run_starts(view)
    del view
    # positions below 2**31 are kept in 4 bytes: they are held for the whole batch
    kind = np.int32 if row.shape[0] < 2**31 else np.int64
    at_left: HeldArr = np.empty(row.shape[0], dtype=kind)
    at_left[order] = left
    at_right: HeldArr = np.empty(row.shape[0], dtype=kind)
    at_right[order] = right
    return row, at_left, at_right


class OwnRanks:
    """Each ranked key's positions for the rows of a batch, and where each chunk's rows begin.

    Built once per batch and only read after: one serves the chunks of its batch in any order."""

    __slots__ = ("_keys", "_starts")

    def __init__(self, keys: Mapping[str, Positions], starts: Mapping[int, Mapping[str, int]]) -> None:
        """``starts[chunk start]``: per key, the index of that chunk's first value in ``keys[key][0]``."""
        self._keys = dict(keys)
        self._starts = {s: dict(at) for s, at in starts.items()}

    def chunk(self, start: int) -> ChunkRanks | None:
        """The positions of the chunk whose first row is row ``start`` of the batch (0-based)."""
        at = self._starts.get(start)
        if at is None or not self._keys:
            return None
        return ChunkRanks({k: (*self._keys[k], i) for k, i in at.items() if k in self._keys})


class ChunkRanks:
    """The positions of one chunk's rows, given out only for the values they were computed from."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Mapping[str, tuple[FloatArr, HeldArr, HeldArr, int]]) -> None:
        self._keys = dict(keys)

    def positions(self, key: str, xi: FloatArr) -> tuple[IntArr, IntArr] | None:
        """bisect_left and bisect_right of each of ``xi`` (the chunk's known values of ``key``, in row
        order) into the portfolio's sorted values; None when ``xi`` is not what they were computed for."""
        got = self._keys.get(key)
        if got is None:
            return None
        values, left, right, i = got
        end = i + xi.shape[0]
        if end > values.shape[0] or not np.array_equal(values[i:end], xi):
            return None
        # as int64: a caller multiplies them (quantile's position * k)
        return left[i:end].astype(np.int64), right[i:end].astype(np.int64)


__all__ = ["ChunkRanks", "OwnRanks", "Positions", "run_starts", "sort_with_positions"]
