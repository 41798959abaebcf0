"""Decide one account: section order over a Matcher, then the dressing of a Decision.

An evaluator only answers "which rows of this section match this env?" (a
:class:`Matcher`); what the matches mean (hit policies, stage steps, churn risk, action
merging) is :mod:`accountrules.evaluate.semantics`, shared with the vector evaluator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from accountrules.compile.closures import PORTFOLIO_KEY, Env
from accountrules.compile.plan import CRow, CTable, IndexedRows, Plan, Read
from accountrules.errors import DecisionError
from accountrules.evaluate.portfolio import NO_PORTFOLIO, PortfolioStats
from accountrules.evaluate.semantics import churn_risk, merge_actions, resolve, stage_current, stage_stay
from accountrules.model.decision import (
    ActionItem,
    ChurnOutcome,
    Decision,
    JsonScalar,
    Label,
    Outcome,
    PolicyRef,
    StageOutcome,
    TraceEntry,
)
from accountrules.model.enums import LABELS, ChurnKind, Priority, RiskLevel, Stage

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
            # the churn row _table just recorded, or None for the default
            raw.churn_risk = env["churn.risk"] = churn_risk(plan.churn, raw.fired[-1].row)
        if plan.action_rules:
            current = "actions"
            fired = [plan.action_rules[i] for i in matcher.match("actions", plan.action_rules, env, False)]
            raw.fired.extend(Fired("actions", r, None) for r in fired)
            raw.actions = merge_actions(fired)
    except (TypeError, ValueError, ArithmeticError) as e:
        # a value of the wrong type that slipped past validation (e.g. an untyped extra field)
        raise DecisionError(f"cannot evaluate {current}: {e}", account_id) from e
    return raw


def _table(raw: Raw, t: CTable, env: Env, matcher: Matcher, account_id: str) -> str | None:
    matched = matcher.match(t.section, t.rows, env, t.hit == "first")
    row, out = resolve(t, matched, account_id)
    env[t.output_key] = out
    raw.fired.append(Fired(t.section, row, out, "matched" if row is not None else "default"))
    return out


def _stage(raw: Raw, plan: Plan, env: Env, matcher: Matcher) -> None:
    st = plan.stages
    assert st is not None
    given = env.get("relationship.stage")
    current = stage_current(st, given)
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
        raw.stage_to = stage_stay(st, current)
        raw.fired.append(Fired("stage", None, raw.stage_to, "stay"))
    env["stage"] = raw.stage_to


# -- dressing -------------------------------------------------------------------------------------


_PLAIN = frozenset({type(None), bool, int, float, str})
# enum members by value: a dict lookup is several times cheaper than calling the enum class
_STAGE = {m.value: m for m in Stage}
_KIND = {m.value: m for m in ChurnKind}
_RISK = {m.value: m for m in RiskLevel}
_PRIORITY = {m.value: m for m in Priority}


def json_scalar(v: Any) -> JsonScalar:
    if type(v) in _PLAIN:
        return v  # type: ignore[no-any-return]
    if isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _inputs(reads: tuple[Read, ...], env: Env) -> dict[str, JsonScalar]:
    return {r.name: json_scalar(r.fn(env)) for r in reads}


def _label(code: str) -> Label:
    entry = LABELS.get(code)
    return Label(zh=entry["zh"], en=entry["en"]) if entry else Label(zh=code, en=code)


_M = TypeVar("_M", bound=BaseModel)
_set = object.__setattr__


def _build(cls: type[_M], **values: Any) -> _M:
    """``cls.model_construct`` without its per-call overhead: every field given, nothing validated.

    This is the hot path of every decision; model_construct costs ~20 us a model. Callers pass
    every field in declaration order (the round-trip tests compare with validated models).
    """
    m = cls.__new__(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(values))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


def to_decision(plan: Plan, raw: Raw, account_id: str, as_of: dt.date, policy: PolicyRef,
                trace: bool = True) -> Decision:
    # Every value here comes from a checked policy and a validated account, so the models are
    # constructed without re-validation; the JSON round-trip tests keep this honest.
    env = raw.env
    spec = plan.spec
    rules = raw.rules()
    tier = None
    if raw.tier is not None and spec.tiers is not None:
        tier = _build(Outcome, code=raw.tier, label=spec.tiers.values[raw.tier], rule=rules.get("tier"))
    segments = {
        name: _build(Outcome, code=code, label=spec.segments[name].values[code], rule=rules.get("segment:" + name))
        for name, code in raw.segments.items() if code is not None
    }
    stage = None
    if raw.stage_to is not None and plan.stages is not None:
        stage = _build(StageOutcome, from_=_STAGE[raw.stage_from] if raw.stage_from else None,
                       to=_STAGE[raw.stage_to], label=plan.stages.states[raw.stage_to], transition=raw.transition)
    churn = None
    if raw.churn_kind is not None and raw.churn_risk is not None:
        churn = _build(ChurnOutcome, kind=_KIND[raw.churn_kind], risk=_RISK[raw.churn_risk],
                       label=_label(raw.churn_kind), score=_float(raw.churn_score), rule=rules.get("churn"))
    actions = []
    for code, reasons in raw.actions.items():
        a = plan.catalog[code]
        actions.append(_build(ActionItem, code=code, title=a.title, owner=a.owner, priority=_PRIORITY[a.priority],
                              due=as_of + dt.timedelta(days=a.due_days), key=f"{account_id}:{code}:{spec.version}",
                              reasons=tuple(reasons)))
    entries: list[TraceEntry] = []
    if trace:
        for f in raw.fired:
            row = f.row
            if row is None:
                entries.append(_build(TraceEntry, section=f.section,
                                      rule="(default)" if f.note == "default" else "(stay)", output=f.output,
                                      note=f.note, description=None, seed=(), inputs={}, location=None))
                continue
            prov = row.row.prov
            entries.append(_build(TraceEntry, section=f.section, rule=row.row.id, output=f.output, note="matched",
                                  description=prov.description, seed=prov.seed, inputs=_inputs(row.reads, env),
                                  location=row.where))
        if plan.churn_score is not None:
            entries.append(_build(TraceEntry, section="churn", rule="(score)", output=None, note="computed",
                                  description=None, seed=(),
                                  inputs={"churn.score": json_scalar(raw.churn_score),
                                          **_inputs(plan.churn_score_reads, env)},
                                  location=None))
    return _build(Decision, account_id=account_id, as_of=as_of, policy=policy, tier=tier, segments=segments,
                  stage=stage, churn=churn, actions=tuple(actions),
                  metrics={m.name: json_scalar(env[m.name]) for m in plan.metrics}, trace=tuple(entries))


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


class CompiledMatcher:
    """Evaluates the compiled closures directly (the default evaluator)."""

    def match(self, section: str, rows: Sequence[CRow], env: Env, first_only: bool) -> list[int]:
        if isinstance(rows, IndexedRows) and (first_only or not rows.lookup.first_only):
            found = rows.lookup.candidates(env)
            if found is not None:
                return _match_candidates(rows, found, rows.lookup.exact, env, first_only)
        if first_only:
            for i, r in enumerate(rows):
                cond = r.cond
                if cond is None or cond(env) is True:
                    return [i]
            return []
        return [i for i, r in enumerate(rows) if r.cond is None or r.cond(env) is True]


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
