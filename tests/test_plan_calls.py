"""A plan's portfolio statistics are found as before its calls were read with the row index.

The compiler reads the calls of a policy's expressions (the portfolio functions a plan ranks
accounts by) section by section, skipping the table rows the index's one pass found to be one
test of a value against constants. The reference reads every expression of
``all_expressions`` in order, skipping plain comparisons only, as the compiler did before. For
random policies (rows mixing plain tests, ranges, lists, portfolio calls with and without the
``'first'`` tie rule, in metrics, tables, stage guards and action rules) the plan's portfolio keys,
in order, and its id-ranked keys must be the reference's. A compiler that skipped the rows holding
calls is checked to be caught.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.check.policy_check import all_expressions
from accountrules.compile import index, plan
from accountrules.compile.plan import _id_ranked, _portfolio_args
from accountrules.parse.expr_ast import Binary, Call, Literal, Ref, walk

CONDITIONS = [
    "transactions.annual_revenue >= {n}",
    "transactions.annual_revenue in 1..{n}",
    "transactions.annual_profit in [1, {n}]",
    "transactions.marketing_cost != {n}",
    "m1 > {n}",
    "percentile(transactions.annual_revenue) >= 0.{n}",
    "quantile(transactions.annual_profit, 4, 'first') == 1",
    "quantile(transactions.marketing_cost, {k}) == 2 and transactions.annual_revenue > {n}",
    "cumshare(transactions.annual_profit) <= 0.8",
    "not (percentile(relationship.share_of_wallet) > 0.3)",
    "percentile(m1) > 0.2 or transactions.annual_revenue < {n}",
    "cumshare_above(transactions.annual_revenue + {n}) < 0.5",
]


def _reference(spec: accountrules.Policy) -> tuple[list[str], frozenset[str]]:
    calls = [node for e in all_expressions(spec.spec)
             if not (type(e) is Binary and type(e.left) in (Ref, Literal) and type(e.right) in (Ref, Literal))
             for node in walk(e) if isinstance(node, Call)]
    return [k for k, _ in _portfolio_args(calls)], _id_ranked(calls)


@st.composite
def policies(draw: st.DrawFn) -> str:
    def cond() -> str:
        return draw(st.sampled_from(CONDITIONS)).format(n=draw(st.integers(1, 9)), k=draw(st.integers(2, 5)))

    rows = [f'    - {{id: r{i}, when: "{cond()}", then: {draw(st.sampled_from(["gold", "iron"]))}}}'
            for i in range(draw(st.integers(0, 12)))]
    metric = draw(st.sampled_from(["ratio(transactions.annual_profit, transactions.marketing_cost)",
                                   "transactions.annual_revenue * 2"]))
    lines = ['policy: {name: calls, version: "1", label: {zh: C, en: C}}', "metrics:", f"  m1: {{expr: '{metric}'}}"]
    if draw(st.booleans()):
        lines.append("  m2: {expr: 'cumshare_above(transactions.annual_profit)'}")
    lines += ["tiers:", "  hit: first", "  values: {gold: {zh: G, en: G}, iron: {zh: I, en: I}}", "  default: iron",
              "  rows:" if rows else "  rows: []", *rows]
    if draw(st.booleans()):
        lines += ["stages:", "  states: {initial: {zh: a, en: a}, stable: {zh: b, en: b}}", "  start: initial",
                  "  transitions:", f'    - {{id: t1, from: [initial], to: stable, when: "{cond()}"}}']
    if draw(st.booleans()):
        lines += ["actions:", "  catalog: {call: {title: {zh: c, en: c}, owner: account_manager}}", "  rules:",
                  *[f'    - {{id: a{i}, when: "{cond()}", do: [call]}}' for i in range(draw(st.integers(1, 10)))]]
    return "\n".join(lines) + "\n"


def _agrees(text: str) -> bool:
    policy = accountrules.load_policy_text(text)
    keys, ranked = _reference(policy)
    return [k for k, _ in policy.plan.portfolio_args] == keys and policy.plan.id_ranked == ranked


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies())
def test_portfolio_keys_are_found_as_by_reading_every_expression(text: str) -> None:
    assert _agrees(text), text


def test_a_compiler_that_skips_rows_with_calls_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading no table row for calls (as if every row were one test against constants) must be found."""
    real = index.row_tests
    monkeypatch.setattr(plan, "row_tests", lambda conds: dataclasses.replace(real(conds), others=[]))
    found = find(policies(), lambda text: not _agrees(text),
                 settings=settings(max_examples=500, database=None, deadline=None, derandomize=True,
                                   suppress_health_check=[HealthCheck.too_slow]))
    assert found
