"""The compiled form of a checked policy: closures per row, grouped by section.

A ``Plan`` is immutable and shared by every evaluator and every thread; the
per-decision state lives only in the ``env`` dict each decision builds.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from accountrules.check.expr_check import uses_portfolio
from accountrules.check.limits import DEFAULT_LIMITS, LoadLimits
from accountrules.check.spec import ActionDef, PolicySpec, Row, Table
from accountrules.compile.closures import Env, Fn, compile_expr
from accountrules.compile.guards import Guards, build_guards
from accountrules.compile.index import MIN_ROWS, RowIndex, index_of, row_tests
from accountrules.errors import PolicyLimitError, SourceLocation
from accountrules.model.decision import Label
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Binary,
    Call,
    Expr,
    Literal,
    Ref,
    ranks_by_id,
    unparse,
    walk,
)

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Read:
    """A value a condition reads, shown in the trace: a field, metric, output or portfolio rank."""

    name: str
    fn: Fn


_LAZY: Any = object()


class CRow:
    """A row of a compiled section: its position, the checked row, and what evaluating it needs.

    ``cond`` (the row's closure, None = always), ``reads`` (the values its trace shows) and
    ``where`` (its ``file:line:col``) are built on first use unless given: a decision reaches few
    rows of a large indexed table, so a 70,000-row table does not compile 70,000 closures at load.
    The row's expression was checked at load; building its closure cannot fail. Two threads that
    build the same closure at once build equal ones, and either may be kept.
    """

    __slots__ = ("index", "row", "_cond", "_reads", "_where", "_read_values")

    def __init__(self, index: int, row: Row, cond: Fn | None = _LAZY, reads: tuple[Read, ...] = _LAZY,
                 where: str | None = _LAZY) -> None:
        self.index = index
        self.row = row
        self._cond = cond
        self._reads = reads
        self._where = where
        self._read_values: Callable[[Env], tuple[Any, ...]] | None = None

    @property
    def cond(self) -> Fn | None:
        c = self._cond
        if c is _LAZY:
            when = self.row.when
            c = self._cond = compile_expr(when) if when is not None else None
        return c

    @property
    def reads(self) -> tuple[Read, ...]:
        r = self._reads
        if r is _LAZY:
            r = self._reads = reads_of(self.row.when)
        return r

    def read_values(self, env: Env) -> tuple[Any, ...]:
        """The values of :attr:`reads` in ``env``, in order (what the trace shows of this row)."""
        get = self._read_values
        if get is None:
            get = self._read_values = values_getter(self.reads)
        return get(env)

    @property
    def where(self) -> str | None:
        w = self._where
        if w is _LAZY:
            loc = self.row.prov.location
            w = self._where = str(loc) if loc else None
        return w

    def __repr__(self) -> str:
        return f"CRow({self.index}, {self.row.id!r})"


class IndexedRows(tuple[CRow, ...]):
    """The rows of a table together with an index that finds the candidates for an env (see
    :mod:`accountrules.compile.index`); still the plain tuple of rows for every other reader."""

    lookup: RowIndex

    def __new__(cls, rows: tuple[CRow, ...], lookup: RowIndex) -> IndexedRows:
        self = super().__new__(cls, rows)
        self.lookup = lookup
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (IndexedRows, (tuple(self), self.lookup))


class ScanRows(tuple[CRow, ...]):
    """The rows of a section that is scanned in order (not indexed), with their conditions gathered in
    one tuple on first use: a scan reads the tuple instead of a lazy property per row and call."""

    @cached_property
    def conds(self) -> tuple[Fn | None, ...]:
        return tuple(r.cond for r in self)

    @cached_property
    def guards(self) -> Guards | None:
        """The rows grouped by the text test they open with, when enough do (:mod:`accountrules.compile.guards`)."""
        return build_guards([r.row.when for r in self])

    def __reduce__(self) -> tuple[Any, ...]:
        return (ScanRows, (tuple(self),))  # the closures are rebuilt, not pickled


def indexed(rows: tuple[Row, ...], min_rows: int = MIN_ROWS, calls: list[Call] | None = None) -> tuple[CRow, ...]:
    """The compiled ``rows``, as :class:`IndexedRows` when enough of them test one value, else as
    :class:`ScanRows`. The calls of their conditions, in order, are appended to ``calls`` when given:
    read from the index's one pass over the conditions, which finds the rows that hold none."""
    tests = row_tests([r.when for r in rows])
    if calls is not None:
        calls += _calls_of(tests.others)
    lookup = index_of(tests, min_rows)
    crows = _rows(rows)
    return ScanRows(crows) if lookup is None else IndexedRows(crows, lookup)


@dataclass(frozen=True, slots=True)
class CTable:
    section: str  # 'segment:<name>', 'tier', 'churn'
    output_key: str  # env key the output is written to
    table: Table
    rows: tuple[CRow, ...]
    rank: dict[str, int]  # value -> priority position

    @property
    def hit(self) -> str:
        return self.table.hit


@dataclass(frozen=True, slots=True)
class CStages:
    rows: tuple[CRow, ...]
    by_source: dict[str, tuple[int, ...]]  # state -> transition indices in order
    states: dict[str, Label]
    start: str
    otherwise: str
    # state -> the transitions out of it, as the rows a step scans (their conditions gathered once)
    from_state: dict[str, ScanRows]


@dataclass(frozen=True, slots=True)
class CMetric:
    name: str
    fn: Fn


@dataclass(frozen=True, slots=True)
class Plan:
    spec: PolicySpec
    metrics: tuple[CMetric, ...]
    segments: tuple[CTable, ...]
    tiers: CTable | None
    stages: CStages | None
    churn: CTable | None
    churn_score: Fn | None
    churn_score_reads: tuple[Read, ...]
    action_rules: tuple[CRow, ...]
    catalog: dict[str, ActionDef]
    portfolio_args: tuple[tuple[str, Fn], ...]  # canonical key -> per-account value
    id_ranked: frozenset[str]  # the keys of portfolio_args ranked with ties broken by account id
    local_metrics: tuple[CMetric, ...]  # metrics that need no portfolio (portfolio arguments may read them)
    extra_fields: dict[str, str]
    # what every decision of this plan shares, made on first use: the dressing's frozen outcome models
    # (one per row and code, not one per decision) and what :meth:`once` derives; bounded by the
    # policy's rows, never by its accounts
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def uses_portfolio(self) -> bool:
        return bool(self.portfolio_args)

    def once(self, build: Callable[[Plan], _T]) -> _T:
        """``build(self)``, made on first use and kept for every later call, decision and thread of this
        plan (two threads may both build it: one result is kept, and the two are equal)."""
        found: _T | None = self.shared.get(build)
        if found is None:
            found = self.shared.setdefault(build, build(self))
        return found


def read_keys(plan: Plan) -> frozenset[str]:
    """The env keys the policy's expressions read (fields and extras), plus ``id`` and the stage.

    The compiled evaluator only looks these up, so a batch and ``decide(dict)`` build envs of
    these keys alone; a Decision does not depend on any other key.
    """
    return plan.once(_read_keys)  # walked once per plan, not once per chunk


def _read_keys(plan: Plan) -> frozenset[str]:
    spec = plan.spec
    exprs = [m.expr for m in spec.metrics]
    for t in [*spec.segments.values(), spec.tiers, spec.churn]:
        if t is not None:
            exprs.extend(r.when for r in t.rows if r.when is not None)
            if t.score is not None:
                exprs.append(t.score)
    if spec.stages is not None:
        exprs.extend(r.when for r in spec.stages.transitions if r.when is not None)
    if spec.actions is not None:
        exprs.extend(r.when for r in spec.actions.rules if r.when is not None)
    keys = {"id", "relationship.stage"}
    for e in exprs:
        for node in walk(e):
            if isinstance(node, Ref) and node.kind == "field":
                keys.add(node.key)
    return frozenset(keys)


def reads_of(e: Expr | None) -> tuple[Read, ...]:
    if e is None:
        return ()
    seen: dict[str, Read] = {}
    for node in walk(e):
        if isinstance(node, Ref) and node.kind != "as_of" and node.key not in seen:
            seen[node.key] = Read(node.key, compile_expr(node))
        elif isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
            text = unparse(node)
            if text not in seen:
                seen[text] = Read(text, compile_expr(node))
    return tuple(seen.values())


def values_getter(reads: tuple[Read, ...]) -> Callable[[Env], tuple[Any, ...]]:
    """One callable giving the values of ``reads`` as a tuple: a single C-level ``itemgetter`` when
    every read is a plain name (a field, metric or output), as most are."""
    if not reads:
        return lambda env: ()
    if all(type(r.fn) is operator.itemgetter for r in reads):
        get = operator.itemgetter(*(r.name for r in reads))  # a plain read's name is its env key
        if len(reads) == 1:
            return lambda env: (get(env),)
        return get
    fns = tuple(r.fn for r in reads)
    return lambda env: tuple([f(env) for f in fns])


def _rows(rows: tuple[Row, ...]) -> tuple[CRow, ...]:
    return tuple(map(CRow, range(len(rows)), rows))


def _table(section: str, key: str, t: Table, calls: list[Call]) -> CTable:
    """The compiled table; the calls of its conditions, then of its score, are appended to ``calls``."""
    table = CTable(section, key, t, indexed(t.rows, calls=calls), {v: i for i, v in enumerate(t.values)})
    if t.score is not None:
        calls += _calls_of([t.score])
    return table


_LEAVES = (Ref, Literal)


def _calls_of(exprs: Iterable[Expr]) -> list[Call]:
    """Every call of ``exprs``, in order (a plain comparison holds none)."""
    # a plain comparison is ``name <op> name-or-constant``: tested inline, once per expression
    leaves = _LEAVES
    return [node for e in exprs
            if not (type(e) is Binary and type(e.left) in leaves and type(e.right) in leaves)
            for node in walk(e) if isinstance(node, Call)]


def _portfolio_args(calls: list[Call]) -> tuple[tuple[str, Fn], ...]:
    args: dict[str, Fn] = {}
    for node in calls:
        if node.func in PORTFOLIO_FUNCTIONS:
            key = unparse(node.args[0])
            if key not in args:
                args[key] = compile_expr(node.args[0])
    return tuple(args.items())


def _id_ranked(calls: list[Call]) -> frozenset[str]:
    return frozenset(unparse(node.args[0]) for node in calls if ranks_by_id(node))


def _local_metrics(spec: PolicySpec, metrics: tuple[CMetric, ...]) -> tuple[CMetric, ...]:
    portfolio: set[str] = set()
    for m in spec.metrics:
        if uses_portfolio(m.expr, frozenset(portfolio)):
            portfolio.add(m.name)
    return tuple(m for m in metrics if m.name not in portfolio)


def _tests_per_decision(rows: tuple[CRow, ...], first_only: bool) -> int:
    """The most row conditions one decision may test in a section: its largest candidate list when its
    rows are found by lookup (a first-hit-only index serves first-hit lookups only), else every row."""
    if not isinstance(rows, IndexedRows) or (rows.lookup.first_only and not first_only):
        return len(rows)
    lookup = rows.lookup
    lists = lookup.codes.values() if lookup.kind == "string" else lookup.slots
    # a value of an unexpected type makes the lookup answer "scan every row"; validation keeps such
    # values out of fields, so the bound is the largest candidate list
    return max([len(lookup.unindexed), *map(len, lists)])


def check_decision_cost(plan: Plan, limits: LoadLimits) -> None:
    """Refuse a plan whose decisions may test more rows than ``limits.max_rows_per_decision``."""
    # as the driver matches them: tables first-hit when their hit policy is, every action rule
    sections: list[tuple[str, tuple[CRow, ...], bool, SourceLocation]] = [
        (t.section, t.rows, t.hit == "first", t.table.location)
        for t in (*plan.segments, plan.tiers, plan.churn) if t is not None]
    if plan.spec.actions is not None:
        sections.append(("actions", plan.action_rules, False, plan.spec.actions.location))
    costs = [(_tests_per_decision(rows, first), name, loc) for name, rows, first, loc in sections]
    if plan.stages is not None and plan.spec.stages is not None:  # a step tests the transitions out of one stage
        most = max(map(len, plan.stages.by_source.values()), default=0)
        costs.append((most, "stages", plan.spec.stages.location))
    total = sum(c for c, _, _ in costs)
    if total > limits.max_rows_per_decision:
        cost, name, loc = max(costs, key=lambda c: c[0])
        raise PolicyLimitError(
            f"a decision may test {total:,} row conditions ({name}: {cost:,}); at most "
            f"{limits.max_rows_per_decision:,} are allowed (LoadLimits.max_rows_per_decision)", loc,
            "make the long table's rows test one field with constants (ranges, codes) so its rows are looked "
            "up, split it, or raise the limit: load_policy(..., limits=LoadLimits(max_rows_per_decision=...))")


def compile_policy(spec: PolicySpec, limits: LoadLimits | None = None) -> Plan:
    """The plan of a checked spec; raises :class:`PolicyLimitError` past ``limits`` (default: the defaults)."""
    plan = _compile(spec)
    check_decision_cost(plan, limits if limits is not None else DEFAULT_LIMITS)
    return plan


def _compile(spec: PolicySpec) -> Plan:
    # every call of the policy's expressions, in the order of check.policy_check.all_expressions: gathered
    # section by section as the sections are compiled (metrics, tables with their scores, stages, actions)
    calls = _calls_of([m.expr for m in spec.metrics])
    segments = tuple(_table("segment:" + n, "segments." + n, t, calls) for n, t in spec.segments.items())
    tiers = _table("tier", "tier", spec.tiers, calls) if spec.tiers else None
    churn = _table("churn", "churn.kind", spec.churn, calls) if spec.churn else None
    stages = None
    if spec.stages is not None:
        rows = _rows(spec.stages.transitions)
        by_source: dict[str, list[int]] = {s: [] for s in spec.stages.states}
        for r in rows:
            for src in r.row.sources:
                by_source.setdefault(src, []).append(r.index)
        stages = CStages(rows, {k: tuple(v) for k, v in by_source.items()}, spec.stages.states,
                         spec.stages.start, spec.stages.otherwise,
                         {k: ScanRows(rows[i] for i in v) for k, v in by_source.items() if v})
        calls += _calls_of([r.when for r in spec.stages.transitions if r.when is not None])
    action_rules = indexed(spec.actions.rules, calls=calls) if spec.actions else ()
    score = spec.churn.score if spec.churn else None
    metrics = tuple(CMetric(m.name, compile_expr(m.expr)) for m in spec.metrics)
    return Plan(
        spec=spec,
        metrics=metrics,
        segments=segments,
        tiers=tiers,
        stages=stages,
        churn=churn,
        churn_score=compile_expr(score) if score is not None else None,
        churn_score_reads=reads_of(score),
        action_rules=action_rules,
        catalog=dict(spec.actions.catalog) if spec.actions else {},
        portfolio_args=_portfolio_args(calls),
        id_ranked=_id_ranked(calls),
        local_metrics=_local_metrics(spec, metrics),
        extra_fields=dict(spec.fields),
    )
