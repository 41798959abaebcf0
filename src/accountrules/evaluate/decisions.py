"""Dressing: turn the raw outcome of one decision into a pydantic :class:`Decision`.

Every evaluator hands over the same raw record (what each section decided and which
rows fired); this module is the one place that turns it into the public model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from accountrules.compile.closures import Env
from accountrules.compile.plan import CRow, Plan, Read
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


class FiredRow(Protocol):
    """One row (or default / stay / computed value) that decided a section."""

    @property
    def section(self) -> str: ...
    @property
    def row(self) -> CRow | None: ...
    @property
    def output(self) -> str | None: ...
    @property
    def note(self) -> str: ...


class RawOutcome(Protocol):
    """What an evaluator decided for one account (``driver.Raw``), before it is dressed."""

    @property
    def env(self) -> Env: ...
    @property
    def segments(self) -> dict[str, str | None]: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def stage_from(self) -> str | None: ...
    @property
    def stage_to(self) -> str | None: ...
    @property
    def transition(self) -> str | None: ...
    @property
    def churn_kind(self) -> str | None: ...
    @property
    def churn_risk(self) -> str | None: ...
    @property
    def churn_score(self) -> float | None: ...
    @property
    def actions(self) -> dict[str, list[str]]: ...
    @property
    def fired(self) -> Sequence[FiredRow]: ...
    def rules(self) -> dict[str, str | None]: ...


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


def to_decision(plan: Plan, raw: RawOutcome, account_id: str, as_of: dt.date, policy: PolicyRef,
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
