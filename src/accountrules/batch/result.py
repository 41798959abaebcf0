"""The result of a batch: one Decision or RowError per input row, in input order.

A :class:`BatchResult` keeps what a portfolio report needs as columns (tier,
segments, stage, churn, actions and the rule ids behind them) next to the validated
input, and builds a full :class:`Decision` (with its trace) only when one is asked for:
``result[i]`` is dressed from what the evaluator that decided row ``i`` recorded (the row
behind each section, the action rules that fired; see :mod:`accountrules.evaluate.record`)
and the batch's :class:`PortfolioStats`, without matching any rule again; it is the same
Decision as deciding the row on its own. So
``summary()``, ``to_arrow()`` or a CSV of 100k accounts never builds 100k pydantic
Decisions.

Parts of a result hold either built items (``from_items``) or columns plus the
validated input (``from_columns``; what :func:`decide_batch` and a vectorised evaluator
produce).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, overload

from accountrules.batch.errors import RowError, RowErrors
from accountrules.batch.flat import held_inputs, part_table
from accountrules.batch.summary import BatchSummary, summarise
from accountrules.batch.validate import Chunk
from accountrules.evaluate.driver import run, to_decision
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.record import ACTION_RULES, RecordReader
from accountrules.io.optional import require
from accountrules.io.schema import (
    AS_OF,
    HEAD_COLUMNS,
    KEY_COLUMNS,
    arrow_table,
    decision_outputs,
    output_columns,
    value_columns,
)
from accountrules.model.decision import Decision

if TYPE_CHECKING:
    from accountrules.compile.plan import Plan
    from accountrules.policy import Policy

Item = Decision | RowError


class _Part:
    """Rows ``start .. start + n - 1`` (0-based) of a result."""

    __slots__ = ("errors", "n", "outputs", "start")

    def __init__(self, start: int, n: int, outputs: dict[str, Any], errors: dict[int, RowError]):
        self.start = start
        self.n = n
        self.outputs = outputs  # column -> list, or pyarrow Array (the vector evaluator's), of length n
        self.errors = errors

    def ids(self) -> list[Any]:
        raise NotImplementedError

    def id_column(self) -> Any:
        """The account ids as a list or a pyarrow Array."""
        return self.ids()

    def lists(self) -> dict[str, list[Any]]:
        """The outputs as Python lists (list columns as tuples)."""
        return {c: _as_list(c, col) for c, col in self.outputs.items()}

    def item(self, j: int, res: BatchResult) -> Item:
        raise NotImplementedError

    def items(self, res: BatchResult) -> Iterator[Item]:
        for j in range(self.n):
            yield self.item(j, res)


class _ItemsPart(_Part):
    __slots__ = ("_items",)

    def __init__(self, start: int, items: list[Item], plan: Plan):
        cols = value_columns(plan)
        outputs: dict[str, list[Any]] = {c: [None] * len(items) for c in cols}
        errors: dict[int, RowError] = {}
        for j, it in enumerate(items):
            if isinstance(it, RowError):
                errors[j] = it
                continue
            for c, v in decision_outputs(plan, it).items():
                outputs[c][j] = v
        super().__init__(start, len(items), outputs, errors)
        self._items = items

    def ids(self) -> list[Any]:
        return [it.account_id for it in self._items]

    def item(self, j: int, res: BatchResult) -> Item:
        return self._items[j]

    def items(self, res: BatchResult) -> Iterator[Item]:
        return iter(self._items)


class _ColumnsPart(_Part):
    __slots__ = ("chunk", "engine")

    def __init__(self, chunk: Chunk, outputs: dict[str, list[Any]], engine: str):
        super().__init__(chunk.start, chunk.n, outputs, chunk.errors)
        self.chunk = chunk
        self.engine = engine

    def ids(self) -> list[Any]:
        return self.chunk.ids()

    def id_column(self) -> Any:
        return self.chunk.cols[self.chunk.keys.index("id")]

    def item(self, j: int, res: BatchResult) -> Item:
        err = self.errors.get(j)
        if err is not None:
            return err
        return self._decision(self.chunk.env(j), res, {c: _value_at(c, col, j) for c, col in self.outputs.items()})

    def items(self, res: BatchResult) -> Iterator[Item]:
        envs = self.chunk.envs()
        outs = self.lists()  # once per pass, not one Arrow scalar per cell
        for j in range(self.n):
            err = self.errors.get(j)
            if err is not None:
                yield err
                continue
            k, env = next(envs)
            assert k == j
            yield self._decision(env, res, {c: col[j] for c, col in outs.items()})

    def _decision(self, env: dict[str, Any], res: BatchResult, out: dict[str, Any]) -> Decision:
        if ACTION_RULES in out:  # recorded by the evaluator that decided: nothing is matched again
            return res._from_record(env, out)
        return res._redecide(env, self.engine)


_TUPLES = frozenset({ACTION_RULES, "actions"})


def _as_list(name: str, col: Any) -> list[Any]:
    if isinstance(col, list):
        return col
    values: list[Any] = col.to_pylist()
    if name in _TUPLES:
        return [tuple(v) if v is not None else () for v in values]
    return values


def _value_at(name: str, col: Any, j: int) -> Any:
    if isinstance(col, list):
        return col[j]
    v = col[j].as_py()
    return (tuple(v) if v is not None else ()) if name in _TUPLES else v


class BatchResult(Sequence[Item]):
    """One :class:`Decision` or :class:`RowError` per input row, in input order."""

    def __init__(self, parts: Sequence[_Part], *, policy: Policy, stats: PortfolioStats, as_of: dt.date,
                 trace: bool = True):
        self._parts = list(parts)
        self._starts = [p.start for p in self._parts]
        self._len = sum(p.n for p in self._parts)
        self.policy = policy
        self.stats = stats
        self.as_of = as_of
        self.trace = trace
        self._reader: RecordReader | None = None

    # -- construction
    @classmethod
    def from_items(cls, items: Iterable[Item], *, policy: Policy, stats: PortfolioStats, as_of: dt.date,
                   trace: bool = True) -> BatchResult:
        """A result of built Decisions / RowErrors (e.g. decided row by row)."""
        items = list(items)
        return cls([_ItemsPart(0, items, policy.plan)], policy=policy, stats=stats, as_of=as_of, trace=trace)

    @classmethod
    def from_columns(cls, *, policy: Policy, inputs: Mapping[str, Sequence[Any]],
                     outputs: Mapping[str, Sequence[Any]], stats: PortfolioStats, as_of: dt.date,
                     errors: Mapping[int, RowError] | None = None, trace: bool = True,
                     engine: str = "compiled") -> BatchResult:
        """A result from columns: ``inputs`` are the validated env columns of every row (keys as in
        :func:`accountrules.batch.columns.env_keys`; lists or pyarrow arrays, ``id`` required),
        ``outputs`` the flat result columns (``tier``, ``tier_rule``, ``segment.<name>``, ...) of
        every row; ``errors`` maps 0-based row indices to the rows that were not decided.
        With an ``action_rules`` output (the ids of the action rules that fired, per row) a
        Decision is built on access from the outputs; without it, by deciding the row again
        with ``engine``.
        """
        n = len(inputs["id"])
        keys = tuple(inputs)
        chunk = Chunk(0, n, keys, [list(v) if not hasattr(v, "to_pylist") else v for v in inputs.values()], {},
                      dict(errors or {}))
        cols = value_columns(policy.plan)
        missing = [c for c in cols if c not in outputs and not c.startswith("metric.")]
        if missing:
            raise ValueError(f"outputs lack the columns {missing}")
        outs = {c: list(outputs[c]) if c in outputs else [None] * n for c in cols}
        outs["actions"] = [tuple(a) if a is not None else () for a in outs["actions"]]
        if ACTION_RULES in outputs:
            outs[ACTION_RULES] = [tuple(a) if a is not None else () for a in outputs[ACTION_RULES]]
        return cls([_ColumnsPart(chunk, outs, engine)], policy=policy, stats=stats, as_of=as_of, trace=trace)

    @classmethod
    def concat(cls, results: Iterable[BatchResult]) -> BatchResult:
        """Join consecutive chunks of one batch (as yielded by :func:`iter_batches`)."""
        results = list(results)
        if not results:
            raise ValueError("nothing to concatenate")
        parts: list[_Part] = [p for r in results for p in r._parts]
        last = results[-1]
        return cls(parts, policy=last.policy, stats=last.stats, as_of=last.as_of, trace=last.trace)

    def __reduce__(self) -> tuple[Any, ...]:
        # its parts hold the policy's compiled closures, which do not pickle: what travels (e.g. back
        # from a process pool) is every Decision and RowError, and the policy, which pickles its texts
        return (_from_items, (list(self), self.policy, self.stats, self.as_of, self.trace))

    def _redecide(self, env: dict[str, Any], engine: str) -> Decision:
        # only outputs given to from_columns without the record of fired action rules get here
        matcher = self.policy.evaluators.matcher("compiled" if engine == "vector" else engine)
        raw = run(self.policy.plan, env, matcher, env["id"], self.as_of, self.stats)
        return to_decision(self.policy.plan, raw, env["id"], self.as_of, self.policy.ref, self.trace)

    def _from_record(self, env: dict[str, Any], out: Mapping[str, Any]) -> Decision:
        if self._reader is None:
            self._reader = RecordReader(self.policy.plan)
        raw = self._reader.raw(env, out, self.as_of, self.stats)
        return to_decision(self.policy.plan, raw, env["id"], self.as_of, self.policy.ref, self.trace)

    # -- the Sequence
    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> Item: ...

    @overload
    def __getitem__(self, i: slice) -> list[Item]: ...

    def __getitem__(self, i: int | slice) -> Item | list[Item]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError("BatchResult index out of range")
        part = self._parts[bisect_right(self._starts, self._parts[0].start + i) - 1]
        return part.item(self._parts[0].start + i - part.start, self)

    def __iter__(self) -> Iterator[Item]:
        for p in self._parts:
            yield from p.items(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BatchResult):
            if len(self) != len(other) or self.to_records(errors=True) != other.to_records(errors=True):
                return False
        elif isinstance(other, Sequence) and not isinstance(other, str | bytes):
            if len(self) != len(other):
                return False
        else:
            return NotImplemented
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n_err = self.error_count
        return f"BatchResult({self._len} rows: {self._len - n_err} decided, {n_err} errors)"

    # -- views
    @property
    def error_count(self) -> int:
        return sum(len(p.errors) for p in self._parts)

    @property
    def ok(self) -> bool:
        """True when every row was decided."""
        return self.error_count == 0

    @property
    def decisions(self) -> list[Decision]:
        """The Decisions, in input order (built now; rows that failed are left out)."""
        return [it for it in self if isinstance(it, Decision)]

    @property
    def errors(self) -> list[RowError]:
        """The rows that could not be decided, in input order."""
        return [p.errors[j] for p in self._parts for j in sorted(p.errors)]

    def raise_for_errors(self) -> BatchResult:
        """Raise :class:`RowErrors` (an AccountValidationError) if any row failed; else return self."""
        errs = self.errors
        if errs:
            raise RowErrors(errs, self._len)
        return self

    def summary(self) -> BatchSummary:
        return summarise(self.policy.plan, self._parts, self._len)

    # -- the validated input
    def input_columns(self, keys: Iterable[str]) -> dict[str, Any] | None:
        """The validated input fields ``keys`` of every row (refused rows hold what validation kept), as
        Arrow arrays; a field the input did not hold is left out. ``None`` when the batch does not hold
        its input (a result built from Decisions)."""
        return held_inputs(self._parts, keys)

    def unknown_counts(self) -> dict[str, int]:
        """Per input column (less ``id``): the rows where it was blank, over every row of the input."""
        total: Counter[str] = Counter()
        for p in self._parts:
            if isinstance(p, _ColumnsPart):
                total.update(p.chunk.blanks)
        total.pop("id", None)
        return dict(total)

    # -- flat tables
    def columns(self, *, errors: bool = False, names: Iterable[str] | None = None) -> dict[str, list[Any]]:
        """The flat result as ``{column: values}`` (actions as tuples, ``as_of`` the batch's one date object
        repeated); see :meth:`to_records`.

        ``names``: only these of the flat columns (``row`` and ``account_id`` are always given), in the
        flat order; a name the result has not is a ``KeyError``. Each column is turned into Python values
        once per call, so asking for the few a caller reads saves the rest."""
        names = self._names(names)
        out: dict[str, list[Any]] = {c: [] for c in names}
        if errors:
            out["error_field"] = []
            out["error"] = []
        decided = [c for c in names if c not in HEAD_COLUMNS]
        for p in self._parts:
            ids = _as_list("account_id", p.id_column())
            outs = {c: _as_list(c, p.outputs[c]) for c in decided}
            rows = range(p.n) if errors else [j for j in range(p.n) if j not in p.errors]
            whole = not p.errors
            out["row"].extend(p.start + j + 1 for j in rows)
            if whole:
                out["account_id"].extend(ids)
            else:
                out["account_id"].extend(ids[j] if j not in p.errors else p.errors[j].account_id for j in rows)
            if AS_OF in out:
                out[AS_OF].extend(repeat(self.as_of, len(rows)))
            for c in decided:
                col = outs[c]
                if whole:
                    out[c].extend(col)
                else:
                    out[c].extend(col[j] if j not in p.errors else (() if c == "actions" else None) for j in rows)
            if errors:
                out["error_field"].extend(p.errors[j].field if j in p.errors else None for j in rows)
                out["error"].extend(p.errors[j].message if j in p.errors else None for j in rows)
        return out

    def _names(self, names: Iterable[str] | None) -> list[str]:
        flat = output_columns(self.policy.plan)
        if names is None:
            return flat
        wanted = set(names)
        unknown = sorted(wanted - set(flat))
        if unknown:
            raise KeyError(f"no such column of this result: {', '.join(unknown)} (columns: {', '.join(flat)})")
        return [c for c in flat if c in wanted or c in KEY_COLUMNS]

    def to_records(self, *, errors: bool = False) -> list[dict[str, Any]]:
        """One dict per decided row: ``row, account_id, as_of, tier, tier_rule, segment.<name>,
        segment.<name>_rule, stage_from, stage, stage_transition, churn_kind, churn_risk,
        churn_score, churn_rule, actions`` (a list of action codes); sections the policy does not
        have are left out. ``errors=True`` keeps failed rows too, with ``error_field`` and ``error``.
        """
        cols = self.columns(errors=errors)
        names = list(cols)
        out = []
        for values in zip(*cols.values(), strict=True):
            rec = dict(zip(names, values, strict=True))
            rec["actions"] = list(rec["actions"])
            out.append(rec)
        return out

    def to_arrow(self, *, errors: bool = False) -> Any:
        """The flat result as a ``pyarrow.Table`` (actions as ``list<string>``); the vector evaluator's
        Arrow columns are used as they are, with no Python object per row."""
        names = output_columns(self.policy.plan)
        tables = [part_table(p.start, p.id_column(), p.outputs, p.errors, names, as_of=self.as_of, with_errors=errors)
                  for p in self._parts]
        if not tables:
            return arrow_table(self.columns(errors=errors))
        pa = require("pyarrow", "BatchResult.to_arrow")
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def to_pandas(self, *, errors: bool = False) -> Any:
        """The flat result as a ``pandas.DataFrame`` (actions as lists of codes, ``as_of`` as ``datetime.date``
        values, as pyarrow's ``to_pandas`` gives a date32 column)."""
        pd = require("pandas", "BatchResult.to_pandas")
        cols = self.columns(errors=errors)
        cols["actions"] = [list(v) for v in cols["actions"]]
        return pd.DataFrame(cols)


__all__ = ["BatchResult", "BatchSummary", "decision_outputs", "value_columns"]


def _from_items(items: list[Item], policy: Policy, stats: PortfolioStats, as_of: dt.date, trace: bool) -> BatchResult:
    """A pickled :class:`BatchResult` restored (see ``BatchResult.__reduce__``)."""
    return BatchResult.from_items(items, policy=policy, stats=stats, as_of=as_of, trace=trace)
