"""Portfolio functions (``percentile``, ``cumshare``, ``quantile``) over a whole batch at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from accountrules.compile.plan import Plan
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector.columns import ColumnBatch, _column_value
from accountrules.evaluate.vector.program import VectorProgram, _held
from accountrules.evaluate.vector.values import BoolArr, FloatArr, IntArr, V, _Ctx, _Site, _slice, _store

if TYPE_CHECKING:
    from accountrules.policy import Policy


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


def _portfolio_results(sites: Sequence[_Site], xv: FloatArr, xk: BoolArr, stats: PortfolioStats | None,
                       key: str) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Every call site ranking ``key``, over the whole batch at once (None = unknown for all rows)."""
    n = xv.shape[0]
    xi = xv[xk]
    given = None
    if stats is not None:
        col = stats._col(key)  # raises PortfolioRequiredError for a column these stats lack
        given = np.array(col.values, dtype=np.float64)
    if np.isnan(xi).any() or (given is not None and np.isnan(given).any()):
        return {s: _portfolio_py(s, xv, xk, stats, key) for s in sites}
    need_left = any(f in ("percentile", "quantile") for f, _, _ in sites)
    need_right = any(f == "cumshare" for f, _, _ in sites)
    only_quantiles = all(f == "quantile" for f, _, _ in sites)
    left = right = None
    if only_quantiles:
        vals = given if given is not None else np.sort(xi)
    else:
        vals, left, right = _rank_positions(xi, given, (need_left, need_right))
    size = vals.shape[0]
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for site in sites:
        func, _, k = site
        if size == 0:
            out[site] = None
            continue
        if func == "percentile":
            assert left is not None
            r = left / size
        elif func == "quantile":
            if left is not None:
                r = (1 + np.minimum(k - 1, (left * k) // size)).astype(np.float64)
            else:
                # bucket q is reached when bisect_left >= ceil((q-1) * size / k), i.e. x > vals[that - 1]
                marks = np.array([vals[-((-(q - 1) * size) // k) - 1] for q in range(2, k + 1)])
                r = (1 + np.searchsorted(marks, xi, side="left")).astype(np.float64)
        else:
            assert right is not None
            if given is not None:
                prefix = np.array(stats._col(key).positive_prefix, dtype=np.float64)  # type: ignore[union-attr]
            else:
                prefix = np.empty(size + 1, dtype=np.float64)
                prefix[0] = 0.0
                np.cumsum(np.maximum(vals, 0.0), out=prefix[1:])  # sequential, as itertools.accumulate
            total = float(prefix[-1])
            if total <= 0:
                out[site] = None
                continue
            y = (total - prefix[right] + xi) / total
            r = np.where(xi <= 0, 1.0, np.where(y < 1.0, y, 1.0))
        full = np.zeros(n, dtype=np.float64)
        full[xk] = r
        out[site] = (full, xk)
    return out


def _portfolio_py(site: _Site, xv: FloatArr, xk: BoolArr, stats: PortfolioStats | None,
                  key: str) -> tuple[FloatArr, BoolArr] | None:
    """The scalar definition row by row, for values (NaN) that numpy orders differently from bisect."""
    if stats is None:
        listed = [float(v) if k else None for v, k in zip(xv.tolist(), xk.tolist(), strict=True)]
        stats = PortfolioStats({key: listed}, len(listed))
    func, _, k = site
    res = np.zeros(xv.shape[0], dtype=np.float64)
    known = xk.copy()
    for i in np.nonzero(xk)[0].tolist():
        xi = float(xv[i])
        r: float | int | None
        if func == "percentile":
            r = stats.percentile(key, xi)
        elif func == "cumshare":
            r = stats.cumshare(key, xi)
        else:
            r = stats.quantile(key, xi, k)
        if r is None:
            known[i] = False
        else:
            res[i] = r
    return res, known


# ================================================================================================
# Expression compiler
# ================================================================================================


def portfolio_stats(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], *,
                    as_of: dt.date, program: VectorProgram | None = None) -> PortfolioStats:
    """The :class:`PortfolioStats` of a batch (what ``Policy.portfolio_stats`` gives for the same accounts),
    e.g. to store with a CRM and rank later single decisions against."""
    prog = _held(policy, program)
    batch = columns if isinstance(columns, ColumnBatch) else ColumnBatch.from_mapping(columns)
    vocab = dict(prog.vocab)
    ctx = _Ctx(float(as_of.toordinal()), vocab)
    cols = {key: _column_value(batch.columns.get(key), kind, key, batch.size, vocab)
            for key, kind in prog.field_refs.items()}
    with np.errstate(all="ignore"):
        values, known = _ranked_values(prog, ctx, cols, batch.size, 1 << 15)
    # sorted first: PortfolioStats sorts again, and sorting a sorted list is linear
    return PortfolioStats({k: np.sort(values[k][known[k]]).tolist() for k in values}, batch.size)


def _ranked_values(prog: VectorProgram, ctx: _Ctx, cols: Mapping[str, V], n: int, step: int) -> tuple[
        dict[str, FloatArr], dict[str, BoolArr]]:
    """Every ranked expression (and the local metrics it reads) over the whole batch."""
    values = {key: np.zeros(n, dtype=np.float64) for key, _ in prog.portfolio_args}
    known = {key: np.zeros(n, dtype=np.bool_) for key, _ in prog.portfolio_args}
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        ctx.n, ctx.lo, ctx.hi = hi - lo, lo, hi
        ctx.refs = {k: _slice(v, lo, hi) for k, v in cols.items()}
        for name, op in prog.local_metrics:
            ctx.refs[name] = op(ctx)
        for key, op in prog.portfolio_args:
            _store((values[key], known[key]), op(ctx), slice(lo, hi), hi - lo)
    return values, known


def _portfolio_columns(prog: VectorProgram, ctx: _Ctx, cols: Mapping[str, V], n: int, stats: PortfolioStats | None,
                       step: int) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Evaluate every ranked expression over the batch, then rank it."""
    values, known = _ranked_values(prog, ctx, cols, n, step)
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for key, _ in prog.portfolio_args:
        sites = [s for s in prog.sites if s[1] == key]
        out.update(_portfolio_results(sites, values[key], known[key], stats, key))
    return out
