"""Portfolio functions (``percentile``, ``cumshare``, ``quantile``) over a whole batch at once.

The ranked expressions are evaluated here; ranking them against the held statistics is
:mod:`accountrules.evaluate.vector_rank` (numpy over the statistics' own arrays)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from accountrules.compile.plan import Plan
from accountrules.evaluate.own_ranks import ChunkRanks
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector.columns import ColumnBatch, _column_value
from accountrules.evaluate.vector.program import VectorProgram, _held
from accountrules.evaluate.vector.values import BoolArr, FloatArr, V, _Ctx, _Site, _slice, _store
from accountrules.evaluate.vector_rank import ObjArr, none_mask, portfolio_results, stats_from_arrays

if TYPE_CHECKING:
    from accountrules.policy import Policy


def prepared(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], as_of: dt.date,
             program: VectorProgram | None) -> tuple[VectorProgram, ColumnBatch, dict[Any, Any], _Ctx, dict[str, V]]:
    """What every run over a batch starts from: the program, the batch, its vocabulary (codes of the
    program's texts, grown by the batch), the evaluation context and the columns the program reads."""
    prog = _held(policy, program)
    batch = columns if isinstance(columns, ColumnBatch) else ColumnBatch.from_mapping(columns)
    vocab = dict(prog.vocab)
    ctx = _Ctx(float(as_of.toordinal()), vocab)
    cols: dict[str, V] = {key: _column_value(batch.columns.get(key), kind, key, batch.size, vocab)
                          for key, kind in prog.field_refs.items()}
    return prog, batch, vocab, ctx, cols


def portfolio_stats(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], *,
                    as_of: dt.date, program: VectorProgram | None = None) -> PortfolioStats:
    """The :class:`PortfolioStats` of a batch (what ``Policy.portfolio_stats`` gives for the same accounts),
    e.g. to store with a CRM and rank later single decisions against."""
    prog, batch, _, ctx, cols = prepared(policy, columns, as_of, program)
    with np.errstate(all="ignore"):
        values, known = _ranked_values(prog, ctx, cols, batch.size, 1 << 15)
    by_id = id_ranked(prog)
    if not by_id:
        return stats_from_arrays({k: values[k][known[k]] for k in values}, batch.size)
    ranked = {k: np.where(known[k], values[k], np.nan) for k in values}
    ids = needed_ids(batch_ids(batch), [known[k] & ~np.isnan(values[k]) for k in by_id], by_id)
    return stats_from_arrays(ranked, batch.size, dict.fromkeys(by_id, ids))


def ranked_columns(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], *, as_of: dt.date,
                   keys: Collection[str], program: VectorProgram | None = None) -> dict[str, FloatArr]:
    """The value of each ranked expression in ``keys`` for every row of the batch, in row order (NaN = unknown)."""
    prog, batch, _, ctx, cols = prepared(policy, columns, as_of, program)
    with np.errstate(all="ignore"):
        values, known = _ranked_values(prog, ctx, cols, batch.size, 1 << 15)
    return {k: np.where(known[k], values[k], np.nan) for k in keys}


def id_ranked(prog: VectorProgram) -> frozenset[str]:
    """The ranked keys whose ties are broken by account id (``quantile(x, k, 'first')``)."""
    return frozenset(key for func, key, _ in prog.sites if func == "quantile_first")


def batch_ids(batch: ColumnBatch) -> ObjArr | None:
    """The batch's account ids as an object array (None where a row has none), or None without an id column."""
    if batch.tie_ids is not None:
        return batch.tie_ids
    col = batch.columns.get("id")
    if col is None or col.kind != "string":
        return None
    cats = np.empty(len(col.categories) + 1, dtype=object)  # code -1 (unknown) -> the last, None
    cats[:-1] = col.categories
    out: ObjArr = cats[col.values]
    return out


def needed_ids(ids: ObjArr | None, ranked: list[BoolArr], keys: Collection[str]) -> ObjArr:
    """``ids``, checked: ties are ranked by account id, so every row with a value to rank needs an id
    (a row whose ranked values are all unknown ranks nothing)."""
    n = ranked[0].shape[0] if ranked else 0
    if ids is None:
        ids = np.full(n, None, dtype=object)
    missing = none_mask(ids)
    if any(bool((missing & r).any()) for r in ranked):
        raise ValueError(f"{', '.join(sorted(keys))}: quantile(..., 'first') ranks ties by account id, "
                         "so every row with a value to rank needs an id")
    return ids


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
                       step: int, batch: ColumnBatch,
                       ranks: ChunkRanks | None = None) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Evaluate every ranked expression over the batch, then rank it (``ranks``: its rows' positions in
    ``stats``, where they are known)."""
    values, known = _ranked_values(prog, ctx, cols, n, step)
    by_id = id_ranked(prog)
    ids = needed_ids(batch_ids(batch), [known[k] & ~np.isnan(values[k]) for k in by_id], by_id) if by_id else None
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for key, _ in prog.portfolio_args:
        sites = [s for s in prog.sites if s[1] == key]
        out.update(portfolio_results(sites, values[key], known[key], stats, key, ids if key in by_id else None, ranks))
    return out
