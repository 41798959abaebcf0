"""Explanations show, beside a rank, the value it ranks and that value's definition (issue 12 point 6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import accountrules
from accountrules.model.decision import Decision

AS_OF = dt.date(2026, 6, 30)


def _portfolio() -> list[dict[str, Any]]:
    # 39 accounts with contributions 1..39; the case account's is 2,400,000 / 60,000 = 40.0, the
    # largest, so its rank is 39 / 40 = 0.975 (platinum)
    accounts: list[dict[str, Any]] = [
        {"id": f"P{i}", "transactions": {"annual_profit": 100_000 * i, "marketing_cost": 100_000,
                                         "annual_revenue": 1_000_000}} for i in range(1, 40)]
    accounts.append({"id": "KA-1", "transactions": {"annual_profit": 2_400_000, "marketing_cost": 60_000,
                                                    "annual_revenue": 9_000_000},
                     "credit": {"overdue_payments": 0, "arrears_ratio": 0.0}})
    return accounts


@pytest.fixture(scope="module")
def decision() -> Decision:
    policy = accountrules.load_policy("express")
    found = [d for d in policy.decide_many(_portfolio(), as_of=AS_OF) if d.account_id == "KA-1"]
    assert found[0].tier is not None and found[0].tier.code == "platinum"
    return found[0]


def test_trace_holds_the_ranked_value_with_its_definition(decision: Decision) -> None:
    entries = [t for t in decision.trace if t.section == "metric" and t.output == "profit_contribution_pct"]
    assert entries, "the tier row reads a rank; the trace must hold what it ranks"
    basis = entries[0]
    assert basis.rule == "profit_contribution"
    assert basis.inputs == {"profit_contribution": 40.0}  # 2,400,000 / 60,000
    assert basis.description is not None and basis.description.en == "annual profit / allocated annual marketing cost"
    assert basis.seed == ("T13",)


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "profit_contribution_pct ranks profit_contribution = 40 (annual profit / allocated annual marketing cost)"),
    ("zh", "profit_contribution_pct 的排名依据为 profit_contribution = 40 (客户年利润 / 客户年分摊的营销成本)"),
])
def test_explain_shows_value_and_definition_beside_the_rank(decision: Decision, lang: str, words: str) -> None:
    tier_line = next(line for line in decision.explain(lang).splitlines() if "platinum-top-contributor" in line)
    assert "profit_contribution_pct = 0.975" in tier_line
    assert words in tier_line


def test_a_rank_of_a_field_shows_the_field_value() -> None:
    policy = accountrules.load_policy("express")
    d = next(d for d in policy.decide_many(_portfolio(), as_of=AS_OF) if d.account_id == "KA-1")
    abc_line = next(line for line in d.explain("en").splitlines() if line.startswith("Segment abc"))
    assert "revenue_cumshare_above ranks transactions.annual_revenue = 9,000,000" in abc_line
