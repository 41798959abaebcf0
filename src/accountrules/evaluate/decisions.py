"""Dressing: turn the raw outcome of one decision into a pydantic :class:`Decision`.

Every evaluator hands over the same raw record (what each section decided and which
rows fired); this module is the one place that turns it into the public model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from accountrules.compile.closures import Env
from accountrules.compile.plan import CRow, Plan, Read
from accountrules.model.decision import (
    NO_ACTIONS,
    NO_TRACE,
    ActionItem,
    Actions,
    ChurnOutcome,
    Decision,
    JsonScalar,
    Label,
    Outcome,
    PolicyRef,
    StageOutcome,
    Trace,
    TraceEntry,
)
from accountrules.model.enums import LABELS, ChurnKind, Priority, RiskLevel, Stage
from accountrules.model.fields import FIELDS
from accountrules.parse.expr_ast import PORTFOLIO_FUNCTIONS, Call, Ref, unparse, walk


class RawOutcome(Protocol):
    """What an evaluator decided for one account (``driver.Raw``), before it is dressed."""

    @property
    def env(self) -> Env: ...
    @property
    def segments(self) -> Mapping[str, str | None]: ...
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
    def actions(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def action_rows(self) -> Sequence[CRow]: ...
    @property
    def decided(self) -> Mapping[str, CRow | None]: ...
    def rules(self) -> dict[str, str | None]: ...


_PLAIN = frozenset({type(None), bool, int, float, str})
# enum members by value: a dict lookup is several times cheaper than calling the enum class
_STAGE = {m.value: m for m in Stage}
_KIND = {m.value: m for m in ChurnKind}
_RISK = {m.value: m for m in RiskLevel}
_PRIORITY = {m.value: m for m in Priority}
# one immutable Label per vocabulary code, shared by every decision instead of a copy each
_LABELS = {code: Label(zh=entry["zh"], en=entry["en"]) for code, entry in LABELS.items()}


def json_scalar(v: Any) -> JsonScalar:
    if type(v) in _PLAIN:
        return v  # type: ignore[no-any-return]
    if isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _label(code: str) -> Label:
    label = _LABELS.get(code)
    return label if label is not None else Label(zh=code, en=code)


_M = TypeVar("_M", bound=BaseModel)


def _builder(cls: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """``cls.model_construct`` without its per-call overhead: every field given, nothing validated.

    This is the hot path of every decision (model_construct costs ~20 us a model). Callers
    pass every field in declaration order; the JSON round-trip tests compare with validated
    models. All of a class's models share one fields-set: every field is always set, the
    models are frozen, and pydantic copies the set before it changes one (``model_copy``).
    """
    fields_set = set(cls.model_fields)
    new = cls.__new__
    # the slots' own setters, called directly rather than through object.__setattr__ (one of the twelfth
    # round's dressing changes, measured together: docs/performance-history.md)
    set_dict, set_fields, set_extra, set_private = (
        _slot(cls, name).__set__
        for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))

    def build(values: dict[str, Any]) -> _M:
        m = new(cls)
        set_dict(m, values)
        set_fields(m, fields_set)
        set_extra(m, None)
        set_private(m, None)
        return m

    return build


def _slot(cls: type, name: str) -> Any:
    """The descriptor Python's attribute lookup finds for ``name`` on an instance of ``cls``."""
    return next(k.__dict__[name] for k in cls.__mro__ if name in k.__dict__)


_outcome = _builder(Outcome)
_stage_outcome = _builder(StageOutcome)
_churn_outcome = _builder(ChurnOutcome)
_action_item = _builder(ActionItem)
_trace_entry = _builder(TraceEntry)
_decision = _builder(Decision)


# the codes a decision's sections decided: tier, churn kind, segments by name, the stage it goes to
_Codes = tuple[str | None, str | None, Mapping[str, str | None], str | None]

# a ranked value a metric's definition ranks: its key, its place in plan.portfolio_args, and the
# description and seed ids of what it is
Basis = tuple[str, int, Label | None, tuple[str, ...]]


def basis_of(plan: Plan) -> dict[str, tuple[Basis, ...]]:
    """For each metric that ranks accounts, the values it ranks: read from the policy once per plan,
    not walked again for every trace built."""
    return plan.once(_bases)


def _bases(plan: Plan) -> dict[str, tuple[Basis, ...]]:
    # the last of repeated keys wins, as a dict of plan.portfolio_args would have it
    at = {key: i for i, (key, _) in enumerate(plan.portfolio_args)}
    metrics = {m.name: m for m in plan.spec.metrics}
    out: dict[str, tuple[Basis, ...]] = {}
    for name, m in metrics.items():
        found: list[Basis] = []
        for call in (n for n in walk(m.expr) if isinstance(n, Call) and n.func in PORTFOLIO_FUNCTIONS):
            arg = call.args[0]
            key = unparse(arg)
            if key not in at:
                continue
            basis = metrics.get(key) if isinstance(arg, Ref) else None
            description: Label | None = None
            seed: tuple[str, ...] = ()
            if basis is not None:
                description = basis.prov.description or basis.label
                seed = basis.prov.seed
            elif isinstance(arg, Ref) and key in FIELDS and FIELDS[key].description:
                text = FIELDS[key].description
                description = Label(zh=text, en=text)
            found.append((key, at[key], description, seed))
        if found:
            out[name] = tuple(found)
    return out


class FiredTrace:
    """A trace kept as the rows that fired and the values they read, built into models on demand.

    The values are read when the decision is made (the env is not kept); the rest (ids,
    descriptions, seeds, locations) is the plan's, shared by every decision. What decided each
    section is kept as the raw gave it (the sections, the row that decided each, and the codes
    decided), not as one record per section: the records are made when the trace is built, not by
    every decision (``benchmarks/ab.py --input decide``: docs/performance-history.md, fourteenth round).
    """

    __slots__ = ("_sections", "_rows", "_codes", "_actions", "_values", "_score_reads", "_plan", "_ranked")

    def __init__(self, sections: tuple[str, ...], rows: tuple[CRow | None, ...], codes: _Codes,
                 actions: Sequence[CRow], values: tuple[Any, ...], score_reads: tuple[Read, ...] | None,
                 plan: Plan | None = None, ranked: tuple[Any, ...] = ()) -> None:
        # the sections in the order decided, and the row that decided each (None: its default); two tuples,
        # not one of pairs: the cyclic collector stops tracking the tuple of sections after its first pass,
        # where it walked every pair of every Decision a caller held at each of its passes
        self._sections = sections
        self._rows = rows
        self._codes = codes
        self._actions = actions  # the action rules that fired, in order
        self._values = values  # read values of each fired row in order, then the churn score and its reads
        self._score_reads = score_reads
        self._plan = plan
        self._ranked = ranked  # the value of each of plan.portfolio_args (what the ranks rank)

    @classmethod
    def of(cls, plan: Plan, raw: RawOutcome) -> FiredTrace:
        env = raw.env
        rows = tuple(raw.decided.values())
        actions = raw.action_rows
        values: list[Any] = []
        for row in rows:
            if row is not None:
                values.extend(row.read_values(env))
        for row in actions:
            values.extend(row.read_values(env))
        score_reads = None
        if plan.churn_score is not None:
            score_reads = plan.churn_score_reads
            values.append(raw.churn_score)
            values.extend(r.fn(env) for r in score_reads)
        # a rank (0.976) says nothing without the value it ranks (20.0): keep those values too
        ranked = tuple(fn(env) for _, fn in plan.portfolio_args)
        codes = (raw.tier, raw.churn_kind, raw.segments, raw.stage_to)
        return cls(tuple(raw.decided), rows, codes, actions, tuple(values), score_reads, plan, ranked)

    def _basis_entries(self, read_names: Sequence[str]) -> list[TraceEntry]:
        """One ``metric`` entry per rank among ``read_names``: the ranked value and its definition."""
        plan = self._plan
        if plan is None or not plan.portfolio_args:
            return []
        ranked = self._ranked
        bases = basis_of(plan)
        out = []
        for name in read_names:
            for key, at, description, seed in bases.get(name, ()):
                out.append(_trace_entry({
                    "section": "metric", "rule": key, "output": name, "note": "computed",
                    "description": description, "seed": seed, "inputs": {key: json_scalar(ranked[at])},
                    "location": None}))
        return out

    def build(self) -> tuple[TraceEntry, ...]:
        values = iter(self._values)
        tier, churn_kind, segments, stage_to = self._codes
        entries = []
        for section, row in zip(self._sections, self._rows, strict=True):
            output = stage_to if section == "stage" else tier if section == "tier" else \
                churn_kind if section == "churn" else segments[section[8:]]  # 'segment:<name>'
            if row is None:
                note = "stay" if section == "stage" else "default"  # no transition fired; no row matched
                entries.append(_trace_entry({
                    "section": section, "rule": f"({note})", "output": output, "note": note,
                    "description": None, "seed": (), "inputs": {}, "location": None}))
                continue
            entries.extend(self._matched(section, row, output, values))
        for row in self._actions:
            entries.extend(self._matched("actions", row, None, values))
        if self._score_reads is not None:
            inputs = {"churn.score": json_scalar(next(values))}
            inputs.update((r.name, json_scalar(next(values))) for r in self._score_reads)
            entries.append(_trace_entry({
                "section": "churn", "rule": "(score)", "output": None, "note": "computed", "description": None,
                "seed": (), "inputs": inputs, "location": None}))
        return tuple(entries)

    def _matched(self, section: str, row: CRow, output: str | None, values: Iterator[Any]) -> list[TraceEntry]:
        """The entry of a row that fired (the values it read taken from ``values``), then its ranks' bases."""
        prov = row.row.prov
        entry = _trace_entry({
            "section": section, "rule": row.row.id, "output": output, "note": "matched",
            "description": prov.description, "seed": prov.seed,
            "inputs": {r.name: json_scalar(next(values)) for r in row.reads}, "location": row.where})
        return [entry, *self._basis_entries([r.name for r in row.reads])]


class _ActionSource:
    """A decision's actions kept as the codes and reasons that fired, built into models on demand."""

    __slots__ = ("_plan", "_fired", "_account_id", "_as_of")

    def __init__(self, plan: Plan, fired: Mapping[str, tuple[str, ...]], account_id: str, as_of: dt.date) -> None:
        self._plan = plan
        self._fired = fired  # code -> ids of the rules that prescribed it, in prescription order
        self._account_id = account_id
        self._as_of = as_of

    def codes(self) -> list[str]:
        return list(self._fired)

    def build(self) -> tuple[ActionItem, ...]:
        catalog = self._plan.catalog
        as_of = self._as_of
        prefix = self._account_id + ":"
        suffix = ":" + self._plan.spec.version
        dues: dict[int, dt.date] = {}  # actions due the same day share one date
        out = []
        for code, reasons in self._fired.items():
            a = catalog[code]
            days = a.due_days
            due = dues.get(days)
            if due is None:
                due = dues[days] = as_of + dt.timedelta(days=days)
            out.append(_action_item({
                "code": code, "title": a.title, "owner": a.owner, "priority": _PRIORITY[a.priority], "due": due,
                "key": f"{prefix}{code}{suffix}", "reasons": reasons}))
        return tuple(out)


def _shared_outcome(shared: dict[Any, Any], section: str, code: str, labels: Mapping[str, Label],
                    row: CRow | None) -> Outcome:
    """The outcome of ``section`` for ``code`` decided by ``row`` (None: the default): one frozen model per
    plan, not per decision, kept under the row itself (a row decides one section, for its own code)."""
    key: Any = row if row is not None else (section, code)
    found: Outcome | None = shared.get(key)
    if found is None:
        rule = None if row is None else row.row.id
        # two threads may both build it; setdefault keeps one, and the two are equal anyway
        found = shared.setdefault(key, _outcome({"code": code, "label": labels[code], "rule": rule}))
    return found


def to_decision(plan: Plan, raw: RawOutcome, account_id: str, as_of: dt.date, policy: PolicyRef,
                trace: bool = True) -> Decision:
    # Every value here comes from a checked policy and a validated account, so the models are
    # constructed without re-validation; the JSON round-trip tests keep this honest.
    env = raw.env
    spec = plan.spec
    decided = raw.decided
    shared = plan.shared
    tier = None
    if raw.tier is not None and spec.tiers is not None:
        tier = _shared_outcome(shared, "tier", raw.tier, spec.tiers.values, decided.get("tier"))
    segments = {}
    # the plan's sections are asked before the raw's attributes, here and below: asking the raw first took
    # 1.03 of a tier-table decide()'s CPU time (ab.py; docs/performance-history.md, thirteenth round)
    for name, code in raw.segments.items() if plan.segments else ():
        if code is not None:
            segments[name] = _shared_outcome(shared, "segment:" + name, code, spec.segments[name].values,
                                             decided.get("segment:" + name))
    stage = None
    if plan.stages is not None and raw.stage_to is not None:
        key = ("stage", raw.stage_from, raw.stage_to, raw.transition)
        stage = shared.get(key)
        if stage is None:
            stage = shared.setdefault(key, _stage_outcome({
                "from_": _STAGE[raw.stage_from] if raw.stage_from else None, "to": _STAGE[raw.stage_to],
                "label": plan.stages.states[raw.stage_to], "transition": raw.transition}))
    churn = None
    if plan.churn is not None and raw.churn_kind is not None and raw.churn_risk is not None:
        score = raw.churn_score
        churn = _churn_outcome({"kind": _KIND[raw.churn_kind], "risk": _RISK[raw.churn_risk],
                                "label": _label(raw.churn_kind), "score": None if score is None else float(score),
                                "rule": None if (row := decided.get("churn")) is None else row.row.id})
    actions = Actions(source=_ActionSource(plan, raw.actions, account_id, as_of)) if (
        plan.action_rules and raw.actions) else NO_ACTIONS
    metrics = {}
    for m in plan.metrics:
        v = env[m.name]
        metrics[m.name] = v if type(v) in _PLAIN else json_scalar(v)
    return _decision({"account_id": account_id, "as_of": as_of, "policy": policy, "tier": tier,
                      "segments": segments, "stage": stage, "churn": churn, "actions": actions,
                      "metrics": metrics, "trace": Trace(source=FiredTrace.of(plan, raw)) if trace else NO_TRACE})
