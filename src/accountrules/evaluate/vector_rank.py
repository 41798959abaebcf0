"""Portfolio ranks over columns: percentile, cumshare and quantile of a whole batch at once.

The definitions are those of :class:`~accountrules.evaluate.portfolio.PortfolioStats`
(bisect_left / bisect_right into the sorted known values, cumshare from the prefix sums of
the positive values). Given statistics are searched where they are held: their
``array('d')`` columns are viewed by numpy without a copy, so ranking a chunk costs a
search per row, not a rebuild of the portfolio. The statistics themselves are built from
numpy columns by :mod:`accountrules.evaluate.stats_build` (re-exported here).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from accountrules.evaluate.own_ranks import ChunkRanks, run_starts
from accountrules.evaluate.portfolio import PortfolioStats, share_prefix
from accountrules.evaluate.stats_build import (
    IdOrder,
    id_order,
    none_mask,
    stats_from_arrays,
    stats_from_held,
    text_of,
)

BoolArr = NDArray[np.bool_]
IntArr = NDArray[np.int64]
FloatArr = NDArray[np.float64]
ObjArr = NDArray[np.object_]

_Site = tuple[str, str, int]  # (function, key, k)


def held_values(stats: PortfolioStats, key: str) -> FloatArr:
    """The sorted known values of ``key`` in ``stats``, as a read-only numpy view (no copy)."""
    return _view(stats.sorted_values(key))


def _view(held: array[float]) -> FloatArr:
    view = np.frombuffer(held, dtype=np.float64)
    view.flags.writeable = False  # the statistics are shared and immutable
    return view


def _rank_positions(xi: FloatArr, vals: FloatArr | None, side: tuple[bool, bool]) -> tuple[
        FloatArr, IntArr | None, IntArr | None]:
    """Sorted portfolio values, and bisect_left / bisect_right of each query ``xi`` into them.

    ``vals`` None: the queries are the portfolio. ``side``: which of left / right are needed."""
    m = xi.shape[0]
    if m and bool(np.all(xi == np.floor(xi))):
        lo, hi = float(xi.min()), float(xi.max())
        # few distinct whole numbers: search each once, then look every value up
        if hi - lo <= max(2 * m, 1 << 16) and max(abs(lo), abs(hi)) < 2.0**52:
            sorted_vals = np.sort(xi) if vals is None else vals
            grid = np.arange(lo, hi + 1, dtype=np.float64)
            off = (xi - lo).astype(np.int64)
            left = _i64(np.searchsorted(sorted_vals, grid, side="left"))[off] if side[0] else None
            right = _i64(np.searchsorted(sorted_vals, grid, side="right"))[off] if side[1] else None
            return sorted_vals, left, right
    order = np.argsort(xi)
    xs = xi[order]
    if vals is None:
        ls, rs = run_starts(xs)
        vals = xs
    else:  # sorted keys: numpy's binary search reuses the previous bound, so this is cache friendly
        ls = _i64(np.searchsorted(vals, xs, side="left"))
        rs = _i64(np.searchsorted(vals, xs, side="right")) if side[1] else ls
    left_out: IntArr | None = None
    right_out: IntArr | None = None
    if side[0]:
        left_out = np.empty(m, dtype=np.int64)
        left_out[order] = ls
    if side[1]:
        right_out = np.empty(m, dtype=np.int64)
        right_out[order] = rs
    return vals, left_out, right_out


def _i64(a: NDArray[Any]) -> IntArr:
    return a.astype(np.int64, copy=False)


def portfolio_results(sites: Sequence[_Site], xv: FloatArr, xk: BoolArr, stats: PortfolioStats | None,
                      key: str, ids: ObjArr | None = None,
                      ranks: ChunkRanks | None = None) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Every call site ranking ``key``, over the whole batch at once (None = unknown for all rows).

    ``stats`` None: the batch's own known values are the portfolio. ``ids``: the rows' account ids (an
    object array of str), needed by a ``quantile_first`` site (ties ranked by id). ``ranks``: the
    rows' positions in ``stats``, found when they were built (read only where they match the values)."""
    n = xv.shape[0]
    xk = xk & ~np.isnan(xv)  # NaN ranks as unknown, as in PortfolioStats
    xi = xv[xk]
    plain = [s for s in sites if s[0] != "quantile_first"]
    if stats is not None and not plain:
        return _first_only(sites, xk, xi, stats, key, ids)
    given = held_values(stats, key) if stats is not None else None  # PortfolioRequiredError if absent
    need_left = any(f in ("percentile", "quantile") for f, _, _ in plain)
    need_right = any(f in ("cumshare", "cumshare_above") for f, _, _ in plain)
    only_quantiles = all(f == "quantile" for f, _, _ in plain)
    left = right = None
    if only_quantiles:
        vals = given if given is not None else np.sort(xi)
    else:
        if ranks is not None and given is not None and (found := ranks.positions(key, xi)) is not None:
            vals, (left, right) = given, found
        else:
            vals, left, right = _rank_positions(xi, given, (need_left, need_right))
    size = vals.shape[0]
    first: IntArr | None = None
    qid: ObjArr | None = None
    if size and len(plain) < len(sites):
        if ids is None:
            raise ValueError(f"quantile({key}, k, 'first') ranks ties by account id: the batch needs an id column")
        qid = ids[xk]
        if stats is None:
            first = _own_positions(xi, qid)
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for site in sites:
        func, _, k = site
        if size == 0:
            out[site] = None
            continue
        if func == "percentile":
            assert left is not None
            r = left / size
        elif func == "quantile_first":
            if first is not None:
                r = (1 + np.minimum(k - 1, (first * k) // size)).astype(np.float64)
            else:
                assert stats is not None and qid is not None
                r = _first_buckets(xi, qid, stats.first_boundaries(key, k)).astype(np.float64)
        elif func == "quantile":
            if left is not None:
                r = (1 + np.minimum(k - 1, (left * k) // size)).astype(np.float64)
            else:
                # bucket q is reached when bisect_left >= ceil((q-1) * size / k), i.e. x > vals[that - 1]
                marks = np.array([vals[-((-(q - 1) * size) // k) - 1] for q in range(2, k + 1)])
                r = (1 + np.searchsorted(marks, xi, side="left")).astype(np.float64)
        else:
            assert right is not None
            if stats is not None:
                held, scale = stats.share_prefix(key)
                prefix = _view(held)
            else:
                prefix, scale = _share_prefix(vals)
            total = float(prefix[-1])
            if total <= 0:
                out[site] = None
                continue
            if func == "cumshare_above":
                y = (total - prefix[right]) / total
                r = np.where(y < 1.0, y, 1.0)
            else:
                y = (total - prefix[right] + xi * scale) / total
                r = np.where(xi <= 0, 1.0, np.where(y < 1.0, y, 1.0))
        full = np.zeros(n, dtype=np.float64)
        full[xk] = r
        out[site] = (full, xk)
    return out


def _share_prefix(vals: FloatArr) -> tuple[FloatArr, float]:
    """The batch is the portfolio: :func:`share_prefix` of its sorted values, as the statistics build it."""
    held, scale = share_prefix(vals)
    return _view(held), scale


def _own_positions(xi: FloatArr, qid: ObjArr) -> IntArr:
    """The batch is the portfolio: the 0-based position of each row's (value, id) among all rows'
    pairs sorted ascending (bisect_left: equal pairs share the first position), as
    ``PortfolioStats.quantile_first``."""
    m = xi.shape[0]
    _, rank = np.unique(text_of(qid), return_inverse=True)  # dense: equal ids, equal rank
    rank = _i64(rank.reshape(-1))
    order = np.lexsort((rank, xi))
    xs, rs = xi[order], rank[order]
    start = np.ones(m, dtype=np.bool_)
    start[1:] = (xs[1:] != xs[:-1]) | (rs[1:] != rs[:-1])
    pos = np.maximum.accumulate(np.where(start, np.arange(m, dtype=np.int64), 0))
    out = np.empty(m, dtype=np.int64)
    out[order] = pos
    return out


def _first_only(sites: Sequence[_Site], xk: BoolArr, xi: FloatArr, stats: PortfolioStats, key: str,
                ids: ObjArr | None) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Sites that are all ``quantile(key, k, 'first')`` against held statistics: they read the k - 1
    boundary pairs of each k and the count, nothing else (statistics may hold no more: see
    ``PortfolioStats.boundaries_only``)."""
    size = stats.count(key)  # PortfolioRequiredError if absent
    if size == 0:
        return dict.fromkeys(sites)
    if ids is None:
        raise ValueError(f"quantile({key}, k, 'first') ranks ties by account id: the batch needs an id column")
    qid = ids[xk]
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for site in sites:
        full = np.zeros(xk.shape[0], dtype=np.float64)
        full[xk] = _first_buckets(xi, qid, stats.first_boundaries(key, site[2]))
        out[site] = (full, xk)
    return out


def _first_buckets(xi: FloatArr, qid: ObjArr, pairs: Sequence[tuple[float, str]]) -> IntArr:
    """``quantile(x, k, 'first')`` of each row against held statistics, from their k - 1 boundary pairs.

    The bucket is ``1 + min(k - 1, p * k // n)``, ``p`` the number of held (value, id) pairs below the
    row's pair; it passes ``q`` exactly when ``p >= ceil(q * n / k)``, i.e. when the held pair at
    index ``ceil(q * n / k) - 1`` is below the row's. So only those k - 1 pairs are compared with each
    row, and ids only where the values are equal: no search of the whole portfolio per batch."""
    out = np.ones(xi.shape[0], dtype=np.int64)
    for v, i in pairs:
        above = xi > v
        tied = np.nonzero(xi == v)[0]
        if tied.shape[0]:
            above[tied] = (qid[tied] > i).astype(np.bool_)
        out += above
    return out


__all__ = ["IdOrder", "held_values", "id_order", "none_mask", "portfolio_results", "stats_from_arrays",
           "stats_from_held"]
