"""The compiled form of a checked policy: closures per row, grouped by section.

A ``Plan`` is immutable and shared by every evaluator and every thread; the
per-decision state lives only in the ``env`` dict each decision builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accountrules.check.expr_check import uses_portfolio
from accountrules.check.policy_check import all_expressions
from accountrules.check.spec import ActionDef, PolicySpec, Row, Table
from accountrules.compile.closures import Fn, compile_expr
from accountrules.compile.index import MIN_ROWS, RowIndex, build_index
from accountrules.model.decision import Label
from accountrules.parse.expr_ast import PORTFOLIO_FUNCTIONS, Call, Expr, Ref, ranks_by_id, unparse, walk


@dataclass(frozen=True, slots=True)
class Read:
    """A value a condition reads, shown in the trace: a field, metric, output or portfolio rank."""

    name: str
    fn: Fn


@dataclass(frozen=True, slots=True)
class CRow:
    index: int
    row: Row
    cond: Fn | None  # None = always
    reads: tuple[Read, ...]
    where: str | None = None  # "file:line:col", rendered once for every trace entry


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


def indexed(rows: tuple[CRow, ...], min_rows: int = MIN_ROWS) -> tuple[CRow, ...]:
    """``rows``, as :class:`IndexedRows` when enough of them test one value."""
    lookup = build_index([r.row.when for r in rows], min_rows)
    return rows if lookup is None else IndexedRows(rows, lookup)


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

    @property
    def uses_portfolio(self) -> bool:
        return bool(self.portfolio_args)


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


def _rows(rows: tuple[Row, ...]) -> tuple[CRow, ...]:
    return tuple(
        CRow(i, r, compile_expr(r.when) if r.when is not None else None, reads_of(r.when),
             str(r.prov.location) if r.prov.location else None)
        for i, r in enumerate(rows)
    )


def _table(section: str, key: str, t: Table) -> CTable:
    return CTable(section, key, t, indexed(_rows(t.rows)), {v: i for i, v in enumerate(t.values)})


def _portfolio_args(spec: PolicySpec) -> tuple[tuple[str, Fn], ...]:
    args: dict[str, Fn] = {}
    for e in all_expressions(spec):
        for node in walk(e):
            if isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
                key = unparse(node.args[0])
                if key not in args:
                    args[key] = compile_expr(node.args[0])
    return tuple(args.items())


def _id_ranked(spec: PolicySpec) -> frozenset[str]:
    return frozenset(unparse(node.args[0]) for e in all_expressions(spec) for node in walk(e)
                     if isinstance(node, Call) and ranks_by_id(node))


def _local_metrics(spec: PolicySpec, metrics: tuple[CMetric, ...]) -> tuple[CMetric, ...]:
    portfolio: set[str] = set()
    for m in spec.metrics:
        if uses_portfolio(m.expr, frozenset(portfolio)):
            portfolio.add(m.name)
    return tuple(m for m in metrics if m.name not in portfolio)


def compile_policy(spec: PolicySpec) -> Plan:
    stages = None
    if spec.stages is not None:
        rows = _rows(spec.stages.transitions)
        by_source: dict[str, list[int]] = {s: [] for s in spec.stages.states}
        for r in rows:
            for src in r.row.sources:
                by_source.setdefault(src, []).append(r.index)
        stages = CStages(rows, {k: tuple(v) for k, v in by_source.items()}, spec.stages.states,
                         spec.stages.start, spec.stages.otherwise)
    churn = _table("churn", "churn.kind", spec.churn) if spec.churn else None
    score = spec.churn.score if spec.churn else None
    metrics = tuple(CMetric(m.name, compile_expr(m.expr)) for m in spec.metrics)
    return Plan(
        spec=spec,
        metrics=metrics,
        segments=tuple(_table("segment:" + n, "segments." + n, t) for n, t in spec.segments.items()),
        tiers=_table("tier", "tier", spec.tiers) if spec.tiers else None,
        stages=stages,
        churn=churn,
        churn_score=compile_expr(score) if score is not None else None,
        churn_score_reads=reads_of(score),
        action_rules=indexed(_rows(spec.actions.rules)) if spec.actions else (),
        catalog=dict(spec.actions.catalog) if spec.actions else {},
        portfolio_args=_portfolio_args(spec),
        id_ranked=_id_ranked(spec),
        local_metrics=_local_metrics(spec, metrics),
        extra_fields=dict(spec.fields),
    )
