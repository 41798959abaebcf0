"""Decide one account: section order over a Matcher (the dressing is :mod:`accountrules.evaluate.decisions`).

An evaluator only answers "which rows of this section match this env?" (a
:class:`Matcher`); what the matches mean (hit policies, stage steps, churn risk, action
merging) is :mod:`accountrules.evaluate.semantics`, shared with the vector evaluator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from accountrules.compile.closures import PORTFOLIO_KEY, Env, Fn
from accountrules.compile.plan import CMetric, CRow, CTable, IndexedRows, Plan, ScanRows
from accountrules.errors import DecisionError
from accountrules.evaluate.decisions import json_scalar, to_decision
from accountrules.evaluate.portfolio import NO_PORTFOLIO, PortfolioStats
from accountrules.evaluate.semantics import churn_risk, merge_actions, resolve, stage_current, stage_stay
from accountrules.i18n import N_, Message

__all__ = ["COMPILED", "CompiledMatcher", "Fired", "Matcher", "Raw", "json_scalar", "run", "to_decision"]



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


def run(plan: Plan, env: Env, matcher: Matcher, account_id: str, as_of: dt.date,
        portfolio: PortfolioStats | None) -> Raw:
    """Decide one account whose flat ``env`` holds its fields; ``env`` gains every intermediate value."""
    env["as_of"] = as_of
    env[PORTFOLIO_KEY] = portfolio if portfolio is not None else NO_PORTFOLIO
    raw = Raw(env)
    current = ""
    # the failing metric names itself only when one fails: no message is formatted per metric and call
    metric: CMetric | None = None
    try:
        for metric in plan.metrics:
            env[metric.name] = metric.fn(env)
        metric = None
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
            # the churn row _table just recorded, or None for the default
            raw.churn_risk = env["churn.risk"] = churn_risk(plan.churn, raw.fired[-1].row)
        if plan.action_rules:
            current = "actions"
            fired = [plan.action_rules[i] for i in matcher.match("actions", plan.action_rules, env, False)]
            raw.fired.extend(Fired("actions", r, None) for r in fired)
            raw.actions = merge_actions(fired)
    except (TypeError, ValueError, ArithmeticError) as e:
        # a value of the wrong type that slipped past validation (e.g. an untyped extra field)
        part: str = current if metric is None else Message(N_("metric {name}"), name=metric.name)
        # the exception's own text is Python's, in English
        raise DecisionError(Message(N_("cannot evaluate {part}: {error}"), part=part, error=str(e)), account_id) from e
    return raw


def _table(raw: Raw, t: CTable, env: Env, matcher: Matcher, account_id: str) -> str | None:
    matched = matcher.match(t.section, t.rows, env, t.table.hit == "first")  # the field, not the property
    row, out = resolve(t, matched, account_id)
    env[t.output_key] = out
    raw.fired.append(Fired(t.section, row, out, "matched" if row is not None else "default"))
    return out


def _stage(raw: Raw, plan: Plan, env: Env, matcher: Matcher) -> None:
    st = plan.stages
    assert st is not None
    given = env.get("relationship.stage")
    current = stage_current(st, given)
    rows = st.from_state.get(current)
    chosen: CRow | None = None
    if rows is not None:
        matched = matcher.match("stage", rows, env, True)
        if matched:
            chosen = rows[matched[0]]
    raw.stage_from = given
    if chosen is not None:
        raw.stage_to = chosen.row.then
        raw.transition = chosen.row.id
        raw.fired.append(Fired("stage", chosen, raw.stage_to))
    else:
        raw.stage_to = stage_stay(st, current)
        raw.fired.append(Fired("stage", None, raw.stage_to, "stay"))
    env["stage"] = raw.stage_to


class CompiledMatcher:
    """Evaluates the compiled closures directly (the default evaluator)."""

    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        if isinstance(rows, IndexedRows) and (first_only or not rows.lookup.first_only):
            found = rows.lookup.candidates(env)
            if found is not None:
                return _match_candidates(rows, found, rows.lookup.exact, env, first_only)
        if type(rows) is ScanRows:
            # a scanned section's conditions are one tuple; of the rows that open on a text test
            # (``tier == 'gold' and ...``) only those the env's value lets through are evaluated
            guards = rows.guards
            if guards is not None:
                return _match_guarded(rows.conds, guards.candidates(env), env, first_only)
            conds: Iterable[Fn | None] = rows.conds
        else:  # a large indexed table scanned (its index could not answer) builds its closures as reached
            conds = (r.cond for r in rows)
        if first_only:
            for i, c in enumerate(conds):
                if c is None or c(env) is True:
                    return [i]
            return []
        return [i for i, c in enumerate(conds) if c is None or c(env) is True]


def _match_guarded(conds: tuple[Fn | None, ...], found: list[int], env: Env, first_only: bool) -> list[int]:
    """The rows among the guards' candidates (ascending) whose condition is true."""
    if first_only:
        for i in found:
            c = conds[i]
            if c is None or c(env) is True:
                return [i]
        return []
    return [i for i in found if (c := conds[i]) is None or c(env) is True]


def _match_candidates(rows: Sequence[CRow], found: tuple[int, ...], exact: frozenset[int], env: Env,
                      first_only: bool) -> list[int]:
    """The rows among the index's candidates whose condition is true (an exact row was true to be found)."""
    out: list[int] = []
    for i in found:
        if i not in exact:
            cond = rows[i].cond
            if cond is not None and cond(env) is not True:
                continue
        if first_only:
            return [i]
        out.append(i)
    return out


COMPILED = CompiledMatcher()
