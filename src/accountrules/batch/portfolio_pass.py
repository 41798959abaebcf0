"""The statistics pass of a batch: the ranked values of every valid row, gathered from columns.

A policy that ranks accounts (``percentile``, ``cumshare``, ``quantile``) needs, before
the first chunk is decided, the values each ranked expression takes over the whole
portfolio. :class:`StatsCollector` gathers them chunk by chunk without building a row:

* a ranked field (``percentile(transactions.annual_revenue)``) is its validated column,
  nulls and error rows left out;
* a ranked expression (``percentile(profit_contribution)``, a metric) is evaluated over the
  chunk's columns by the vector evaluator when numpy is installed, else row by row with
  the compiled closures, as :meth:`Policy.portfolio_stats` does.

At the end every column is sorted once (numpy when present). The statistics equal those
``StatsBuilder`` gives from the same rows' envs (``tests/test_portfolio_pass.py``).
"""

from __future__ import annotations

import datetime as dt
import importlib
from array import array
from collections.abc import Iterator
from itertools import chain
from types import ModuleType
from typing import TYPE_CHECKING, Any

from accountrules.batch.validate import Chunk
from accountrules.check.policy_check import all_expressions
from accountrules.compile.plan import Plan, read_keys
from accountrules.evaluate.portfolio import PortfolioStats, StatsBuilder
from accountrules.parse.expr_ast import PORTFOLIO_FUNCTIONS, Call, Expr, Literal, Ref, ranks_by_id, unparse, walk

if TYPE_CHECKING:
    from accountrules.evaluate.own_ranks import OwnRanks

_LENGTH = "(rows)"  # a column no policy reads: gives a batch of no ranked field its length


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # numpy (and with it the vector evaluator) is an optional extra
        return None


def ranked_exprs(plan: Plan) -> dict[str, Expr]:
    """Each ranked expression of the plan by its key (as in ``plan.portfolio_args``)."""
    return dict(plan.once(_ranked_exprs))  # walked once per plan, not once per batch


def _portfolio_calls(plan: Plan) -> Iterator[Call]:
    """Every portfolio call (``percentile``, ``cumshare``, ``cumshare_above``, ``quantile``) in the plan's
    expressions, in policy order: what the three readings below are taken from."""
    for e in all_expressions(plan.spec):
        for node in walk(e):
            if isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
                yield node


def _ranked_exprs(plan: Plan) -> dict[str, Expr]:
    out: dict[str, Expr] = {}
    for call in _portfolio_calls(plan):
        out.setdefault(unparse(call.args[0]), call.args[0])
    return {k: out[k] for k, _ in plan.portfolio_args}


def first_only(plan: Plan) -> dict[str, frozenset[int]]:
    """The ranked keys the plan reads with ``quantile(key, k, 'first')`` and nothing else, with their
    k: of their statistics deciding needs only the k - 1 boundary pairs of each k
    (``PortfolioStats.boundaries_only``)."""
    return dict(plan.once(_first_only))


def _first_only(plan: Plan) -> dict[str, frozenset[int]]:
    ks: dict[str, set[int]] = {}
    other: set[str] = set()
    for call in _portfolio_calls(plan):
        key = unparse(call.args[0])
        k = call.args[1] if len(call.args) > 1 else None
        if ranks_by_id(call) and isinstance(k, Literal) and type(k.value) is int:
            ks.setdefault(key, set()).add(k.value)
        else:
            other.add(key)
    return {key: frozenset(got) for key, got in ks.items() if key not in other}


def position_ranked(plan: Plan) -> frozenset[str]:
    """The ranked keys (not ranked by id) a ``percentile``, ``cumshare`` or ``cumshare_above`` reads: the
    ones whose rows a batch ranks by their positions among the sorted values."""
    return plan.once(_position_ranked)


def _position_ranked(plan: Plan) -> frozenset[str]:
    out = {unparse(call.args[0]) for call in _portfolio_calls(plan) if call.func != "quantile"}
    return frozenset(out - plan.id_ranked)


def fields_read(plan: Plan, exprs: list[Expr]) -> set[str]:
    """The field keys ``exprs`` read, through the metrics they name."""
    metrics = {m.name: m.expr for m in plan.spec.metrics}
    todo = list(exprs)
    seen: set[str] = set()
    fields: set[str] = set()
    while todo:
        for node in walk(todo.pop()):
            if isinstance(node, Ref) and node.kind == "field":
                fields.add(node.key)
            elif isinstance(node, Ref) and node.kind == "metric" and node.key not in seen:
                seen.add(node.key)
                todo.append(metrics[node.key])
    return fields


class StatsCollector:
    """Collect, chunk by chunk, the ranked values of the valid rows; :meth:`stats` once at the end."""

    def __init__(self, plan: Plan, as_of: dt.date, program: Any = None):
        """``program``: the policy's vector program, when it has one, so chunks don't recompile it."""
        self._plan = plan
        self._as_of = as_of
        self._program = program
        self.size = 0
        self._np = _optional("numpy")
        self._vector = _optional("accountrules.evaluate.vector") if self._np is not None else None
        exprs = ranked_exprs(plan)
        fields = {k: e.key for k, e in exprs.items() if isinstance(e, Ref) and e.kind == "field"}
        # keys ranked with ties broken by account id keep every valid row's value in row order
        # (unknown as None / NaN) beside the rows' ids, gathered once for all of them
        self._by_id = [k for k in exprs if k in plan.id_ranked]
        self._id_fields = {k: f for k, f in fields.items() if k in plan.id_ranked}
        self._id_others = [k for k in self._by_id if k not in self._id_fields]
        self._id_parts: list[Any] = []
        self._fields = {k: f for k, f in fields.items() if k not in plan.id_ranked}
        self._others = [k for k in exprs if k not in fields and k not in plan.id_ranked]
        self._needs = fields_read(plan, [exprs[k] for k in exprs if k not in fields or k in plan.id_ranked])
        # with numpy each key's values go, chunk by chunk, straight into the array('d') its statistics
        # will keep (sorted there in place at the end): no part outlives its chunk, and the end makes
        # no whole-column copy; without numpy, lists of the chunks' values
        self._parts: dict[str, list[Any]] = {k: [] for k in exprs} if self._np is None else {}
        self._held: dict[str, array[float]] = {k: array("d") for k in exprs} if self._np is not None else {}
        self._given = False
        # where each chunk's values of the keys ranked by position begin: see stats_and_ranks
        self._positioned = [k for k in position_ranked(plan) if k in self._held]
        self._starts: dict[int, dict[str, int]] = {}

    def add(self, chunk: Chunk) -> None:
        """Add the valid rows of ``chunk`` (rows in ``chunk.errors`` are not in the portfolio)."""
        valid = chunk.n - len(chunk.errors)
        self.size += valid
        if not (self._parts or self._held) or not valid:
            return
        if self._positioned:
            self._starts[chunk.start] = {k: len(self._held[k]) for k in self._positioned}
        rows = None if not chunk.errors else [j for j in range(chunk.n) if j not in chunk.errors]
        others = list(self._others)
        for key, field in self._fields.items():
            got = self._field(chunk, field, rows, valid)
            if got is None:  # not a stored key: the closures decide what reading it means
                others.append(key)
            else:
                self._put(key, got)
        id_others = list(self._id_others)
        if self._by_id:
            ids = chunk.cols[chunk.keys.index("id")]
            self._id_parts.append(ids if rows is None else [ids[j] for j in rows] if isinstance(ids, list)
                                  else ids.take(rows))
        for key, field in self._id_fields.items():
            got = self._aligned(chunk, field, rows, valid)
            if got is None:
                id_others.append(key)
            else:
                self._put(key, got)
        if others or id_others:
            self._expressions(chunk, others, id_others, rows)

    def _put(self, key: str, values: Any) -> None:
        """Add a chunk's values of ``key`` (a numpy array or a list, None / NaN unknown)."""
        np = self._np
        if np is None:
            self._parts[key].append(values)
            return
        from accountrules.evaluate.stats_build import append_floats  # numpy is installed

        append_floats(self._held[key], _floats(np, values) if isinstance(values, list) else values)

    def _aligned(self, chunk: Chunk, field: str, rows: list[int] | None, valid: int) -> Any:
        """A ranked field's value for every valid row, in row order: unknown as NaN (None without numpy)."""
        np = self._np
        if field in chunk.keys:
            col = chunk.cols[chunk.keys.index(field)]
            if isinstance(col, list):
                picked = col if rows is None else [col[j] for j in rows]
                return picked if np is None else _floats(np, picked)
            if rows is not None:
                col = col.take(rows)
            if np is not None and _is_numeric(col.type):
                import pyarrow.compute as pc  # a chunk of arrays came from pyarrow

                return pc.fill_null(col.cast("double"), float("nan")).to_numpy(zero_copy_only=False)
            return None
        if field in chunk.base:
            v = chunk.base[field]
            if np is None:
                return [v] * valid
            return np.full(valid, np.nan if v is None else float(v), dtype=np.float64)
        return None

    def _field(self, chunk: Chunk, field: str, rows: list[int] | None, valid: int) -> Any:
        np = self._np
        if field in chunk.keys:
            col = chunk.cols[chunk.keys.index(field)]
            if isinstance(col, list):
                picked = col if rows is None else [col[j] for j in rows]
                known = [v for v in picked if v is not None]
                return known if np is None else np.fromiter((float(v) for v in known), np.float64, len(known))
            if rows is not None:
                col = col.take(rows)
            col = col.drop_null()
            if np is not None and _is_numeric(col.type):
                return col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            return col.to_pylist()
        if field in chunk.base:
            v = chunk.base[field]
            if v is None:
                return []
            return [v] * valid if np is None else np.full(valid, float(v), dtype=np.float64)
        return None

    def _expressions(self, chunk: Chunk, keys: list[str], id_keys: list[str], rows: list[int] | None) -> None:
        """``keys``: their known values, in any order; ``id_keys`` (ranked by id): every valid row's
        value, unknown as NaN / None, in row order."""
        if self._vector is not None:
            got = self._vector.ranked_columns(self._plan, self._batch(chunk, rows), as_of=self._as_of,
                                              keys=[*keys, *id_keys], program=self._program)
            np = self._np
            assert np is not None  # the vector evaluator is only there with numpy
            for key in keys:
                v = got[key]
                self._put(key, v[~np.isnan(v)])
            for key in id_keys:
                self._put(key, got[key])
            return
        builder = StatsBuilder(self._plan, self._as_of, [*keys, *id_keys])
        for _, env in chunk.envs(read_keys(self._plan)):
            builder.add(env)
        for key, values in builder.values().items():
            self._put(key, values if key in id_keys else [v for v in values if v is not None])

    def _batch(self, chunk: Chunk, rows: list[int] | None) -> Any:
        """The chunk's valid rows of the fields the ranked expressions read, as the vector evaluator's input."""
        assert self._vector is not None
        columns: dict[str, Any] = {}
        if all(isinstance(c, list) for c in chunk.cols):
            for k, c in zip(chunk.keys, chunk.cols, strict=True):
                if k in self._needs:
                    columns[k] = c if rows is None else [c[j] for j in rows]
            n = chunk.n if rows is None else len(rows)
            for k, v in chunk.base.items():
                if k in self._needs and v is not None:
                    columns[k] = [v] * n
            # an expression of no field (of as_of alone) still has one value per row
            return self._vector.ColumnBatch.from_mapping(columns or {_LENGTH: [None] * n})
        import pyarrow as pa  # a chunk of arrays came from pyarrow

        take = None if rows is None else pa.array(rows, pa.int64())
        for k, c in zip(chunk.keys, chunk.cols, strict=True):
            if k in self._needs:
                arr = c if isinstance(c, pa.Array) else pa.array(c)
                columns[k] = arr if take is None else arr.take(take)
        n = chunk.n if rows is None else len(rows)
        for k, v in chunk.base.items():
            if k in self._needs and v is not None:
                columns[k] = pa.array([v] * n)
        return self._vector.ColumnBatch.from_arrow(pa.table(columns or {_LENGTH: pa.nulls(n, pa.float64())}))

    def stats(self) -> PortfolioStats:
        """The statistics of every row added: each column sorted once (the ids of all keys ranked by id, once).

        Called once, at the end: the collected values are handed over to the statistics, not copied."""
        return self._build(False)[0]

    def stats_and_ranks(self) -> tuple[PortfolioStats, OwnRanks | None]:
        """:meth:`stats`, and where the rows added sit in them (for the keys ranked by position): what
        deciding the same chunks against these statistics would otherwise search for again. None
        without numpy, or when the policy ranks no key by position."""
        return self._build(True)

    def _build(self, ranks: bool) -> tuple[PortfolioStats, OwnRanks | None]:
        if self._given:
            raise RuntimeError("StatsCollector.stats() was already called: the values went to those statistics")
        self._given = True
        if self._np is None:
            ids = [i for part in self._id_parts for i in (part if isinstance(part, list) else part.to_pylist())]
            return PortfolioStats({k: chain.from_iterable(parts) for k, parts in self._parts.items()}, self.size,
                                  dict.fromkeys(self._by_id, ids)), None
        from accountrules.evaluate.own_ranks import OwnRanks  # numpy is installed
        from accountrules.evaluate.stats_build import stats_and_positions

        held, self._held = self._held, {}
        ordered = dict.fromkeys(self._by_id, self._id_order()) if self._by_id else {}
        self._id_parts = []
        # the gathered arrays become the statistics' own, sorted in place: no value is held twice
        stats, positions = stats_and_positions(held, self.size, ordered, self._positioned if ranks else ())
        starts, self._starts = self._starts, {}
        return stats, OwnRanks(positions, starts) if positions else None

    def _id_order(self) -> Any:
        """The valid rows' ids and their order by code point: sorted by Arrow when they came from Arrow
        (a C sort of UTF-8 bytes, the same order) and kept there (no Python str per id), else by numpy."""
        from accountrules.evaluate.stats_build import IdOrder, id_order  # numpy is installed

        parts = self._id_parts
        if not parts or any(isinstance(p, list) for p in parts):
            return id_order([i for part in parts for i in (part if isinstance(part, list) else part.to_pylist())])
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pa.chunked_array(parts)
        return IdOrder(ids, pc.sort_indices(ids).to_numpy())


def _floats(np: ModuleType, values: list[Any]) -> Any:
    return np.fromiter(_as_floats(values), np.float64, len(values))


def _as_floats(values: list[Any]) -> Iterator[float]:
    # None (unknown) as NaN, which the statistics leave out like None
    return (float("nan") if v is None else float(v) for v in values)


def _is_numeric(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t))


__all__ = ["StatsCollector", "fields_read", "first_only", "position_ranked", "ranked_exprs"]
