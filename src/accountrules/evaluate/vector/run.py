"""Run a compiled program over a batch, chunk by chunk, into flat output columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from accountrules.compile.plan import Plan
from accountrules.evaluate.column_index import ColumnIndex
from accountrules.evaluate.own_ranks import ChunkRanks
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.semantics import MergedActions, merge_action_masks, resolve_masks, stage_masks
from accountrules.evaluate.vector.columns import ColumnBatch
from accountrules.evaluate.vector.program import VectorProgram, _VTable
from accountrules.evaluate.vector.ranking import _portfolio_columns, prepared
from accountrules.evaluate.vector.values import (
    _NULL,
    BoolArr,
    IntArr,
    Op,
    V,
    _Bool,
    _Ctx,
    _full,
    _Null,
    _Num,
    _slice,
    _store,
    _Str,
)
from accountrules.io.schema import SCORE_METRICS

if TYPE_CHECKING:
    from accountrules.policy import Policy


def _fires(conds: Sequence[Op | None], ctx: _Ctx) -> list[BoolArr]:
    n = ctx.n
    out: list[BoolArr] = []
    for c in conds:
        if c is None:
            out.append(np.ones(n, dtype=np.bool_))
            continue
        v = c(ctx)
        out.append(_full(v.t, n) if isinstance(v, _Bool) else np.zeros(n, dtype=np.bool_))
    return out


class _Out:
    """Full-length output arrays, filled chunk by chunk."""

    def __init__(self, prog: VectorProgram, n: int, with_metrics: bool):
        def ints() -> IntArr:
            return np.full(n, -1, dtype=np.int64)

        self.seg = {name: (ints(), ints()) for name, _ in prog.segments}
        self.tier, self.tier_rule = ints(), ints()
        self.stage_from, self.stage, self.transition = ints(), ints(), ints()
        self.kind, self.risk, self.churn_rule = ints(), ints(), ints()
        self.score = np.zeros(n, dtype=np.float64)
        self.score_known = np.zeros(n, dtype=np.bool_)
        # per row, the set of action rules that fired as a bit set (see _pattern_keys)
        width = (len(prog.action_conds) + 7) // 8
        self.pattern_key = np.zeros(n, dtype=np.uint64 if width <= 8 else np.dtype((np.void, width)))
        self.errors: dict[int, tuple[str, tuple[str, ...]]] = {}
        self.metrics: dict[str, tuple[NDArray[Any], BoolArr]] = {}
        for name, _, kind in prog.metrics:
            if with_metrics or name in SCORE_METRICS:  # the score metrics are flat output columns
                dtype = np.bool_ if kind == "bool" else np.int64 if kind == "string" else np.float64
                self.metrics[name] = (np.zeros(n, dtype=dtype), np.zeros(n, dtype=np.bool_))


def _run_table(t: _VTable, ctx: _Ctx, base: int, out: _Out, dead: BoolArr) -> tuple[IntArr, IntArr]:
    """Output codes and matched row (-1 = default) of one table; conflicts are recorded as errors."""
    n = ctx.n
    idx = _indexed_first(t.index, t.conds, ctx) if t.index is not None else None
    if idx is None:
        res = resolve_masks(t.table, _fires(t.conds, ctx), n, t.order, dead)
        for r, err in res.conflicts.items():
            out.errors[base + r] = err
            dead[r] = True
        idx = res.idx
    codes = np.where(idx >= 0, t.then[np.maximum(idx, 0)] if len(t.then) else -1, t.default)
    return codes, idx


def _indexed_first(ix: ColumnIndex, conds: Sequence[Op | None], ctx: _Ctx) -> IntArr | None:
    """The first-hit row per batch row through the table's index; None when the value's column
    is not of the kind the index expects (then the table is scanned)."""
    n = ctx.n
    v = ctx.refs.get(ix.key, _NULL)
    if isinstance(v, _Null):
        slot: IntArr = np.full(n, len(ix.first_exact) - 1, dtype=np.int64)
    elif ix.kind == "string" and isinstance(v, _Str):
        slot = ix.code_slots(_full(v.c, n).astype(np.int64, copy=False), ctx.vocab)
    elif ix.kind != "string" and isinstance(v, _Num):
        slot = ix.number_slots(_full(v.v, n).astype(np.float64, copy=False), None if v.k is None else _full(v.k, n))
    else:
        return None
    rows = ix.scan_rows
    fires = dict(zip(rows, _fires([conds[r] for r in rows], ctx), strict=True))
    return ix.first(slot, fires)


def _run_chunk(prog: VectorProgram, ctx: _Ctx, cols: Mapping[str, V], lo: int, hi: int, out: _Out) -> None:
    n = hi - lo
    ctx.n, ctx.lo, ctx.hi = n, lo, hi
    refs: dict[str, V] = {}
    for key, v in cols.items():
        refs[key] = _slice(v, lo, hi)
    ctx.refs = refs
    dead = np.zeros(n, dtype=np.bool_)
    sl = slice(lo, hi)

    for name, op, _ in prog.metrics:
        refs[name] = op(ctx)
        if name in out.metrics:
            _store(out.metrics[name], refs[name], sl, n)
    for name, t in prog.segments:
        codes, idx = _run_table(t, ctx, lo, out, dead)
        refs[t.out_key] = _Str(codes)
        out.seg[name][0][sl] = codes
        out.seg[name][1][sl] = idx
    if prog.tiers is not None:
        codes, idx = _run_table(prog.tiers, ctx, lo, out, dead)
        refs["tier"] = _Str(codes)
        out.tier[sl] = codes
        out.tier_rule[sl] = idx
    if prog.stages is not None:
        st = prog.stages
        given = refs.get("relationship.stage")
        gc = _full(given.c, n) if isinstance(given, _Str) else np.full(n, -1, dtype=np.int64)
        idx, to = stage_masks(gc, st.states, st.start, st.otherwise, st.sources, st.then, _fires(st.conds, ctx))
        refs["stage"] = _Str(to)
        out.stage_from[sl] = gc
        out.stage[sl] = to
        out.transition[sl] = idx
    if prog.churn is not None:
        if prog.churn_score is not None:
            score = prog.churn_score(ctx)
            refs["churn.score"] = score
            if isinstance(score, _Num):
                out.score[sl] = _full(score.v, n)
                out.score_known[sl] = True if score.k is None else _full(score.k, n)
        t = prog.churn
        codes, idx = _run_table(t, ctx, lo, out, dead)
        assert t.risk is not None
        risk = np.where(idx >= 0, t.risk[np.maximum(idx, 0)] if len(t.risk) else -1, t.default_risk)
        refs["churn.kind"] = _Str(codes)
        refs["churn.risk"] = _Str(risk)
        out.kind[sl] = codes
        out.risk[sl] = risk
        out.churn_rule[sl] = idx
    if prog.action_conds:
        out.pattern_key[sl] = _pattern_keys(_fires(prog.action_conds, ctx), n)


def _pattern_keys(fires: Sequence[BoolArr], n: int) -> NDArray[Any]:
    """One key per row naming the set of rules that fired: a uint64 bit set (or bytes beyond 64 rules)."""
    packed = np.packbits(np.stack(fires, axis=1), axis=1, bitorder="little")
    width = packed.shape[1]
    if width <= 8:
        words = np.zeros((n, 8), dtype=np.uint8)
        words[:, :width] = packed
        return words.view("<u8").ravel()
    return np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()


def _pattern_bits(keys: NDArray[Any], rules: int) -> BoolArr:
    """The fired-rule matrix (keys × rules) of distinct pattern keys."""
    if keys.dtype == np.uint64:
        shifts = np.arange(rules, dtype=np.uint64)
        bits: BoolArr = ((keys[:, None] >> shifts) & np.uint64(1)).astype(np.bool_)
        return bits
    raw = np.frombuffer(keys.tobytes(), dtype=np.uint8).reshape(len(keys), keys.dtype.itemsize)
    unpacked: BoolArr = np.unpackbits(raw, axis=1, bitorder="little")[:, :rules].astype(np.bool_)
    return unpacked


@dataclass
class Decided:
    """The outcome of a program over a batch, as code arrays (see :func:`run_program`)."""

    prog: VectorProgram
    out: _Out
    vocab: dict[str, int]
    n: int
    _patterns: tuple[IntArr, MergedActions] | None = field(default=None, repr=False)

    def names(self) -> list[str]:
        """The string of each vocabulary code, in code order."""
        return sorted(self.vocab, key=self.vocab.__getitem__)

    def action_patterns(self) -> tuple[IntArr, MergedActions]:
        """Per row, the id of its set of fired action rules (a pattern); per pattern, its merged
        action codes and rules. Rows share few patterns, so the merge runs once per pattern."""
        if self._patterns is None:
            uniq, inverse = np.unique(self.out.pattern_key, return_inverse=True)
            fired = _pattern_bits(uniq, len(self.prog.action_conds))
            self._patterns = (inverse.ravel().astype(np.int64, copy=False),
                              merge_action_masks(self.prog.plan.action_rules, fired))
        return self._patterns


def run_program(
    policy: Policy | Plan,
    columns: ColumnBatch | Mapping[str, Any],
    *,
    as_of: dt.date,
    stats: PortfolioStats | None = None,
    chunk_size: int = 1 << 15,
    metrics: bool = False,
    program: VectorProgram | None = None,
    ranks: ChunkRanks | None = None,
) -> Decided:
    """Run the policy's program over every row of ``columns``: the outcome as code arrays, which
    :func:`decide_columns` turns into Python lists and :mod:`.arrow_out` into Arrow arrays.

    ``ranks``: where the rows' ranked values sit in ``stats``, when the statistics were built from
    these very rows (:class:`~accountrules.evaluate.own_ranks.OwnRanks`); they save a search per row."""
    prog, batch, vocab, ctx, cols = prepared(policy, columns, as_of, program)
    n = batch.size
    step = max(1, chunk_size)
    with np.errstate(all="ignore"):
        if prog.portfolio_args:
            ctx.pre = _portfolio_columns(prog, ctx, cols, n, stats, step, batch, ranks)
        out = _Out(prog, n, metrics)
        for lo in range(0, n, step):
            _run_chunk(prog, ctx, cols, lo, min(n, lo + step), out)
    return Decided(prog, out, vocab, n)


def decide_columns(
    policy: Policy | Plan,
    columns: ColumnBatch | Mapping[str, Any],
    *,
    as_of: dt.date,
    stats: PortfolioStats | None = None,
    chunk_size: int = 1 << 15,
    metrics: bool = False,
    program: VectorProgram | None = None,
) -> dict[str, list[Any]]:
    """Decide every row of ``columns`` at once; the same outcome per row as ``Policy.decide``.

    ``stats`` are the portfolio statistics to rank against; without them the batch itself is the
    portfolio (as ``Policy.decide_many``). Returns flat columns, one entry per row (see
    :func:`output_keys`): codes or ``None``, the id of the row/transition that decided each section
    (``None`` = default / stay), ``actions`` as a tuple of codes in the driver's order,
    ``action_rules`` the ids of the action rules that fired, and ``error``: ``None``, or the message
    of the :class:`~accountrules.errors.DecisionError` ``Policy.decide`` would raise for that row
    (``error_rules`` names the rows) — such a row's other outputs are all ``None``.
    ``program``: the policy compiled once (:func:`compile_program`), for callers deciding many batches.
    """
    got = run_program(policy, columns, as_of=as_of, stats=stats, chunk_size=chunk_size, metrics=metrics,
                      program=program)
    return finish_lists(got)


def _nullable(obj: NDArray[Any], known: BoolArr) -> list[Any]:
    """An object array as a list, with None where ``known`` is false."""
    none = np.empty(1, dtype=object)  # [None]
    out: list[Any] = np.where(known, obj, none).tolist()
    return out


def finish_lists(got: Decided) -> dict[str, list[Any]]:
    prog, out, n = got.prog, got.out, got.n
    names = np.array([*got.names(), None], dtype=object)  # code -1 -> None

    def strings(codes: IntArr) -> list[Any]:
        res: list[Any] = names[codes].tolist()
        return res

    def rule_ids(ids: tuple[str, ...], idx: IntArr) -> list[Any]:
        res: list[Any] = np.array([*ids, None], dtype=object)[idx].tolist()
        return res

    none: list[Any] = [None] * n
    res: dict[str, list[Any]] = {}
    if prog.tiers is not None:
        res["tier"] = strings(out.tier)
        res["tier_rule"] = rule_ids(prog.tiers.ids, out.tier_rule)
    else:
        res["tier"], res["tier_rule"] = none, list(none)
    for name, t in prog.segments:
        seg_codes, idx = out.seg[name]
        res[f"segment.{name}"] = strings(seg_codes)
        res[f"segment.{name}_rule"] = rule_ids(t.ids, idx)
    if prog.stages is not None:
        res["stage_from"] = strings(out.stage_from)
        res["stage"] = strings(out.stage)
        res["stage_transition"] = rule_ids(prog.stages.ids, out.transition)
    else:
        res["stage_from"], res["stage"], res["stage_transition"] = list(none), list(none), list(none)
    if prog.churn is not None:
        res["churn_kind"] = strings(out.kind)
        res["churn_risk"] = strings(out.risk)
        res["churn_score"] = _nullable(out.score.astype(object), out.score_known)
        res["churn_rule"] = rule_ids(prog.churn.ids, out.churn_rule)
    else:
        for k in ("churn_kind", "churn_risk", "churn_score", "churn_rule"):
            res[k] = list(none)
    if prog.action_conds:
        pattern, merged = got.action_patterns()
        ids = prog.action_ids
        codes_of, rules_of = [], []
        for p in range(len(merged)):
            codes, rules = merged.row(p)
            codes_of.append(codes)
            rules_of.append(tuple(ids[i] for i in rules))
        lut_codes = np.empty(len(codes_of), dtype=object)
        lut_codes[:] = codes_of
        lut_rules = np.empty(len(rules_of), dtype=object)
        lut_rules[:] = rules_of
        res["actions"] = lut_codes[pattern].tolist()
        res["action_rules"] = lut_rules[pattern].tolist()
    else:
        res["actions"] = [()] * n
        res["action_rules"] = [()] * n
    res["error"] = list(none)
    res["error_rules"] = [()] * n
    for name, _, kind in prog.metrics:
        if name not in out.metrics:
            continue
        vals, known = out.metrics[name]
        if kind == "string":
            col = strings(np.where(known, vals, -1))
        elif kind == "date":
            col = [dt.date.fromordinal(int(v)) if k else None
                   for v, k in zip(vals.tolist(), known.tolist(), strict=True)]
        else:
            col = _nullable(vals.astype(object), known)
        res[f"metric.{name}"] = col
    for row, (msg, ids) in out.errors.items():
        for column in res.values():
            column[row] = None
        res["error"][row] = msg
        res["error_rules"][row] = ids
    return res
