"""A decision as the evaluator that made it recorded it, turned back into a :class:`Raw` without matching.

A batch keeps, per row, the flat outputs every evaluator writes (codes, and the id of the
row that decided each section) plus the ids of the action rules that fired. That is all
the trace needs: :meth:`RecordReader.raw` rebuilds the :class:`Raw` the per-account driver
would have produced — the same fired rows in the same order, and an env holding the values
the trace shows (the account's fields, its metrics, the section outputs, the portfolio
ranks) — so ``to_decision`` dresses it exactly as it dresses a decision made one account at a
time. No condition is evaluated again: which rows matched comes from the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from accountrules.compile.closures import PORTFOLIO_KEY, Env
from accountrules.compile.plan import CRow, CTable, Plan
from accountrules.evaluate.driver import Raw
from accountrules.evaluate.portfolio import NO_PORTFOLIO, PortfolioStats
from accountrules.evaluate.semantics import merge_actions

__all__ = ["ACTION_RULES", "RecordReader"]

ACTION_RULES = "action_rules"
"""The record column (beside the flat outputs) naming the action rules that fired, in rule order."""


def _by_id(rows: Sequence[CRow]) -> dict[str, CRow]:
    return {r.row.id: r for r in rows}


class RecordReader:
    """Rebuilds the Raw of one recorded row of a batch decided against ``plan``."""

    __slots__ = ("_actions", "_plan", "_stages", "_tables")

    def __init__(self, plan: Plan):
        self._plan = plan
        tables = [*plan.segments, *(t for t in (plan.tiers, plan.churn) if t is not None)]
        self._tables: dict[str, dict[str, CRow]] = {t.section: _by_id(t.rows) for t in tables}
        self._stages = _by_id(plan.stages.rows) if plan.stages is not None else {}
        self._actions = _by_id(plan.action_rules)

    def raw(self, env: Env, out: Mapping[str, Any], as_of: dt.date, portfolio: PortfolioStats | None) -> Raw:
        """``env``: the validated input of the row (it gains every intermediate value); ``out``: its
        recorded outputs (``tier``, ``tier_rule``, ..., and :data:`ACTION_RULES`)."""
        plan = self._plan
        env["as_of"] = as_of
        env[PORTFOLIO_KEY] = portfolio if portfolio is not None else NO_PORTFOLIO
        for m in plan.metrics:  # values, not rules: the trace and the Decision show them
            env[m.name] = m.fn(env)
        raw = Raw(env)
        if plan.segments:
            segments = raw.segments = {}
            for t in plan.segments:
                name = t.section[len("segment:"):]
                segments[name] = self._table(raw, t, out[f"segment.{name}"], out[f"segment.{name}_rule"])
        if plan.tiers is not None:
            raw.tier = self._table(raw, plan.tiers, out["tier"], out["tier_rule"])
        if plan.stages is not None:
            raw.stage_from = env.get("relationship.stage")
            raw.stage_to = env["stage"] = out["stage"]
            raw.transition = out["stage_transition"]
            raw.decided["stage"] = self._stages[raw.transition] if raw.transition is not None else None
        if plan.churn is not None:
            if plan.churn_score is not None:
                raw.churn_score = env["churn.score"] = plan.churn_score(env)
            raw.churn_kind = self._table(raw, plan.churn, out["churn_kind"], out["churn_rule"])
            raw.churn_risk = env["churn.risk"] = out["churn_risk"]
        if plan.action_rules:
            fired = [self._actions[i] for i in out[ACTION_RULES]]
            raw.action_rows = fired
            raw.actions = merge_actions(fired)
        return raw

    def _table(self, raw: Raw, t: CTable, code: str | None, rule: str | None) -> str | None:
        row = self._tables[t.section][rule] if rule is not None else None
        raw.env[t.output_key] = code
        raw.decided[t.section] = row
        return code
