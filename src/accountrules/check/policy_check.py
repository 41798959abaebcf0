"""Semantic checks of a PolicySpec: references between sections, and typed expressions.

Returns a spec whose every expression is resolved (names -> Ref) and type-checked.
Each section sees only what is decided before it: metrics -> segments -> tiers ->
stages -> churn -> actions.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence

from accountrules.check.expr_check import ConditionChecker, ExprChecker, FollowOnError, Scope, uses_portfolio
from accountrules.check.spec import Actions, Metric, PolicySpec, Row, Stages, Table
from accountrules.errors import (
    PolicyError,
    PolicyReferenceError,
    PolicySchemaError,
    PolicyTypeError,
    SourceLocation,
    did_you_mean,
    raise_collected,
)
from accountrules.i18n import N_, Message
from accountrules.model.enums import ChurnKind, RiskLevel, Stage
from accountrules.model.fields import FIELDS, GROUPS
from accountrules.parse.expr_ast import BOOL, NUMBER, Expr, Type

_RESERVED = GROUPS | {"params", "segments", "tier", "stage", "churn", "as_of", "extra", "rank", "and", "or",
                      "not", "in", "is", "null", "true", "false"}
_SIMPLE = {"number": NUMBER, "string": Type("string"), "bool": BOOL, "date": Type("date")}


def _enum(name: str, values: Iterable[str]) -> Type:
    return Type("enum", name, tuple(values))


def _hint(word: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return did_you_mean(close[0]) if close else None


class _Checker:
    def __init__(self, spec: PolicySpec):
        self.spec = spec
        self.errors: list[PolicyError] = []
        fields: dict[str, Type] = {}
        for path, f in FIELDS.items():
            fields[path] = _enum(f.enum or path, f.values) if f.type == "enum" else _SIMPLE[f.type]
        self.refused = spec.refused  # grows by the metrics that fail their check
        if spec.tiers is not None and not self.values_refused(spec.tiers):
            # previous_tier holds a tier code of this policy, so it compares with `tier`
            fields["relationship.previous_tier"] = self.tier_type()
        for name, t in spec.fields.items():
            fields["extra." + name] = _SIMPLE[t]
        self.fields = fields
        self.param_locations = {k[len("params."):]: loc for k, loc in spec.locations.items() if k.startswith("params.")}
        self.absent = _absent_outputs(spec)

    def values_refused(self, t: Table, code: str | None = None) -> bool:
        """Whether the reader refused ``t``'s values (or just ``code``) with an error: what names them is not
        reported again ("not one of its values", "(one of )")."""
        key = ("tiers" if t.name == "tier" else f"segments.{t.name}") + ".values"
        return key in self.refused or (code is not None and f"{key}.{code}" in self.refused)

    def tier_type(self) -> Type:
        assert self.spec.tiers is not None
        return _enum("tier", self.spec.tiers.values)

    def run_expr(self, scope: Scope, e: Expr | None, expect: Type | None, what: str) -> Expr | None:
        if e is None:
            return None
        try:
            resolved, _ = ExprChecker(scope).check(e, expect, what)
            return resolved
        except PolicyError as err:
            self.errors.append(err)
            return None

    def run_condition(self, conditions: ConditionChecker, e: Expr | None) -> Expr | None:
        """:meth:`run_expr` for a row's condition, checked by its section's ``conditions``."""
        if e is None:
            return None
        try:
            return conditions.check(e)
        except PolicyError as err:
            self.errors.append(err)
            return None

    # -- sections
    def metrics(self) -> tuple[tuple[Metric, ...], dict[str, Type], frozenset[str]]:
        types: dict[str, Type] = {}
        portfolio: set[str] = set()
        out = []
        for i, m in enumerate(self.spec.metrics):
            # a metric reads only those above it (computed in the order written), so this one and those below
            # are named as such rather than as unknown fields
            not_yet = {later.name: Message(N_("metrics are computed in the order written, and {name!r} is not "
                                              "computed before this one"), name=later.name)
                       for later in self.spec.metrics[i:]}
            loc = m.prov.location or m.expr.loc
            if m.name in _RESERVED or m.name in self.fields:
                self.errors.append(PolicySchemaError(Message(N_("metric name {name!r} is reserved"), name=m.name), loc))
                if m.name not in self.fields:  # a field of that name is what its uses read
                    self.refused |= {m.name}
                continue
            scope = Scope(self.fields, self.spec.params, dict(types), frozenset(portfolio),
                          later_outputs={**not_yet, **self.later("metrics")}, absent=self.absent,
                          param_locations=self.param_locations, refused=self.refused)
            try:
                resolved, t = ExprChecker(scope).check(m.expr, None, f"metric {m.name}")
            except PolicyError as err:
                self.errors.append(err)
                self.refused |= {m.name}
                continue
            types[m.name] = t
            if uses_portfolio(resolved, frozenset(portfolio)):
                portfolio.add(m.name)
            out.append(dataclasses.replace(m, expr=resolved))
        return tuple(out), types, frozenset(portfolio)

    def later(self, section: str) -> dict[str, str]:
        order = ["metrics", "segments", "tiers", "stages", "churn", "actions"]
        pos = order.index(section)
        out: dict[str, str] = {}
        if pos <= order.index("tiers"):
            out["tier"] = Message(N_("the tier is decided after segments and metrics"))
        if pos <= order.index("stages"):
            out["stage"] = Message(N_("the new stage is decided after the tier; read relationship.stage for the "
                                      "current one"))
        if pos <= order.index("churn"):
            for k in ("churn.kind", "churn.risk", "churn.score"):
                out[k] = Message(N_("churn is decided after stages")) if pos < order.index("churn") else \
                    Message(N_("churn rows can read churn.score only"))
        if pos == 0:
            for s in self.spec.segments:
                out["segments." + s] = Message(N_("segments are decided after metrics"))
        return out

    def table(self, t: Table, scope: Scope, what: str) -> Table:
        if not t.values and not self.values_refused(t):
            self.errors.append(PolicySchemaError(Message(N_("{what} declares no values"), what=what), t.location))
        rows = []
        conditions = ConditionChecker(scope, BOOL, Message(N_("a condition")))
        check, values, churn = conditions.check, t.values, t.name == "churn"
        for row in t.rows:
            then = row.then
            if then is None and not churn:
                self.errors.append(PolicySchemaError(Message(N_("row {id!r} of {what} needs 'then'"),
                                                             id=row.id, what=what), row.prov.location or t.location))
            elif then is not None and then not in values and not self.values_refused(t, then):
                self.errors.append(PolicyReferenceError(
                    Message(N_("row {id!r} of {what} gives {then!r}, which is not one of its values"),
                            id=row.id, what=what, then=then), row.prov.location or t.location,
                    _hint(then, values)))
            when = row.when
            if when is not None:  # run_condition() inlined: once a row of a long table
                try:
                    when = check(when)
                except PolicyError as err:
                    self.errors.append(err)
                    when = None
            rows.append(Row(row.id, when, row.prov, then, row.risk, row.sources, row.actions))
        if t.default is not None and t.default not in t.values and not self.values_refused(t, t.default):
            problem = Message(N_("default {default!r} of {what} is not one of its values"), default=t.default,
                              what=what)
            self.errors.append(PolicyReferenceError(problem,
                                                    t.location, _hint(t.default, t.values)))
        score = self.run_expr(scope, t.score, NUMBER, Message(N_("churn score"))) if t.score is not None else None
        return dataclasses.replace(t, rows=tuple(rows), score=score)

    def stages(self, s: Stages, scope: Scope) -> Stages:
        states = list(s.states)
        if s.start not in s.states:
            self.errors.append(PolicyReferenceError(Message(N_("start stage {s!r} is not one of the states"),
                                                            s=s.start),
                                                    s.start_location or s.location, _hint(s.start, states)))
        if s.otherwise != "stay" and s.otherwise not in s.states:
            self.errors.append(PolicyReferenceError(Message(N_("otherwise {otherwise!r} must be 'stay' or a state"),
                                                            otherwise=s.otherwise),
                                                    s.otherwise_location or s.location, _hint(s.otherwise, states)))
        out = []
        guards = ConditionChecker(scope, BOOL, Message(N_("a guard")))
        for tr in s.transitions:
            loc = tr.prov.location or s.location
            if tr.then not in s.states:
                self.errors.append(PolicyReferenceError(
                    Message(N_("transition {id!r} goes to unknown state {then!r}"),
                            id=tr.id, then=tr.then), loc, _hint(tr.then or "", states)))
            sources: list[str] = []
            for src in tr.sources:
                if src == "*":
                    sources.extend(x for x in states if x != tr.then)
                elif src not in s.states:
                    self.errors.append(PolicyReferenceError(
                        Message(N_("transition {id!r} comes from unknown state {src!r}"),
                                id=tr.id, src=src), loc, _hint(src, states)))
                else:
                    sources.append(src)
            when = self.run_condition(guards, tr.when)
            out.append(dataclasses.replace(tr, sources=tuple(dict.fromkeys(sources)), when=when))
        return dataclasses.replace(s, transitions=tuple(out))

    def actions(self, a: Actions, scope: Scope) -> Actions:
        out = []
        conditions = ConditionChecker(scope, BOOL, Message(N_("a condition")))
        for rule in a.rules:
            loc = rule.prov.location or a.location
            if not rule.actions:
                self.errors.append(PolicySchemaError(Message(N_("action rule {id!r} needs 'do' (a list of actions)"),
                                                             id=rule.id),
                                                     loc))
            for code in rule.actions:
                if code not in a.catalog and "actions." + code not in self.refused:
                    self.errors.append(PolicyReferenceError(
                        Message(N_("action rule {id!r} names unknown action {code!r}"),
                                id=rule.id, code=code), loc, _hint(code, a.catalog)))
            out.append(rule.with_when(self.run_condition(conditions, rule.when)))
        return dataclasses.replace(a, rules=tuple(out))


def check_policy(spec: PolicySpec, prior: Sequence[PolicyError] = ()) -> PolicySpec:
    """Resolve and type-check; ``prior`` are the reader's problems, raised together with ours."""
    c = _Checker(spec)
    c.errors.extend(prior)
    metrics, metric_types, portfolio_metrics = c.metrics()
    outputs: dict[str, Type] = {}

    def scope(section: str) -> Scope:
        return Scope(c.fields, spec.params, metric_types, portfolio_metrics, dict(outputs), c.later(section),
                     c.absent, c.param_locations, c.refused)

    segments: dict[str, Table] = {}
    for name, table in spec.segments.items():
        segments[name] = c.table(table, scope("segments"), f"segment {name}")
        if c.values_refused(table):  # its values' error is reported; what reads the segment is not
            c.refused |= {"segments." + name}
        else:
            outputs["segments." + name] = _enum("segment:" + name, table.values)
    tiers = None
    if spec.tiers is not None:
        tiers = c.table(spec.tiers, scope("tiers"), "tiers")
        if c.values_refused(spec.tiers):
            c.refused |= {"tier"}
        else:
            outputs["tier"] = c.tier_type()
    stages = None
    if spec.stages is not None:
        stages = c.stages(spec.stages, scope("stages"))
        outputs["stage"] = _enum("stage", [s.value for s in Stage])
    churn = None
    if spec.churn is not None:
        churn_scope = scope("churn")
        if spec.churn.score is not None:
            outputs["churn.score"] = NUMBER
            churn_scope = dataclasses.replace(
                churn_scope, outputs=dict(outputs),
                later_outputs={k: v for k, v in churn_scope.later_outputs.items() if k != "churn.score"})
        churn = c.table(spec.churn, churn_scope, "churn")
        outputs["churn.kind"] = _enum("churn_kind", [k.value for k in ChurnKind])
        outputs["churn.risk"] = _enum("risk", [k.value for k in RiskLevel])
    actions = c.actions(spec.actions, scope("actions")) if spec.actions is not None else None
    for m in spec.monotonic:
        if m.field not in c.fields or c.fields[m.field] != NUMBER:
            c.errors.append(PolicyTypeError(Message(N_("monotonic field {field!r} must be a number field"),
                                                    field=m.field), m.location,
                                            _hint(m.field, [k for k, v in c.fields.items() if v == NUMBER])))
        section = _SECTION_OF.get(m.output.split(".")[0])
        if section is not None and getattr(spec, section) is None:  # an ordered output, of a section not there
            c.errors.append(PolicyReferenceError(
                Message(N_("monotonic output {output!r}: the policy has no {section!r} section"), output=m.output,
                        section=section + ":"), m.location))
        elif m.output not in c.refused and (m.output not in outputs or outputs[m.output].name != "enum"):
            c.errors.append(PolicyReferenceError(Message(N_("monotonic output {output!r} must be an ordered output"),
                                                         output=m.output),
                                                 m.location, _hint(m.output, outputs)))
    _check_seeds_declared(c, spec)
    _check_allowed_rules(c, spec)
    raise_collected([e for e in c.errors if not isinstance(e, FollowOnError)])
    return dataclasses.replace(spec, metrics=metrics, segments=segments, tiers=tiers, stages=stages, churn=churn,
                               actions=actions)


def lint_rule_names(spec: PolicySpec) -> frozenset[str]:
    """Every name a lint finding may give a rule it involves (``RuleRef.rule`` of accountrules.analysis, a floor
    above; a test holds the two together): row, transition and action-rule ids, tables ('tiers', 'churn',
    'segments.abc') and their values ('tiers.values.gold'), stages, metrics, parameters and monotonic
    declarations ('credit.overdue_payments->tier')."""
    names: set[str] = {*spec.params, *(m.name for m in spec.metrics), *(s.value for s in Stage),
                       *(f"{m.field}->{m.output}" for m in spec.monotonic)}
    tables = [("segments." + k, t) for k, t in spec.segments.items()]
    tables += [(label, t) for label, t in (("tiers", spec.tiers), ("churn", spec.churn)) if t is not None]
    for label, t in tables:
        names |= {label, *(r.id for r in t.rows), *(f"{label}.values.{v}" for v in t.values)}
    if spec.stages is not None:
        names |= {*spec.stages.states, *(tr.id for tr in spec.stages.transitions)}
    if spec.actions is not None:
        names |= {r.id for r in spec.actions.rules}
    return frozenset(names)


def _check_allowed_rules(c: _Checker, spec: PolicySpec) -> None:
    """A lint allowance scoped to a rule the policy does not have (a typo, or a rule since renamed) would accept
    nothing, silently: the finding meant stays active and the reason is shown nowhere."""
    own = [a for a in spec.lint_allow if a.rule is not None and not a.inherited]
    if not own:
        return
    names = lint_rule_names(spec)
    for a in own:
        if a.rule not in names:
            assert a.rule is not None
            c.errors.append(PolicyReferenceError(
                Message(N_("lint allowance of {code} names {rule!r}, which is no rule of this policy"),
                        code=a.code, rule=a.rule), a.rule_location or a.location, _hint(a.rule, names)))


# the section an output of a decision comes from ("churn.kind" -> churn), as PolicySpec names it
_SECTION_OF = {"tier": "tiers", "stage": "stages", "churn": "churn"}


def _absent_outputs(spec: PolicySpec) -> dict[str, str]:
    """The outputs of sections ``spec`` does not define, each with why it cannot be read: the output exists only
    when its section does, so "unknown field" (as for a typo) would send the owner looking for the wrong thing."""
    out: dict[str, str] = {
        path: Message(N_("{path!r} cannot be read: the policy has no {section!r} section, and {path!r} exists only "
                         "when it is defined"), path=path, section=_SECTION_OF[path.split(".")[0]] + ":")
        for path in ("tier", "stage", "churn.kind", "churn.risk", "churn.score")
        if getattr(spec, _SECTION_OF[path.split(".")[0]]) is None}
    if spec.churn is not None and spec.churn.score is None:
        out["churn.score"] = Message(N_("'churn.score' cannot be read: the churn section defines no 'score:'"))
    return out


def _check_seeds_declared(c: _Checker, spec: PolicySpec) -> None:
    """Seed references are concept ids like T1 or R5: catch typos such as 'T-1' at load time."""
    pattern = re.compile(r"^[A-Z]{1,3}\d{1,3}$")
    sections: list[tuple[str, tuple[Row, ...]]] = [
        (t.name, t.rows) for t in [*spec.segments.values(), spec.tiers, spec.churn] if t is not None]
    if spec.stages:
        sections.append(("stages", spec.stages.transitions))
    if spec.actions:
        sections.append(("actions", spec.actions.rules))
    # most rows of a long table name no seed: a pass picks the few that do, with no pair per row
    for where, row in [(where, r) for where, rows in sections for r in rows if r.prov.seed]:
        for s in row.prov.seed:
            if not pattern.fullmatch(s):
                c.errors.append(PolicySchemaError(Message(N_("seed {s!r} of {where} row {id!r} is not a concept id "
                                                             "like T1 or R5"), s=s, where=where, id=row.id),
                                                                 row.prov.location or SourceLocation("?", 1, 1)))


def all_rows(spec: PolicySpec) -> Mapping[str, tuple[Row, ...]]:
    """Every rule-like item by section, for coverage and the durable compiler."""
    out: dict[str, tuple[Row, ...]] = {}
    for name, t in spec.segments.items():
        out["segment:" + name] = t.rows
    if spec.tiers:
        out["tier"] = spec.tiers.rows
    if spec.stages:
        out["stage"] = spec.stages.transitions
    if spec.churn:
        out["churn"] = spec.churn.rows
    if spec.actions:
        out["actions"] = spec.actions.rules
    return out


def all_expressions(spec: PolicySpec) -> list[Expr]:
    """Every expression of a policy: metrics, conditions, guards and the churn score."""
    exprs: list[Expr] = [m.expr for m in spec.metrics]
    for t in [*spec.segments.values(), spec.tiers, spec.churn]:
        if t is not None:
            exprs.extend(r.when for r in t.rows if r.when is not None)
            if t.score is not None:
                exprs.append(t.score)
    if spec.stages:
        exprs.extend(r.when for r in spec.stages.transitions if r.when is not None)
    if spec.actions:
        exprs.extend(r.when for r in spec.actions.rules if r.when is not None)
    return exprs
