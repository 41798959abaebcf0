"""One semantics for every evaluator: section order, hit policies, stage steps, action merging.

An evaluator only answers "which rows of this section match this env?" (a
:class:`Matcher`); everything that turns matches into a Decision lives here, once,
so the compiled and the durable evaluator cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from accountrules.compile.closures import PORTFOLIO_KEY, Env
from accountrules.compile.plan import CRow, CTable, Plan
from accountrules.errors import DecisionError
from accountrules.evaluate.decisions import json_scalar, to_decision
from accountrules.evaluate.portfolio import NO_PORTFOLIO, PortfolioStats
from accountrules.model.enums import Priority

__all__ = ["COMPILED", "CompiledMatcher", "Fired", "Matcher", "Raw", "json_scalar", "run", "to_decision"]

_PRIORITY_ORDER = {p.value: i for i, p in enumerate(Priority)}


class Matcher(Protocol):
    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        """Indices (in ``rows`` order) of the rows whose condition is true for ``env``."""
        ...


@dataclass(slots=True)
class Fired:
    section: str
    row: CRow | None  # None: default / stay / computed
    output: str | None
    note: str = "matched"


@dataclass(slots=True)
class Raw:
    """The outcome of one decision before it is dressed as a pydantic Decision."""

    env: Env
    segments: dict[str, str | None] = field(default_factory=dict)
    tier: str | None = None
    stage_from: str | None = None
    stage_to: str | None = None
    transition: str | None = None
    churn_kind: str | None = None
    churn_risk: str | None = None
    churn_score: float | None = None
    actions: dict[str, list[str]] = field(default_factory=dict)  # code -> rule ids
    fired: list[Fired] = field(default_factory=list)

    def rules(self) -> dict[str, str | None]:
        """The id of the row that decided each table section (None where its default applied)."""
        out: dict[str, str | None] = {}
        for f in self.fired:
            if f.section not in out:
                out[f.section] = f.row.row.id if f.row is not None else None
        return out


def _resolve(table: CTable, matched: list[int], account_id: str) -> tuple[CRow | None, str | None]:
    rows = table.rows
    if not matched:
        return None, table.table.default
    hit = table.hit
    if hit == "first":
        r = rows[matched[0]]
        return r, r.row.then
    if hit == "unique":
        if len(matched) > 1:
            ids = [rows[i].row.id for i in matched]
            raise DecisionError(f"{table.section} is 'unique' but rows {', '.join(ids)} all match",
                                account_id, ids)
        r = rows[matched[0]]
        return r, r.row.then
    if hit == "any":
        outs = {rows[i].row.then for i in matched}
        if len(outs) > 1:
            ids = [rows[i].row.id for i in matched]
            raise DecisionError(f"{table.section} is 'any' but matching rows disagree ({', '.join(ids)})",
                                account_id, ids)
        r = rows[matched[0]]
        return r, r.row.then
    # priority: the matching row whose output comes first in `values`
    best = min(matched, key=lambda i: (table.rank.get(rows[i].row.then or "", 1 << 30), i))
    return rows[best], rows[best].row.then


def run(plan: Plan, env: Env, matcher: Matcher, account_id: str, as_of: dt.date,
        portfolio: PortfolioStats | None) -> Raw:
    """Decide one account whose flat ``env`` holds its fields; ``env`` gains every intermediate value."""
    env["as_of"] = as_of
    env[PORTFOLIO_KEY] = portfolio if portfolio is not None else NO_PORTFOLIO
    raw = Raw(env)
    current = ""
    try:
        for m in plan.metrics:
            current = f"metric {m.name}"
            env[m.name] = m.fn(env)
        for t in plan.segments:
            current = t.section
            raw.segments[t.section[8:]] = _table(raw, t, env, matcher, account_id)
        if plan.tiers is not None:
            current = "tier"
            raw.tier = _table(raw, plan.tiers, env, matcher, account_id)
        if plan.stages is not None:
            current = "stage"
            _stage(raw, plan, env, matcher)
        if plan.churn is not None:
            current = "churn"
            if plan.churn_score is not None:
                raw.churn_score = env["churn.score"] = plan.churn_score(env)
            raw.churn_kind = _table(raw, plan.churn, env, matcher, account_id)
            decided = raw.fired[-1].row  # the churn row _table just recorded, or None for the default
            raw.churn_risk = env["churn.risk"] = (
                decided.row.risk if decided is not None else plan.churn.table.default_risk)
        if plan.action_rules:
            current = "actions"
            for i in matcher.match("actions", plan.action_rules, env, False):
                r = plan.action_rules[i]
                raw.fired.append(Fired("actions", r, None))
                for code in r.row.actions:
                    raw.actions.setdefault(code, []).append(r.row.id)
    except (TypeError, ValueError, ArithmeticError) as e:
        # a value of the wrong type that slipped past validation (e.g. an untyped extra field)
        raise DecisionError(f"cannot evaluate {current}: {e}", account_id) from e
    return raw


def _table(raw: Raw, t: CTable, env: Env, matcher: Matcher, account_id: str) -> str | None:
    matched = matcher.match(t.section, t.rows, env, t.hit == "first")
    row, out = _resolve(t, matched, account_id)
    env[t.output_key] = out
    raw.fired.append(Fired(t.section, row, out, "matched" if row is not None else "default"))
    return out


def _stage(raw: Raw, plan: Plan, env: Env, matcher: Matcher) -> None:
    st = plan.stages
    assert st is not None
    given = env.get("relationship.stage")
    current = given if given in st.states else st.start
    candidates = st.by_source.get(current, ())
    chosen: CRow | None = None
    if candidates:
        rows = [st.rows[i] for i in candidates]
        matched = matcher.match("stage", rows, env, True)
        if matched:
            chosen = rows[matched[0]]
    raw.stage_from = given
    if chosen is not None:
        raw.stage_to = chosen.row.then
        raw.transition = chosen.row.id
        raw.fired.append(Fired("stage", chosen, raw.stage_to))
    else:
        raw.stage_to = current if st.otherwise == "stay" else st.otherwise
        raw.fired.append(Fired("stage", None, raw.stage_to, "stay"))
    env["stage"] = raw.stage_to


class CompiledMatcher:
    """Evaluates the compiled closures directly (the default evaluator)."""

    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        if first_only:
            for i, r in enumerate(rows):
                cond = r.cond
                if cond is None or cond(env) is True:
                    return [i]
            return []
        return [i for i, r in enumerate(rows) if r.cond is None or r.cond(env) is True]


COMPILED = CompiledMatcher()
