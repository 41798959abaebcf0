"""Portfolio ranks over columns: percentile, cumshare and quantile of a whole batch at once.

The definitions are those of :class:`~accountrules.evaluate.portfolio.PortfolioStats`
(bisect_left / bisect_right into the sorted known values, cumshare from the prefix sums of
the positive values). Given statistics are searched where they are held: their
``array('d')`` columns are viewed by numpy without a copy, so ranking a chunk costs a
search per row, not a rebuild of the portfolio. :func:`stats_from_arrays` builds the
statistics themselves from numpy columns (one sort per column).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from accountrules.errors import PortfolioRequiredError
from accountrules.evaluate.portfolio import PortfolioStats

BoolArr = NDArray[np.bool_]
IntArr = NDArray[np.int64]
FloatArr = NDArray[np.float64]
StrArr = NDArray[np.str_]

_Site = tuple[str, str, int]  # (function, key, k)


def stats_from_arrays(columns: Mapping[str, Any], size: int, ids: Mapping[str, Any] | None = None) -> PortfolioStats:
    """:class:`PortfolioStats` from unsorted numeric columns (NaN = unknown, left out), equal to
    ``PortfolioStats({key: values}, size, ids)`` with None for NaN: one numpy sort per column.

    ``ids``: for the keys ranked with ties broken by account id, the id of each value of
    ``columns[key]`` (text, same order); keys given the same ids object share one sort of them."""
    held: dict[str, tuple[array[float], array[float] | None]] = {}
    held_ids: dict[str, Sequence[str]] = {}
    ranked: dict[int, tuple[StrArr, IntArr]] = {}  # id(ids object) -> (ids as str array, dense rank)
    for key, col in columns.items():
        xs = np.asarray(col, dtype=np.float64)
        known = ~np.isnan(xs)
        if ids is not None and key in ids:
            got = ranked.get(id(ids[key]))
            if got is None:
                got = ranked[id(ids[key])] = _dense_ids(ids[key], xs.shape[0])
            text, rank = got
            xs = xs[known]
            order = np.lexsort((rank[known], xs))  # by value, then by id
            xs = xs[order]
            sorted_ids = text[known][order]
            sorted_ids.flags.writeable = False  # shared by the statistics
            held_ids[key] = cast("Sequence[str]", sorted_ids)
        else:
            xs = np.sort(xs[known])
        prefix = np.empty(xs.shape[0] + 1, dtype=np.float64)
        prefix[0] = 0.0
        # add.accumulate adds in order (no pairwise summation): the floats of itertools.accumulate
        np.cumsum(np.maximum(xs, 0.0), out=prefix[1:])
        held[key] = (_to_array(xs), _to_array(prefix))
    return PortfolioStats.from_sorted(held, size, held_ids)


def _dense_ids(ids: Any, n: int) -> tuple[StrArr, IntArr]:
    """Account ids as a numpy str array and their dense rank in code-point order (equal ids, equal rank)."""
    text = id_array(ids)
    if text.shape[0] != n:
        raise ValueError(f"{text.shape[0]} account ids for {n} values")
    _, rank = np.unique(text, return_inverse=True)
    return text, _i64(rank.reshape(-1))


def id_array(ids: Any) -> StrArr:
    """Account ids as a numpy str array (code-point order, as Python compares str)."""
    if isinstance(ids, np.ndarray) and ids.dtype.kind == "U":
        return ids
    lst = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    if not all(isinstance(i, str) for i in lst):
        raise TypeError("ranking ties by account id needs every account's id as text")
    return np.array(lst, dtype=str) if lst else np.empty(0, dtype="U1")


def _to_array(xs: FloatArr) -> array[float]:
    out = array("d")
    out.frombytes(np.ascontiguousarray(xs, dtype=np.float64).tobytes())
    return out


def held_values(stats: PortfolioStats, key: str) -> FloatArr:
    """The sorted known values of ``key`` in ``stats``, as a read-only numpy view (no copy)."""
    return _view(stats.sorted_values(key))


def _view(held: array[float]) -> FloatArr:
    view = np.frombuffer(held, dtype=np.float64)
    view.flags.writeable = False  # the statistics are shared and immutable
    return view


def _run_starts(xs: FloatArr) -> tuple[IntArr, IntArr]:
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
        ls, rs = _run_starts(xs)
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
                      key: str, ids: StrArr | None = None) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Every call site ranking ``key``, over the whole batch at once (None = unknown for all rows).

    ``stats`` None: the batch's own known values are the portfolio. ``ids``: the rows' account ids,
    needed by a ``quantile_first`` site (ties ranked by id)."""
    n = xv.shape[0]
    xk = xk & ~np.isnan(xv)  # NaN ranks as unknown, as in PortfolioStats
    xi = xv[xk]
    given = held_values(stats, key) if stats is not None else None  # PortfolioRequiredError if absent
    plain = [s for s in sites if s[0] != "quantile_first"]
    need_left = any(f in ("percentile", "quantile") for f, _, _ in plain)
    need_right = any(f in ("cumshare", "cumshare_above") for f, _, _ in plain)
    only_quantiles = all(f == "quantile" for f, _, _ in plain)
    left = right = None
    if only_quantiles:
        vals = given if given is not None else np.sort(xi)
    else:
        vals, left, right = _rank_positions(xi, given, (need_left, need_right))
    size = vals.shape[0]
    first: IntArr | None = None
    if size and len(plain) < len(sites):
        if ids is None:
            raise ValueError(f"quantile({key}, k, 'first') ranks ties by account id: the batch needs an id column")
        first = _first_positions(xi, id_array(ids)[xk], stats, key, given)
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
            assert first is not None
            r = (1 + np.minimum(k - 1, (first * k) // size)).astype(np.float64)
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
                prefix = _view(stats.positive_prefix(key))
            else:
                prefix = np.empty(size + 1, dtype=np.float64)
                prefix[0] = 0.0
                np.cumsum(np.maximum(vals, 0.0), out=prefix[1:])  # sequential, as itertools.accumulate
            total = float(prefix[-1])
            if total <= 0:
                out[site] = None
                continue
            if func == "cumshare_above":
                y = (total - prefix[right]) / total
                r = np.where(y < 1.0, y, 1.0)
            else:
                y = (total - prefix[right] + xi) / total
                r = np.where(xi <= 0, 1.0, np.where(y < 1.0, y, 1.0))
        full = np.zeros(n, dtype=np.float64)
        full[xk] = r
        out[site] = (full, xk)
    return out


def _first_positions(xi: FloatArr, qi: StrArr, stats: PortfolioStats | None, key: str,
                     given: FloatArr | None) -> IntArr:
    """The 0-based position of each (value, id) among the portfolio's (value, id) pairs sorted
    ascending (bisect_left: equal pairs share the first position), as ``PortfolioStats.quantile_first``."""
    m = xi.shape[0]
    if stats is None:  # the batch is the portfolio
        _, rank = np.unique(qi, return_inverse=True)
        rank = _i64(rank.reshape(-1))
        order = np.lexsort((rank, xi))
        xs, rs = xi[order], rank[order]
        start = np.ones(m, dtype=np.bool_)
        start[1:] = (xs[1:] != xs[:-1]) | (rs[1:] != rs[:-1])
        pos = np.maximum.accumulate(np.where(start, np.arange(m, dtype=np.int64), 0))
        out = np.empty(m, dtype=np.int64)
        out[order] = pos
        return out
    held = stats.sorted_ids(key)
    if held is None:
        raise PortfolioRequiredError(
            f"the portfolio statistics of {key!r} hold no account ids, which quantile(..., 'first') ranks "
            "ties by; compute them with this policy's portfolio_stats()")
    assert given is not None
    lo = _i64(np.searchsorted(given, xi, side="left"))
    hi = _i64(np.searchsorted(given, xi, side="right"))
    if not isinstance(held, np.ndarray):
        # ids held as Python text (statistics built without numpy, or unpickled): bisect each row rather
        # than convert the whole portfolio's ids for one batch
        got = [bisect_left(held, q, a, b) for q, a, b in zip(qi.tolist(), lo.tolist(), hi.tolist(), strict=True)]
        return np.array(got, dtype=np.int64) if got else np.empty(0, dtype=np.int64)
    # one binary search per row within its run of equal values, all rows a step at a time
    active = np.nonzero(lo < hi)[0]
    while active.shape[0]:
        a, b = lo[active], hi[active]
        mid = (a + b) // 2
        less = held[mid] < qi[active]
        lo[active] = np.where(less, mid + 1, a)
        hi[active] = np.where(less, b, mid)
        active = active[lo[active] < hi[active]]
    return lo


__all__ = ["held_values", "id_array", "stats_from_arrays"]
