"""Property checks of a policy over generated accounts (``accountrules check``).

Hypothesis generates portfolios of accounts near the policy's thresholds
(:mod:`accountrules.testing.strategies`) and checks:

- **completeness**: every account gets a tier (when the policy has tiers) and a
  stage (when it has stages), and no decision raises a :class:`DecisionError`;
- **determinism**: deciding the same portfolio twice gives equal decisions, and
  ``decide(account, portfolio=stats)`` equals ``decide_many``'s decision (and, when
  the durable evaluator is available, it agrees with the compiled one);
- **JSON round trip**: every decision survives ``model_dump_json``/``model_validate_json``;
- each **monotonic** declaration: changing the field in its direction, all else equal
  and ranked against the same portfolio statistics, never lowers the output.

A failure carries the shrunk counterexample as a ready-to-paste test-case file whose
expectations are what the policy decides now.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.reporting import with_reporter

from accountrules.check.policy_check import all_rows
from accountrules.check.spec import Monotonic
from accountrules.errors import DecisionError, SourceLocation, refusal_reason
from accountrules.i18n import N_, Gettext, Message
from accountrules.model.decision import Decision
from accountrules.model.fields import FIELDS, FieldSpec
from accountrules.parse.expr_ast import Expr, Literal, Ref, walk
from accountrules.testing.counterexamples import (
    AccountDict,
    counterexample_parts,
    counterexample_yaml,
    expect_of,
    height,
    output_order,
    render_counterexample,
    value_of,
)
from accountrules.testing.runner import decide_among
from accountrules.testing.strategies import _CONTACT, _constants, _known

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = [
    "PropertyFailure",
    "PropertyResult",
    "check_policy_properties",
    "counterexample_yaml",
    "expect_of",
    "output_order",
    "policy_accounts",
    "policy_portfolios",
    "read_fields",
    "run_properties",
]

_AS_OF = st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))


@dataclass(frozen=True)
class PropertyFailure:
    """A property that does not hold, with a counterexample as a test-case file (YAML text)."""

    name: str
    message: str
    counterexample: str  # in English; :meth:`counterexample_in` words its comments in another language
    location: SourceLocation | None = None
    comments: tuple[str, ...] = ()  # the file's comments, catalogue messages where they are ours
    doc: Mapping[str, Any] | None = field(default=None, compare=False)  # the file's cases, before wording

    def counterexample_in(self, _: Gettext) -> str:
        """The counterexample file with its comments and case names worded by ``_`` (a catalogue's gettext)."""
        return render_counterexample(self.comments, self.doc, _) if self.doc is not None else self.counterexample

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.name}{where}: {self.message}"


@dataclass(frozen=True)
class PropertyResult:
    name: str
    failure: PropertyFailure | None = None
    skipped: str | None = None  # why the property could not be checked

    @property
    def passed(self) -> bool:
        return self.failure is None and self.skipped is None


class _Violation(Exception):
    """Raised inside a hypothesis test: the property failed for this example."""

    def __init__(self, message: str, others: list[AccountDict], cases: list[tuple[str, AccountDict]],
                 as_of: dt.date):
        super().__init__(message)
        self.message = message
        self.others = others
        self.cases = cases
        self.as_of = as_of


# -- generated accounts ---------------------------------------------------------------------------


def read_fields(policy: Policy) -> list[str]:
    """The account fields a policy's decisions can depend on: every field an expression reads,
    ``relationship.stage`` when it has stages, and the fields of its monotonic declarations."""
    spec = policy.spec
    exprs: list[Expr] = [m.expr for m in spec.metrics]
    for rows in all_rows(spec).values():
        exprs.extend(r.when for r in rows if r.when is not None)
    if spec.churn is not None and spec.churn.score is not None:
        exprs.append(spec.churn.score)
    paths = {n.key for e in exprs for n in walk(e) if isinstance(n, Ref) and n.kind == "field"}
    if spec.stages is not None:
        paths.add("relationship.stage")
    paths.update(m.field for m in spec.monotonic)
    return sorted(paths)


def policy_accounts(policy: Policy) -> st.SearchStrategy[AccountDict]:
    """Accounts (nested dicts) that set only fields the policy reads (see :func:`read_fields`),
    drawn near the policy's thresholds with the field strategies of
    :mod:`accountrules.testing.strategies`; a field left out is unknown. Fields a policy does not
    read cannot change its decisions, and leaving them out keeps generation fast and
    counterexamples short."""
    consts = _constants(policy)
    spec = policy.spec
    top: dict[str, st.SearchStrategy[Any]] = {}
    groups: dict[str, dict[str, st.SearchStrategy[Any]]] = {}
    for path in read_fields(policy):
        if path.startswith("contacts."):
            top["contacts"] = st.lists(_CONTACT, max_size=3)
            continue
        if path.startswith("extra."):
            kind = spec.fields.get(path[6:])
            if kind is None:
                continue
            value = _known(FieldSpec(path, kind), consts)
        elif path == "relationship.previous_tier" and spec.tiers is not None:
            value = st.sampled_from(list(spec.tiers.values))
        elif path in FIELDS:
            value = _known(FIELDS[path], consts)
        else:
            continue
        if "." in path:
            group, name = path.split(".", 1)
            groups.setdefault(group, {})[name] = value
        elif path != "id":
            top[path] = value
    for group, fields in groups.items():
        top[group] = st.fixed_dictionaries({}, optional=fields)
    ids = st.integers(0, 10**6).map(lambda i: f"H{i}")
    return st.builds(lambda i, body: {"id": i, **{k: v for k, v in body.items() if v}}, ids,
                     st.fixed_dictionaries({}, optional=top))


def policy_portfolios(policy: Policy, max_size: int = 6) -> st.SearchStrategy[list[AccountDict]]:
    """Non-empty lists of :func:`policy_accounts` with distinct ids."""
    return st.lists(policy_accounts(policy), min_size=1, max_size=max_size, unique_by=lambda a: a["id"])


# -- running hypothesis ---------------------------------------------------------------------------


def _search(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int,
            seed: int | None) -> _Violation | None:
    """Run ``check`` over ``strategy``; the shrunk violation, or None when the property held."""

    # no 'explain' phase: it reruns the shrunk example hundreds of times to annotate hypothesis'
    # own report, which is not shown (the counterexample is rendered as a test case instead)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              report_multiple_bugs=False, verbosity=Verbosity.quiet, print_blob=False,
              suppress_health_check=list(HealthCheck),
              phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink))
    @given(strategy)
    def prop(example: Any) -> None:
        check(example)

    test = hypothesis_seed(seed)(prop) if seed is not None else prop
    try:
        with with_reporter(lambda _message: None):
            test()
    except _Violation as v:
        return v
    except Unsatisfiable:
        return None
    except BaseExceptionGroup as group:  # e.g. a flaky failure: report the first violation in it
        found = group.subgroup(_Violation)
        if found is None:
            raise
        first = found.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        assert isinstance(first, _Violation)
        return first
    return None


def _without(portfolio: list[AccountDict], i: int) -> list[AccountDict]:
    return portfolio[:i] + portfolio[i + 1:]


def _failure_of(policy: Policy, name: str, v: _Violation, location: SourceLocation | None = None,
                notes: Sequence[str] = ()) -> PropertyFailure:
    comments, doc = counterexample_parts(policy, Message(N_("{name} failed"), name=name), v.others, v.cases,
                                         v.as_of, [v.message, *notes])
    return PropertyFailure(name, v.message, render_counterexample(comments, doc), location, tuple(comments), doc)


def _completeness(policy: Policy) -> Callable[[Any], None]:
    spec = policy.spec

    def check(example: tuple[list[AccountDict], dt.date]) -> None:
        portfolio, as_of = example
        for i, d in enumerate(decide_among(policy, portfolio, as_of=as_of)):
            if isinstance(d, str):
                raise _Violation(Message(N_("account {account} cannot be decided: {reason}"),
                                         account=repr(portfolio[i]["id"]), reason=refusal_reason(d)),
                                 _without(portfolio, i), [(Message(N_("cannot be decided")), portfolio[i])], as_of)
            no_tier, no_stage = spec.tiers is not None and d.tier is None, spec.stages is not None and d.stage is None
            if no_tier or no_stage:
                raise _Violation(Message(
                    N_("account {account} gets no tier (no tier row matched and the tier table has no default) and "
                       "no stage") if no_tier and no_stage else
                    N_("account {account} gets no tier (no tier row matched and the tier table has no default)")
                    if no_tier else N_("account {account} gets no stage"), account=repr(d.account_id)),
                                 _without(portfolio, i), [(Message(N_("incomplete decision")), portfolio[i])], as_of)

    return check


def _determinism(policy: Policy, engines: Sequence[str]) -> Callable[[Any], None]:
    def check(example: tuple[list[AccountDict], dt.date]) -> None:
        portfolio, as_of = example
        first = decide_among(policy, portfolio, as_of=as_of)
        if any(isinstance(d, str) for d in first):
            reject()  # completeness reports it
        second = decide_among(policy, portfolio, as_of=as_of)
        for i, (a, b) in enumerate(zip(first, second, strict=True)):
            if a != b:
                raise _Violation(Message(N_("deciding account {account} twice gives different decisions"),
                                         account=repr(portfolio[i]["id"])),
                                 _without(portfolio, i), [(Message(N_("nondeterministic")), portfolio[i])], as_of)
        stats = policy.portfolio_stats(portfolio)
        for i, acc in enumerate(portfolio):
            try:
                one: Decision | str = policy.decide(acc, as_of=as_of, portfolio=stats)
            except DecisionError as e:
                one = str(e)
            if one != first[i]:
                raise _Violation(Message(N_("decide() with the portfolio's statistics and decide_many() disagree "
                                            "for account {account}"), account=repr(acc["id"])), _without(portfolio, i),
                                 [(Message(N_("decide and decide_many disagree")), acc)], as_of)
        for engine in engines[1:]:
            other = decide_among(policy, portfolio, as_of=as_of, engine=engine)
            for i, (a, b) in enumerate(zip(first, other, strict=True)):
                if a != b:
                    raise _Violation(Message(N_("engines {first} and {other} decide account {account} differently"),
                                             first=engines[0], other=engine, account=repr(portfolio[i]["id"])),
                                     _without(portfolio, i),
                                     [(Message(N_("engines disagree")), portfolio[i])], as_of)

    return check


def _json_round_trip(policy: Policy) -> Callable[[Any], None]:
    def check(example: tuple[list[AccountDict], dt.date]) -> None:
        portfolio, as_of = example
        for i, d in enumerate(decide_among(policy, portfolio, as_of=as_of)):
            if isinstance(d, str):
                continue  # completeness reports it
            try:
                back = Decision.model_validate_json(d.model_dump_json())
            except ValueError as e:
                raise _Violation(Message(N_("the decision for {account} cannot be read back from JSON: {error}"),
                                         account=repr(d.account_id), error=str(e)),
                                 _without(portfolio, i), [(Message(N_("json round trip")), portfolio[i])],
                                 as_of) from None
            if back != d:
                raise _Violation(Message(N_("the decision for {account} changes in a JSON round trip"),
                                         account=repr(d.account_id)),
                                 _without(portfolio, i), [(Message(N_("json round trip")), portfolio[i])], as_of)

    return check


def _field_spec(policy: Policy, path: str) -> FieldSpec | None:
    if path.startswith("extra."):
        return FieldSpec(path, "number") if policy.spec.fields.get(path[6:]) == "number" else None
    fs = FIELDS.get(path)
    if fs is None or fs.type != "number" or "." not in path or path.startswith("contacts."):
        return None
    return fs


def _field_constants(policy: Policy, path: str) -> list[float]:
    """Numbers in the expressions that read ``path`` (directly or through metrics); all the
    policy's constants when none does."""
    spec = policy.spec
    reading = {path}
    exprs: list[Expr] = []

    def reads(e: Expr) -> bool:
        return any(isinstance(n, Ref) and n.key in reading for n in walk(e))

    for m in spec.metrics:
        if reads(m.expr):
            reading.add(m.name)
    for rows in all_rows(spec).values():
        exprs.extend(r.when for r in rows if r.when is not None and reads(r.when))
    if spec.churn is not None and spec.churn.score is not None and reads(spec.churn.score):
        exprs.append(spec.churn.score)
    found = {float(n.value) for e in exprs for n in walk(e)
             if isinstance(n, Literal) and isinstance(n.value, int | float) and not isinstance(n.value, bool)}
    return sorted(found) or _constants(policy)


def _pairs(policy: Policy, fs: FieldSpec) -> st.SearchStrategy[tuple[float, float]]:
    """Two different values of a number field, smaller first: half the time just below and at/above
    one of the policy's constants (where a row's outcome flips), else anywhere in the field's range."""
    lo, hi = fs.ge, fs.le

    def inside(v: float) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    steps = (0, 1) if fs.integer else (0.0, 0.01, 1.0)
    consts = _field_constants(policy, fs.path)
    crossings = sorted({(c - a, c + b) for c in consts for a in steps for b in steps if a or b} | {(0, 1)})
    crossings = [(a, b) for a, b in crossings if inside(a) and inside(b)]
    if fs.integer:
        crossings = [(math.floor(a), math.ceil(b)) for a, b in crossings if math.floor(a) < math.ceil(b)]
        top = fs.domain_le
        base: st.SearchStrategy[Any] = st.integers(int(lo) if lo is not None else -10_000,
                                                   int(top) if top is not None else 10**7)
    else:
        base = st.floats(lo if lo is not None else -1e5, hi if hi is not None else 2e7, allow_nan=False,
                         allow_infinity=False)
    anywhere = st.tuples(base, base).filter(lambda t: t[0] != t[1]).map(lambda t: (min(t), max(t)))
    return st.sampled_from(crossings) | anywhere if crossings else anywhere


def _with(acc: AccountDict, path: str, value: float) -> AccountDict:
    group, name = path.split(".", 1)
    out = dict(acc)
    out[group] = {**out.get(group, {}), name: value}
    return out


def _monotonic(policy: Policy, m: Monotonic, fs: FieldSpec) -> Callable[[Any], None]:
    increasing = m.direction == "increasing"

    def check(example: tuple[list[AccountDict], dt.date, int, tuple[float, float]]) -> None:
        portfolio, as_of, index, (low, high) = example
        i = index % len(portfolio)
        before = _with(portfolio[i], m.field, low)
        after = _with(portfolio[i], m.field, high)
        original = [*portfolio[:i], before, *portfolio[i + 1:]]
        try:
            stats = policy.portfolio_stats(original)
            d1 = policy.decide(before, as_of=as_of, portfolio=stats)
            d2 = policy.decide(after, as_of=as_of, portfolio=stats)
        except DecisionError:
            reject()
        v1, v2 = value_of(d1, m.output), value_of(d2, m.output)
        h1, h2 = height(policy, m.output, v1), height(policy, m.output, v2)
        if h1 is None or h2 is None or (h2 >= h1 if increasing else h2 <= h1):
            return
        template = (N_("raising {field} from {low} to {high} lowers {output} from {old} to {new} (account {account}, "
                       "all else equal, same portfolio statistics)") if increasing else
                    N_("raising {field} from {low} to {high} raises {output} from {old} to {new} (account {account}, "
                       "all else equal, same portfolio statistics)"))
        raise _Violation(
            Message(template, field=m.field, low=_num(low), high=_num(high), output=m.output, old=v1, new=v2,
                    account=repr(before["id"])),
            _without(original, i),
            [(Message(N_("before: {field} = {value}"), field=m.field, value=_num(low)), before),
             (Message(N_("after: {field} = {value}"), field=m.field, value=_num(high)), after)], as_of)

    return check


def _num(v: float) -> str:
    return f"{v:.12g}" if isinstance(v, float) else str(v)


def _monotonic_name(m: Monotonic) -> str:
    return f"monotonic {m.field} {m.direction} -> {m.output}"


def run_properties(policy: Policy, *, examples: int = 100, seed: int | None = None,
                   max_portfolio: int | None = None, engines: Sequence[str] | None = None,
                   progress: Callable[[str, int, int | None], None] | None = None,
                   ) -> list[PropertyResult]:
    """Check every property of ``policy``; one result per property, in a fixed order.

    ``seed`` makes the run reproducible. Portfolios hold up to ``max_portfolio`` accounts
    (default 6 when the policy uses portfolio functions, else 2). ``engines`` defaults to the
    compiled engine plus the durable one when it is available (determinism then also compares
    them). A failing example is shrunk by hypothesis before it is reported.
    ``progress("examples", done, total)`` counts the examples tried (shrinking a failure tries
    more, so ``done`` may pass ``total`` near the end; it is capped there).
    """
    if engines is None:
        from accountrules.testing.runner import default_engines

        engines = default_engines()
    size = max_portfolio if max_portfolio is not None else (6 if policy.uses_portfolio else 2)
    accounts = st.tuples(policy_portfolios(policy, size), _AS_OF)
    results: list[PropertyResult] = []
    plain: list[tuple[str, Callable[[Any], None]]] = [
        ("completeness", _completeness(policy)),
        ("determinism", _determinism(policy, engines)),
        ("json round trip", _json_round_trip(policy)),
    ]
    total = len(plain) + len(policy.spec.monotonic)
    counted = _counter(progress, total * examples)
    for i, (name, check) in enumerate(plain, 1):
        log.info("[%d/%d] %s", i, total, name)
        v = _search(accounts, counted(check), examples, seed)
        results.append(PropertyResult(name, _failure_of(policy, name, v) if v else None))
    for i, m in enumerate(policy.spec.monotonic, len(plain) + 1):
        name = _monotonic_name(m)
        log.info("[%d/%d] %s", i, total, name)
        fs = _field_spec(policy, m.field)
        if fs is None:
            results.append(PropertyResult(name, skipped=Message(N_("{field} cannot be varied on its own"),
                                                                  field=m.field)))
            continue
        try:
            output_order(policy, m.output)
        except ValueError:
            if m.output != "churn.kind":
                results.append(PropertyResult(name, skipped=Message(N_("{output} has no order"),
                                                                      output=m.output)))
                continue
        strategy = st.tuples(policy_portfolios(policy, size), _AS_OF, st.integers(0, size - 1),
                             _pairs(policy, fs))
        v = _search(strategy, counted(_monotonic(policy, m, fs)), examples, seed)
        notes: list[str] = []
        if v is not None and policy.uses_portfolio:
            notes.append(Message(N_("The property ranks both accounts against the same portfolio statistics; in "
                                    "this file each case is ranked among the portfolio plus itself.")))
        results.append(PropertyResult(name, _failure_of(policy, name, v, m.location, notes) if v else None))
    return results


def _counter(progress: Callable[[str, int, int | None], None] | None,
             total: int) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Wrap each check so that every example it is called with advances ``progress``."""
    done = 0

    def wrap(check: Callable[[Any], None]) -> Callable[[Any], None]:
        if progress is None:
            return check

        def counted(example: Any) -> None:
            nonlocal done
            done += 1
            progress("examples", min(done, total), total)
            check(example)

        return counted

    return wrap


def check_policy_properties(policy: Policy, *, examples: int = 100, seed: int | None = None,
                            max_portfolio: int | None = None) -> list[PropertyFailure]:
    """The properties of ``policy`` that do not hold (empty when all hold). For use in pytest::

        assert not check_policy_properties(load_policy("rulesets/express"), examples=50)
    """
    results = run_properties(policy, examples=examples, seed=seed, max_portfolio=max_portfolio)
    return [r.failure for r in results if r.failure is not None]
