"""A policy compiled for the vector evaluator: column functions per row, output codes per table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from accountrules.check.policy_check import all_expressions
from accountrules.compile.plan import CRow, CTable, IndexedRows, Plan
from accountrules.evaluate.column_index import ColumnIndex
from accountrules.evaluate.semantics import priority_order
from accountrules.evaluate.vector.expressions import _Compiler, _value_type
from accountrules.evaluate.vector.values import IntArr, Op, _Site

if TYPE_CHECKING:
    from accountrules.policy import Policy
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Call,
    Expr,
    Ref,
    unparse,
    walk,
)


@dataclass(frozen=True, slots=True)
class _VTable:
    table: CTable
    section: str
    out_key: str
    hit: str
    conds: tuple[Op | None, ...]
    ids: tuple[str, ...]
    then: IntArr  # output code per row (-1: none)
    default: int
    order: tuple[int, ...] | None  # priority: rows by (rank of output, index)
    risk: IntArr | None  # churn: risk code per row
    default_risk: int
    index: ColumnIndex | None  # first-hit tables whose rows test one value


@dataclass(frozen=True, slots=True)
class _VStages:
    conds: tuple[Op | None, ...]
    ids: tuple[str, ...]
    then: IntArr
    sources: tuple[tuple[int, ...], ...]  # state codes each transition leaves from
    states: tuple[int, ...]
    start: int
    otherwise: int  # -1: stay


@dataclass(frozen=True, slots=True)
class VectorProgram:
    plan: Plan
    vocab: dict[str, int]  # literals and every output value; copied and extended per call
    field_refs: dict[str, str]  # field key -> kind it is read as
    metrics: tuple[tuple[str, Op, str], ...]
    local_metrics: tuple[tuple[str, Op], ...]
    portfolio_args: tuple[tuple[str, Op], ...]
    sites: tuple[_Site, ...]
    segments: tuple[tuple[str, _VTable], ...]
    tiers: _VTable | None
    stages: _VStages | None
    churn: _VTable | None
    churn_score: Op | None
    action_ids: tuple[str, ...]
    action_conds: tuple[Op | None, ...]


def _all_exprs(plan: Plan) -> list[Expr]:
    return all_expressions(plan.spec)


def compile_program(plan: Plan) -> VectorProgram:
    """The vector form of ``plan``: compile once, hold it, pass it to every batch of that policy."""
    vocab: dict[str, int] = {}
    comp = _Compiler(vocab)
    spec = plan.spec

    field_refs: dict[str, str] = {}
    port_args: dict[str, Op] = {}
    for e in _all_exprs(plan):
        for node in walk(e):
            if isinstance(node, Ref) and node.kind == "field":
                field_refs[node.key] = "string" if node.type.name == "enum" else node.type.name
            if isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
                key = unparse(node.args[0])
                if key not in port_args:
                    port_args[key] = comp.expr(node.args[0])
    if plan.stages is not None:
        field_refs.setdefault("relationship.stage", "string")

    metrics = tuple((m.name, comp.expr(m.expr), _value_type(m.expr)) for m in spec.metrics)
    local_names = {m.name for m in plan.local_metrics}
    local = tuple((name, op) for name, op, _ in metrics if name in local_names)

    def rows_ops(rows: Sequence[CRow]) -> tuple[Op | None, ...]:
        return tuple(comp.expr(r.row.when) if r.row.when is not None else None for r in rows)

    def table(t: CTable) -> _VTable:
        tab = t.table
        for v in tab.values:
            comp.code(v)
        then = np.array([comp.code(r.row.then) if r.row.then is not None else -1 for r in t.rows], dtype=np.int64)
        order = tuple(priority_order(t)) if tab.hit == "priority" else None
        risk = None
        if t.section == "churn":
            risk = np.array([comp.code(r.row.risk) if r.row.risk is not None else -1 for r in t.rows],
                            dtype=np.int64)
        return _VTable(
            table=t, section=t.section, out_key=t.output_key, hit=tab.hit, conds=rows_ops(t.rows),
            ids=tuple(r.row.id for r in t.rows), then=then,
            default=comp.code(tab.default) if tab.default is not None else -1, order=order, risk=risk,
            default_risk=comp.code(tab.default_risk) if tab.default_risk is not None else -1,
            index=ColumnIndex(t.rows.lookup) if tab.hit == "first" and isinstance(t.rows, IndexedRows) else None,
        )

    segments = tuple((t.section[len("segment:"):], table(t)) for t in plan.segments)
    tiers = table(plan.tiers) if plan.tiers is not None else None
    stages = None
    if plan.stages is not None:
        st = plan.stages
        for s in st.states:
            comp.code(s)
        stages = _VStages(
            conds=rows_ops(st.rows), ids=tuple(r.row.id for r in st.rows),
            then=np.array([comp.code(r.row.then or "") for r in st.rows], dtype=np.int64),
            sources=tuple(tuple(comp.code(s) for s in r.row.sources) for r in st.rows),
            states=tuple(comp.code(s) for s in st.states), start=comp.code(st.start),
            otherwise=-1 if st.otherwise == "stay" else comp.code(st.otherwise),
        )
    churn = table(plan.churn) if plan.churn is not None else None
    score = spec.churn.score if spec.churn is not None else None
    return VectorProgram(
        plan=plan, vocab=vocab, field_refs=field_refs, metrics=metrics, local_metrics=local,
        portfolio_args=tuple(port_args.items()), sites=tuple(comp.sites), segments=segments, tiers=tiers,
        stages=stages, churn=churn,
        churn_score=comp.expr(score) if score is not None else None,
        action_ids=tuple(r.row.id for r in plan.action_rules), action_conds=rows_ops(plan.action_rules),
    )


def _held(policy: Policy | Plan, program: VectorProgram | None) -> VectorProgram:
    """The caller's compiled program for ``policy``, or a new one."""
    plan = policy if isinstance(policy, Plan) else policy.plan
    if program is None:
        return compile_program(plan)
    if program.plan is not plan:
        raise ValueError("this VectorProgram was compiled for another policy")
    return program
