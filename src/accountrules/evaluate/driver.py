"""Decide one account: section order over a Matcher (the dressing is :mod:`accountrules.evaluate.decisions`).

An evaluator only answers "which rows of this section match this env?" (a
:class:`Matcher`); what the matches mean (hit policies, stage steps, churn risk, action
merging) is :mod:`accountrules.evaluate.semantics`, shared with the vector evaluator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from accountrules.compile.closures import PORTFOLIO_KEY, Env, Fn
from accountrules.compile.plan import CMetric, CRow, CTable, IndexedRows, Plan, ScanRows
from accountrules.errors import DecisionError
from accountrules.evaluate.decisions import json_scalar, to_decision
from accountrules.evaluate.portfolio import NO_PORTFOLIO, PortfolioStats
from accountrules.evaluate.semantics import churn_risk, merge_actions, resolve, stage_current, stage_stay
from accountrules.i18n import N_, Message

__all__ = [
    "COMPILED", "CompiledMatcher", "Matcher", "Raw", "json_scalar", "run", "to_decision", "written_keys",
]



class Matcher(Protocol):
    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        """Indices (in ``rows`` order) of the rows whose condition is true for ``env``."""
        ...


_NOTHING: Mapping[str, Any] = MappingProxyType({})


class Raw:
    """The outcome of one decision before it is dressed as a pydantic Decision.

    A plain class, not a dataclass: what a section does not decide stays the class's default, so
    a policy of one table sets three attributes a decision, not eleven. ``segments`` and ``actions``
    are assigned, never changed in place (their defaults are read-only and shared). What fired is
    kept as the row that decided each section and the action rules that fired; the trace is made of
    them when it is asked for, not for every decision.
    """

    segments: Mapping[str, str | None] = _NOTHING
    tier: str | None = None
    stage_from: str | None = None
    stage_to: str | None = None
    transition: str | None = None
    churn_kind: str | None = None
    churn_risk: str | None = None
    churn_score: float | None = None
    actions: Mapping[str, tuple[str, ...]] = _NOTHING  # code -> rule ids
    action_rows: Sequence[CRow] = ()  # the action rules that fired, in order

    def __init__(self, env: Env) -> None:
        self.env = env
        # the row that decided each section, "stage" included (None: its default, or stay), in the
        # order the sections were decided
        self.decided: dict[str, CRow | None] = {}

    def rules(self) -> dict[str, str | None]:
        """The id of the row that decided each table section (None where its default applied)."""
        return {section: None if row is None else row.row.id for section, row in self.decided.items()
                if section != "stage"}


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
        if plan.segments:
            segments = raw.segments = {}
            for t in plan.segments:
                current = t.section
                segments[t.section[8:]] = _table(raw, t, env, matcher, account_id)
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
            raw.churn_risk = env["churn.risk"] = churn_risk(plan.churn, raw.decided["churn"])
        if plan.action_rules:
            current = "actions"
            fired = [plan.action_rules[i] for i in matcher.match("actions", plan.action_rules, env, False)]
            raw.action_rows = fired
            raw.actions = merge_actions(fired)
    except (TypeError, ValueError, ArithmeticError) as e:
        # a value of the wrong type that slipped past validation (e.g. an untyped extra field)
        part: str = current if metric is None else Message(N_("metric {name}"), name=metric.name)
        # the exception's own text is Python's, in English
        raise DecisionError(Message(N_("cannot evaluate {part}: {error}"), part=part, error=str(e)), account_id) from e
    return raw


def written_keys(plan: Plan) -> tuple[str, ...]:
    """The env keys :func:`run` writes for ``plan``: an env that holds them before it starts is not
    grown (and its table copied) while it decides."""
    keys = ["as_of", PORTFOLIO_KEY, *(m.name for m in plan.metrics), *(t.output_key for t in plan.segments)]
    if plan.tiers is not None:
        keys.append(plan.tiers.output_key)
    if plan.stages is not None:
        keys.append("stage")
    if plan.churn is not None:
        keys += ["churn.score"] if plan.churn_score is not None else []
        keys += [plan.churn.output_key, "churn.risk"]
    return tuple(keys)


def _table(raw: Raw, t: CTable, env: Env, matcher: Matcher, account_id: str) -> str | None:
    matched = matcher.match(t.section, t.rows, env, t.table.hit == "first")  # the field, not the property
    row, out = resolve(t, matched, account_id)
    env[t.output_key] = out
    raw.decided[t.section] = row
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
    else:
        raw.stage_to = stage_stay(st, current)
    raw.decided["stage"] = chosen
    env["stage"] = raw.stage_to


class CompiledMatcher:
    """Evaluates the compiled closures directly (the default evaluator)."""

    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        if type(rows) is ScanRows:  # the usual section: asked first
            # a scanned section's conditions are one tuple; of the rows that open on a text test
            # (``tier == 'gold' and ...``) only those the env's value lets through are evaluated
            guards = rows.guards
            if guards is not None:
                return _match_guarded(rows.conds, guards.candidates(env), env, first_only)
            conds: Iterable[Fn | None] = rows.conds
        else:
            if isinstance(rows, IndexedRows) and (first_only or not rows.lookup.first_only):
                found = rows.lookup.candidates(env)
                if found is not None:
                    return _match_candidates(rows, found, rows.lookup.exact, env, first_only)
            # a large indexed table scanned (its index could not answer) builds its closures as reached
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
