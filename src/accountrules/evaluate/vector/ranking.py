"""Portfolio functions (``percentile``, ``cumshare``, ``quantile``) over a whole batch at once.

The ranked expressions are evaluated here; ranking them against the held statistics is
:mod:`accountrules.evaluate.vector_rank` (numpy over the statistics' own arrays)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from accountrules.compile.plan import Plan
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector.columns import ColumnBatch, _column_value
from accountrules.evaluate.vector.program import VectorProgram, _held
from accountrules.evaluate.vector.values import BoolArr, FloatArr, V, _Ctx, _Site, _slice, _store
from accountrules.evaluate.vector_rank import portfolio_results, stats_from_arrays

if TYPE_CHECKING:
    from accountrules.policy import Policy


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
    return stats_from_arrays({k: values[k][known[k]] for k in values}, batch.size)


def ranked_values(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], *, as_of: dt.date,
                  program: VectorProgram | None = None) -> dict[str, FloatArr]:
    """Each ranked expression's value on every row of a batch, aligned with the rows (NaN = unknown):
    what :func:`portfolio_stats` sorts, for a caller that must drop rows (duplicates) before sorting."""
    prog = _held(policy, program)
    batch = columns if isinstance(columns, ColumnBatch) else ColumnBatch.from_mapping(columns)
    vocab = dict(prog.vocab)
    ctx = _Ctx(float(as_of.toordinal()), vocab)
    cols = {key: _column_value(batch.columns.get(key), kind, key, batch.size, vocab)
            for key, kind in prog.field_refs.items()}
    with np.errstate(all="ignore"):
        values, known = _ranked_values(prog, ctx, cols, batch.size, 1 << 15)
    return {k: np.where(known[k], values[k], np.nan) for k in values}


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
        out.update(portfolio_results(sites, values[key], known[key], stats, key))
    return out
