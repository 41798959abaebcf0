"""The outcome of a vector run as Arrow arrays: flat output columns without a Python object per row.

:func:`~accountrules.evaluate.vector.run.decide_columns` hands out Python lists (one object per
row and column); a batch that ends in a pyarrow Table, a Parquet or CSV file or a report does
not need them. Here each code array becomes an Arrow array by one ``take`` from its small
dictionary of strings (codes, rule ids), and ``actions`` / ``action_rules`` by one ``take`` from
the list of distinct fired-rule sets: every step runs in Arrow's or numpy's kernels.

The arrays are laid out over a chunk of ``size`` rows of which ``rows`` were decided (the others
were refused before deciding); refused rows and rows the policy could not decide hold null (and
an empty action list), as the flat result shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

from accountrules.evaluate.record import ACTION_RULES
from accountrules.evaluate.vector.run import Decided
from accountrules.io.schema import SCORE_METRICS

IntArr = NDArray[np.int64]
Errors = dict[int, tuple[str, tuple[str, ...]]]
"""Chunk position -> (message, ids of the rows in conflict) of each row the policy could not decide."""

_EPOCH = dt.date(1970, 1, 1).toordinal()


def arrow_columns(got: Decided, rows: IntArr | None, size: int) -> tuple[dict[str, Any], Errors]:
    """``(columns, errors)``: every flat output column of the policy's sections (as in
    :func:`accountrules.io.schema.value_columns`), :data:`ACTION_RULES`, and ``metric.<name>`` for
    the metrics the run kept; ``rows[i]`` is the chunk position of run row ``i`` (``None``: the same)."""
    import pyarrow as pa

    prog, out = got.prog, got.out
    errors: Errors = {}
    dead: IntArr | None = None
    if out.errors:
        dead = np.fromiter(out.errors, dtype=np.int64, count=len(out.errors))
        for r, err in out.errors.items():
            errors[int(rows[r]) if rows is not None else r] = err

    def spread(codes: NDArray[Any], fill: int = -1) -> NDArray[Any]:
        if rows is None and dead is None:
            return codes
        if dead is not None:
            codes = codes.copy()
            codes[dead] = fill
        if rows is None:
            return codes
        full = np.full(size, fill, dtype=codes.dtype)
        full[rows] = codes
        return full

    def known_mask(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        if dead is not None:
            mask = mask.copy()
            mask[dead] = False
        if rows is None:
            return mask
        full = np.zeros(size, dtype=np.bool_)
        full[rows] = mask
        return full

    def pick(values: Any, codes: NDArray[Any]) -> Any:
        c = spread(codes)
        if not isinstance(values, pa.Array):
            values = pa.array(values, pa.string())
        return values.take(pa.array(c, pa.int64(), mask=c < 0))

    # every string the run met (codes, and the values of the string fields it read): built once
    vocab = pa.array(got.names(), pa.string())
    res: dict[str, Any] = {}
    for name, t in prog.segments:
        seg, idx = out.seg[name]
        res[f"segment.{name}"] = pick(vocab, seg)
        res[f"segment.{name}_rule"] = pick(list(t.ids), idx)
    if prog.tiers is not None:
        res["tier"] = pick(vocab, out.tier)
        res["tier_rule"] = pick(list(prog.tiers.ids), out.tier_rule)
    if prog.stages is not None:
        res["stage_from"] = pick(vocab, out.stage_from)
        res["stage"] = pick(vocab, out.stage)
        res["stage_transition"] = pick(list(prog.stages.ids), out.transition)
    if prog.churn is not None:
        res["churn_kind"] = pick(vocab, out.kind)
        res["churn_risk"] = pick(vocab, out.risk)
        res["churn_score"] = pa.array(spread(out.score, 0), pa.float64(), mask=~known_mask(out.score_known))
        res["churn_rule"] = pick(list(prog.churn.ids), out.churn_rule)
    # dictionary arrays over the distinct fired-rule sets: 4 bytes a row; a reader decodes them
    # (``dictionary_decode``) only when it needs list<string> (to_arrow, a file)
    if prog.action_conds:
        pattern, merged = got.action_patterns()
        empty = len(merged)  # the id of "no rule fired" for refused rows
        pattern = spread(pattern, empty)
        code_offsets, code_values = merged.code_offsets, merged.code_values
        rule_offsets, rule_values = merged.rule_offsets, merged.rule_values
        codes = pa.array(merged.codes, pa.string())
    else:
        pattern = np.zeros(size, dtype=np.int64)
        code_offsets = rule_offsets = np.zeros(1, dtype=np.int64)
        code_values = rule_values = np.zeros(0, dtype=np.int64)
        codes = pa.array([], pa.string())
    ids = pa.array(pattern.astype(np.int32, copy=False), pa.int32())
    res["actions"] = pa.DictionaryArray.from_arrays(ids, _lists(pa, code_offsets, codes.take(code_values)))
    rule_ids = pa.array(prog.action_ids, pa.string())
    res[ACTION_RULES] = pa.DictionaryArray.from_arrays(ids, _lists(pa, rule_offsets, rule_ids.take(rule_values)))
    for name, _, kind in prog.metrics:
        if name in out.metrics:
            vals, known = out.metrics[name]
            if name in SCORE_METRICS and kind != "number":  # not a score: blank, as metric_value shows it
                res[f"metric.{name}"] = pa.nulls(size, pa.float64())
                continue
            res[f"metric.{name}"] = _metric(pa, kind, vocab, spread(vals) if kind == "string" else
                                             _spread_values(vals, rows, size), known_mask(known))
    return res, errors


def _lists(pa: Any, offsets: IntArr, values: Any) -> Any:
    """A list<string> array over ragged ``offsets``, plus one empty list last (refused rows)."""
    ends = np.append(offsets, offsets[-1]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(ends, pa.int32()), values)


def _spread_values(vals: NDArray[Any], rows: IntArr | None, size: int) -> NDArray[Any]:
    # the rows the policy could not decide are masked by ``known_mask``: their values need no reset
    if rows is None:
        return vals
    full = np.zeros(size, dtype=vals.dtype)
    full[rows] = vals
    return full


def _metric(pa: Any, kind: str, vocab: Any, vals: NDArray[Any], known: NDArray[np.bool_]) -> Any:
    if kind == "string":
        codes = np.where(known, vals, -1)
        return vocab.take(pa.array(codes, pa.int64(), mask=codes < 0))
    if kind == "bool":
        return pa.array(vals, pa.bool_(), mask=~known)
    if kind == "date":
        return pa.array((vals - _EPOCH).astype(np.int32), pa.int32(), mask=~known).cast(pa.date32())
    return pa.array(vals, pa.float64(), mask=~known)


__all__ = ["Errors", "arrow_columns"]
