"""Shared by the embedding tests: two versions of one policy (the same name and version string,
different rules) and the accounts they decide."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules.testing.runner import durable_available, vector_available

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)

# two versions of one policy: the same name and the same version string, different rules
GOLD_POLICY = """
policy: {name: crm-gold, version: "3", label: {zh: 金牌客户, en: Gold accounts}}
params: {gold_revenue: GOLD}
metrics:
  revenue: {expr: "transactions.annual_revenue * 1", label: {zh: 收入, en: revenue}}
tiers:
  hit: first
  values: {gold: {zh: 金牌, en: Gold}, silver: {zh: 银牌, en: Silver}, standard: {zh: 普通, en: Standard}}
  default: standard
  rows:
    - {id: gold, when: "revenue >= params.gold_revenue", then: gold}
    - {id: silver, when: "percentile(revenue) >= 0.5", then: silver}
"""

ENGINES = [  # every evaluator, skipped where its extra is missing
    pytest.param("compiled"),
    pytest.param("vector", marks=pytest.mark.skipif(not vector_available(), reason="numpy is not installed")),
    pytest.param("durable", marks=pytest.mark.skipif(not durable_available(), reason="durable_rules is not installed")),
]


def gold_policy(threshold: int) -> accountrules.Policy:
    return accountrules.load_policy_text(GOLD_POLICY.replace("GOLD", str(threshold)), name="crm:policies/17")


def revenue_accounts(n: int = 60) -> list[dict[str, Any]]:
    return [{"id": f"KA-{i:03}", "transactions": {"annual_revenue": 10_000.0 * i}} for i in range(n)]


def tiers(policy: accountrules.Policy, accounts: list[dict[str, Any]], engine: str, *, one_by_one: bool) -> list[str]:
    if one_by_one and engine != "vector":
        stats = policy.portfolio_stats(accounts, as_of=AS_OF)
        got = [policy.decide(a, as_of=AS_OF, portfolio=stats, engine=engine) for a in accounts]
    else:
        got = [d for d in policy.decide_many(accounts, as_of=AS_OF, engine=engine).raise_for_errors()]
    return [d.tier.code if d.tier else "" for d in got]

