"""Every evaluator agrees on generated *expressions*, not only on generated tables.

``test_engines_agree`` generates policies whose rows test one field against constants, and runs
the fixed ``CONSTRUCTS`` policy, which has one metric of each kind. Neither composes the language:
arithmetic inside portfolio functions, metrics reading metrics, ``ratio`` of a difference, a
comparison of two metrics, ``not`` over unknown. Here hypothesis builds random metric
expressions from every number form of docs/policy-language.md (fields, params, literals, ``+ - *
/``, unary ``-``, ``min``, ``max``, ``abs``, ``ratio``, ``coalesce``, ``days_since``, the four
portfolio functions with both tie rules), conditions over them (comparisons, ranges, lists,
``is null``, ``not``, ``and``, ``or``), tables of every hit policy reading them, and, in some
policies, a stage section (transitions from one state, a list or any; with and without
``otherwise``) and a churn section (every hit policy, with and without a score), then portfolios
with unknown, zero, negative, fractional and tied values; ``decide_many`` on each evaluator must
give, row for row, the Decision JSON (trace included) or the error ``Policy.decide`` gives.

Seed concepts these expressions carry: profit contribution as a ratio (T13), RFM quintile scores
(C5), ABC by cumulative share (T5), Pareto 20/80 by percentile (T4), the relationship stages (G1, G4) and
the churn kinds with their risk (C1).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_engines_agree import DEEP, DURABLE, SETTINGS, _generated_agree

AS_OF = dt.date(2026, 6, 30)
# number fields: an integer count, a signed amount, a share in 0..1, and days since a date
_NUMBERS = ["transactions.count", "transactions.revenue", "credit.arrears_ratio", "transactions.recency_days"]
_LITERALS = ["0", "1", "2", "3", "-1", "0.5", "0.1", "10", "100", "1000", "0.25"]
_PARAMS = {"k": "2.5", "n": "3", "cut": "0.8", "zero": "0"}


@st.composite
def _number(draw: st.DrawFn, metrics: list[str], local: list[str], depth: int, portfolio: bool) -> str:
    """A number expression over ``metrics`` (``local``: those computed from one account alone);
    ``portfolio`` allows the portfolio functions, whose argument must be computed from one account."""
    leaves = [st.sampled_from(_NUMBERS), st.sampled_from(_LITERALS), st.sampled_from([f"params.{p}" for p in _PARAMS]),
              st.just("days_since(transactions.last_order_date)")]
    readable = metrics if portfolio else local
    if readable:
        leaves.append(st.sampled_from(readable))
    if depth <= 0:
        return draw(st.one_of(leaves))
    sub = _number(metrics, local, depth - 1, portfolio)
    form = draw(st.sampled_from(["leaf", "leaf", "bin", "bin", "neg", "min", "max", "abs", "ratio", "coalesce",
                                 *(["pct", "cum", "cum_above", "quantile"] if portfolio else [])]))
    if form == "leaf":
        return draw(st.one_of(leaves))
    if form == "bin":
        return f"({draw(sub)} {draw(st.sampled_from(['+', '-', '*', '/']))} {draw(sub)})"
    if form == "neg":
        return f"-({draw(sub)})"
    if form in ("min", "max"):
        return f"{form}({', '.join(draw(st.lists(sub, min_size=2, max_size=3)))})"
    if form == "abs":
        return f"abs({draw(sub)})"
    if form in ("ratio", "coalesce"):
        return f"{form}({draw(sub)}, {draw(sub)})"
    arg = draw(_number(local, local, depth - 1, False))
    if form == "pct":
        return f"percentile({arg})"
    if form == "cum":
        return f"cumshare({arg})"
    if form == "cum_above":
        return f"cumshare_above({arg})"
    tie = draw(st.sampled_from(["", ", 'first'", ", 'same'"]))
    return f"quantile({arg}, {draw(st.integers(2, 6))}{tie})"


@st.composite
def _condition(draw: st.DrawFn, metrics: list[str]) -> str:
    x = draw(st.sampled_from(metrics + _NUMBERS))
    shape = draw(st.sampled_from(["cmp", "cmp", "range", "list", "null", "not", "and", "or", "two", "region"]))
    lit = draw(st.sampled_from(_LITERALS))
    if shape == "cmp":
        return f"{x} {draw(st.sampled_from(['<', '<=', '>', '>=', '==', '!=']))} {lit}"
    if shape == "range":
        a, b = sorted(draw(st.sampled_from(_LITERALS)) for _ in range(2))
        return f"{x} {draw(st.sampled_from(['in', 'not in']))} {a}..{b}"
    if shape == "list":
        return f"{x} in [{lit}, {draw(st.sampled_from(_LITERALS))}, null]"
    if shape == "null":
        return f"{x} is {draw(st.sampled_from(['null', 'not null']))}"
    if shape == "not":
        return f"not ({draw(_condition(metrics))})"
    if shape in ("and", "or"):
        return f"({draw(_condition(metrics))}) {shape} ({draw(_condition(metrics))})"
    if shape == "two":
        return f"{x} {draw(st.sampled_from(['<', '>=', '==']))} {draw(st.sampled_from(metrics + _NUMBERS))}"
    return f"company.region == '{draw(st.sampled_from(['north', 'south']))}' or signals.fraud"


@st.composite
def expression_policies(draw: st.DrawFn) -> str:
    names: list[str] = []
    local: list[str] = []  # the metrics computed from one account alone
    lines = ["policy: {name: exprs, version: '1', label: {zh: x, en: x}}",
             "params: {" + ", ".join(f"{k}: {v}" for k, v in _PARAMS.items()) + "}", "metrics:"]
    for i in range(draw(st.integers(1, 5))):
        portfolio = draw(st.booleans())
        expr = draw(_number(names, local, draw(st.integers(0, 3)), portfolio))
        name = f"m{i}"
        lines.append(f"  {name}: \"{expr}\"")
        if not portfolio:
            local.append(name)
        names.append(name)
    hit = draw(st.sampled_from(["first", "first", "unique", "any", "priority"]))
    lines += ["segments:", "  band:", f"    hit: {hit}",
              "    values: {a: {zh: a, en: a}, b: {zh: b, en: b}, c: {zh: c, en: c}}"]
    if draw(st.booleans()):
        lines.append("    default: c")
    lines.append("    rows:")
    for i in range(draw(st.integers(1, 6))):
        lines.append(f"      - {{id: s{i}, when: \"{draw(_condition(names))}\", then: {draw(st.sampled_from('abc'))}}}")
    gold = f"segments.band == 'a' or ({draw(_condition(names))})"
    lines += ["tiers:", "  hit: first", "  values: {gold: {zh: g, en: g}, iron: {zh: i, en: i}}", "  default: iron",
              "  rows:", f"    - {{id: t-gold, when: \"{gold}\", then: gold}}"]
    later = ["tier == 'gold'"]  # what the sections below may also test
    if draw(st.booleans()):
        lines += _stages(draw, names)
        later.append(f"stage == '{draw(st.sampled_from(_STATES))}'")
    if draw(st.booleans()):
        lines += _churn(draw, names)
        later += [f"churn.risk == '{draw(st.sampled_from(_RISKS))}'", "churn.kind == 'competitor'"]
    lines += ["actions:", "  catalog:", "    x: {title: {zh: x, en: x}, owner: o}",
              "    y: {title: {zh: y, en: y}, owner: o}", "  rules:"]
    for i in range(draw(st.integers(1, 4))):
        codes = draw(st.lists(st.sampled_from(["x", "y"]), min_size=1, max_size=2, unique=True))
        when = draw(st.one_of(_condition(names), st.sampled_from(later)))
        lines.append(f"    - {{id: a{i}, when: \"{when}\", do: [{', '.join(codes)}]}}")
    return "\n".join(lines) + "\n"


_STATES = ["nurture", "initial", "stable", "strategic", "interrupted"]
_RISKS = ["low", "medium", "high"]
_KINDS = ["voluntary", "competitor", "expelled", "value_decline"]


def _stages(draw: st.DrawFn, names: list[str]) -> list[str]:
    """A stage section (S2's relationship stages): transitions from one state, a list or any, on the tier too."""
    lines = ["stages:", "  states: {" + ", ".join(f"{s}: {{zh: {s}, en: {s}}}" for s in _STATES) + "}",
             f"  start: {draw(st.sampled_from(_STATES))}"]
    if draw(st.booleans()):
        lines.append("  otherwise: interrupted")
    lines.append("  transitions:")
    for i in range(draw(st.integers(1, 5))):
        frm = draw(st.one_of(st.just("'*'"), st.sampled_from(_STATES),
                             st.lists(st.sampled_from(_STATES), min_size=1, max_size=3, unique=True).map(
                                 lambda xs: "[" + ", ".join(xs) + "]")))
        when = draw(st.one_of(_condition(names), st.just("tier == 'gold'")))
        lines.append(f"    - {{id: st{i}, from: {frm}, to: {draw(st.sampled_from(_STATES))}, when: \"{when}\"}}")
    return lines


def _churn(draw: st.DrawFn, names: list[str]) -> list[str]:
    """A churn section (C1's four kinds and their risk), with or without a score its rows read."""
    lines = ["churn:", f"  hit: {draw(st.sampled_from(['first', 'any', 'priority', 'unique']))}"]
    readable = list(names)
    if draw(st.booleans()):
        lines.append(f"  score: \"{draw(_number(names, names, 2, False))}\"")
        readable.append("churn.score")
    lines.append("  rows:")
    for i in range(draw(st.integers(1, 4))):
        kind, risk = draw(st.sampled_from(_KINDS)), draw(st.sampled_from(_RISKS))
        lines.append(f"    - {{id: c{i}, when: \"{draw(_condition(readable))}\", kind: {kind}, risk: {risk}}}")
    return lines


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


# ties (a few repeated values) and the values where arithmetic turns: 0, negatives, fractions
_accounts = st.lists(
    st.builds(
        lambda i, cnt, rev, arr, rec, last, reg, fraud, stage: {
            "id": f"E{i}",
            "company": {"region": reg} if reg else {},
            "transactions": {k: v for k, v in (("count", cnt), ("revenue", rev), ("recency_days", rec),
                                               ("last_order_date", last)) if v is not None},
            "credit": {} if arr is None else {"arrears_ratio": arr},
            "signals": {} if fraud is None else {"fraud": fraud},
            "relationship": {} if stage is None else {"stage": stage}},
        st.integers(0, 10**6),
        _maybe(st.one_of(st.sampled_from([0, 1, 3]), st.integers(0, 30))),
        _maybe(st.one_of(st.sampled_from([0.0, -10.0, 100.0, 0.5, 1000.0]), st.floats(-1e4, 1e6, allow_nan=False),
                         st.integers(-100, 10**5))),
        _maybe(st.one_of(st.sampled_from([0.0, 0.25, 0.8, 1.0]), st.floats(0.0, 1.0))),
        _maybe(st.sampled_from([0, 1, 30, 365])),
        _maybe(st.sampled_from([AS_OF, AS_OF - dt.timedelta(days=1), dt.date(2025, 1, 31), dt.date(2027, 1, 1)])),
        _maybe(st.sampled_from(["north", "south"])),
        _maybe(st.booleans()),
        _maybe(st.sampled_from(_STATES))),
    min_size=1, max_size=12, unique_by=lambda a: a["id"])


@pytest.mark.parametrize("engine", ["compiled", "vector", "durable"])
@settings(SETTINGS, max_examples=100)
@given(text=expression_policies(), accounts=_accounts)
def test_generated_expressions_agree(engine: str, text: str, accounts: list[dict[str, Any]]) -> None:
    _agree_on(engine, text, accounts)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("ACCOUNTRULES_SLOW"), reason="long fuzz run: set ACCOUNTRULES_SLOW=1")
@pytest.mark.parametrize("engine", ["compiled", "vector", "durable"])
@settings(DEEP)
@given(text=expression_policies(), accounts=_accounts)
def test_generated_expressions_agree_deep(engine: str, text: str, accounts: list[dict[str, Any]]) -> None:
    _agree_on(engine, text, accounts)


def _agree_on(engine: str, text: str, accounts: list[dict[str, Any]]) -> None:
    if engine == "durable" and not DURABLE:
        pytest.skip("engine durable needs durable_rules (pip install 'accountrules[durable]'), not importable here")
    _generated_agree(engine, text, accounts)
