"""Ranks of a portfolio's own rows, read off the statistics pass's sort instead of searched for.

When a batch is its own portfolio, every row's ranked value is among the sorted values it is
ranked against, so the statistics pass that sorts them also knows each row's bisect positions.
The decision pass reads those instead of searching. This pays only for large portfolios: a
binary search into sorted values larger than the CPU's cache misses the cache at its lower
levels (per account it cost 2-3x more at 1M accounts than at 100k), while below
:data:`MIN_ROWS` the values fit in cache and a search costs about what reading stored ranks does
(and storing them costs memory: 16-24 bytes per row and key).

A chunk uses the stored ranks only when its values are exactly those the statistics pass saw for
the same rows, compared value by value; otherwise it searches as before, so a stored rank can
make a chunk faster but never changes its result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

BoolArr = NDArray[np.bool_]
FloatArr = NDArray[np.float64]
IntArr = NDArray[np.int64]
RankArr = NDArray[np.signedinteger[Any]]  # int32 below 2**31 values: half the memory

MIN_ROWS = 1 << 17
"""Known values of a key from which its rows' ranks are stored (1 MiB of sorted float64: about an L2 cache)."""

NEEDS_RANKS = frozenset({"percentile", "cumshare", "cumshare_above"})
"""The portfolio functions that search the sorted values (quantile compares with k - 1 marks instead)."""


@dataclass(frozen=True, slots=True)
class RowRanks:
    """For some ranked keys: every valid row's value in row order (NaN = unknown) and, for the known
    ones, bisect_left / bisect_right of the value into the portfolio's sorted values (-1 when unknown)."""

    values: Mapping[str, FloatArr]
    left: Mapping[str, RankArr]
    right: Mapping[str, RankArr]

    def window(self, lo: int, hi: int) -> RowRanks:
        """The ranks of valid rows ``lo:hi`` (views, no copy)."""
        return RowRanks({k: v[lo:hi] for k, v in self.values.items()}, {k: v[lo:hi] for k, v in self.left.items()},
                        {k: v[lo:hi] for k, v in self.right.items()})

    def positions(self, key: str, xv: FloatArr, xk: BoolArr) -> tuple[IntArr, IntArr] | None:
        """bisect_left / bisect_right of the known values ``xv[xk]``, if this window holds ``key`` and its
        values are exactly ``xv`` where ``xk`` (NaN elsewhere); None: search for them."""
        held = self.values.get(key)
        if held is None or held.shape != xv.shape:
            return None
        if not np.array_equal(np.where(xk, xv, np.nan), held, equal_nan=True):
            return None
        left, right = self.left[key][xk], self.right[key][xk]
        return left.astype(np.int64), right.astype(np.int64)


def sorted_with_ranks(xs: FloatArr) -> tuple[FloatArr, RankArr, RankArr]:
    """``xs`` (one key's values of every valid row, NaN = unknown): its known values sorted, and each
    row's bisect_left / bisect_right into them (-1 where unknown), from one argsort."""
    known = ~np.isnan(xs)
    at = np.nonzero(known)[0]
    order = np.argsort(xs[at], kind="stable")
    sorted_vals = xs[at[order]]
    m = sorted_vals.shape[0]
    dtype = np.int32 if m < 2**31 - 1 else np.int64
    left_sorted, right_sorted = run_bounds(sorted_vals)
    left: RankArr = np.full(xs.shape[0], -1, dtype=dtype)
    right: RankArr = np.full(xs.shape[0], -1, dtype=dtype)
    rows = at[order]
    left[rows] = left_sorted
    right[rows] = right_sorted
    return sorted_vals, left, right


def run_bounds(xs: FloatArr) -> tuple[IntArr, IntArr]:
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


__all__ = ["MIN_ROWS", "NEEDS_RANKS", "RowRanks", "run_bounds", "sorted_with_ranks"]
