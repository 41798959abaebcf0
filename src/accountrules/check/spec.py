"""The validated shape of a policy: what the YAML says, with a location for every part.

Expressions here are parsed; :mod:`accountrules.check.policy_check` resolves and
type-checks them in place (returning new specs), so a spec is never half-checked
when it reaches the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accountrules.errors import SourceLocation
from accountrules.model.decision import Label
from accountrules.parse.expr_ast import Expr, Scalar


@dataclass(frozen=True, slots=True, init=False)
class Provenance:
    description: Label | None = None
    seed: tuple[str, ...] = ()
    location: SourceLocation | None = None

    def __init__(self, description: Label | None = None, seed: tuple[str, ...] = (),
                 location: SourceLocation | None = None) -> None:
        # one per row of every table: the slots are written through their descriptors (the frozen
        # dataclass's __init__ goes through object.__setattr__ per field, several times the cost)
        _SET_PROV_DESCRIPTION(self, description)
        _SET_PROV_SEED(self, seed)
        _SET_PROV_LOCATION(self, location)


@dataclass(frozen=True, slots=True, init=False)
class Row:
    """A row of a decision table, a stage transition, or an action rule."""

    id: str
    when: Expr | None
    prov: Provenance
    then: str | None = None  # table output / transition target
    risk: str | None = None  # churn rows
    sources: tuple[str, ...] = ()  # transition `from` states ('*' expanded)
    actions: tuple[str, ...] = ()  # action rules

    def __init__(self, id: str, when: Expr | None, prov: Provenance, then: str | None = None,
                 risk: str | None = None, sources: tuple[str, ...] = (), actions: tuple[str, ...] = ()) -> None:
        # made twice per row of every table (read, then checked): written as Provenance's are
        _SET_ROW_ID(self, id)
        _SET_ROW_WHEN(self, when)
        _SET_ROW_PROV(self, prov)
        _SET_ROW_THEN(self, then)
        _SET_ROW_RISK(self, risk)
        _SET_ROW_SOURCES(self, sources)
        _SET_ROW_ACTIONS(self, actions)

    def with_when(self, when: Expr | None) -> Row:
        """This row with its condition replaced (as ``dataclasses.replace``, at a fraction of the cost:
        the checker does it once per row of every table)."""
        return Row(self.id, when, self.prov, self.then, self.risk, self.sources, self.actions)


_SET_PROV_DESCRIPTION, _SET_PROV_SEED, _SET_PROV_LOCATION = (
    getattr(Provenance, n).__set__ for n in ("description", "seed", "location"))
_SET_ROW_ID, _SET_ROW_WHEN, _SET_ROW_PROV, _SET_ROW_THEN, _SET_ROW_RISK, _SET_ROW_SOURCES, _SET_ROW_ACTIONS = (
    getattr(Row, n).__set__ for n in ("id", "when", "prov", "then", "risk", "sources", "actions"))


@dataclass(frozen=True)
class Table:
    name: str  # 'tier', 'churn' or the segment name
    hit: str
    values: dict[str, Label]
    rows: tuple[Row, ...]
    location: SourceLocation
    default: str | None = None
    default_risk: str | None = None
    label: Label | None = None
    score: Expr | None = None  # churn only


@dataclass(frozen=True)
class Stages:
    states: dict[str, Label]
    start: str
    otherwise: str  # 'stay' or a state
    transitions: tuple[Row, ...]
    location: SourceLocation
    start_location: SourceLocation | None = None
    otherwise_location: SourceLocation | None = None


@dataclass(frozen=True)
class ActionDef:
    code: str
    title: Label
    owner: str
    priority: str
    due_days: int
    prov: Provenance


@dataclass(frozen=True)
class Actions:
    catalog: dict[str, ActionDef]
    rules: tuple[Row, ...]
    location: SourceLocation


@dataclass(frozen=True)
class Metric:
    name: str
    expr: Expr
    label: Label | None
    prov: Provenance


@dataclass(frozen=True)
class Monotonic:
    field: str
    direction: str  # increasing | decreasing
    output: str  # tier | segments.<name> | churn.risk
    location: SourceLocation


@dataclass(frozen=True)
class LintAllow:
    """A lint finding the policy owner accepts (``lint: allow:``), with the reason shown in reports."""

    code: str
    reason: str
    location: SourceLocation
    rule: str | None = None  # only findings involving this rule; None = every finding of the code
    rule_location: SourceLocation | None = None  # where ``rule`` is written
    inherited: bool = False  # from the base policy (``extends:``), which was checked against its own rules


@dataclass(frozen=True)
class PolicySpec:
    name: str
    version: str
    label: Label
    description: Label | None
    params: dict[str, Scalar]
    fields: dict[str, str]  # extra field name -> type
    metrics: tuple[Metric, ...]
    segments: dict[str, Table]
    tiers: Table | None
    stages: Stages | None
    churn: Table | None
    actions: Actions | None
    monotonic: tuple[Monotonic, ...]
    root: str
    sources: tuple[str, ...] = ()  # files read, in order, for the content hash
    content_hash: str = ""
    locations: dict[str, SourceLocation] = field(default_factory=dict)  # 'params.x' -> where
    lint_allow: tuple[LintAllow, ...] = ()
    # 'params.x' and metric names written in the policy whose definition was refused with an error
    refused: frozenset[str] = frozenset()
