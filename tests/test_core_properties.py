"""Invariants of decisions over generated accounts (hypothesis)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules import Decision
from accountrules.testing.strategies import account_dicts, portfolios

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "small"
POLICY = accountrules.load_policy(EXAMPLE)
AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(portfolios(POLICY, max_size=12))
def test_same_input_same_decision(accounts: list[dict[str, Any]]) -> None:
    assert POLICY.decide_many(accounts, as_of=AS_OF) == POLICY.decide_many(accounts, as_of=AS_OF)


@SETTINGS
@given(portfolios(POLICY, max_size=12))
def test_json_round_trip(accounts: list[dict[str, Any]]) -> None:
    for d in POLICY.decide_many(accounts, as_of=AS_OF):
        assert Decision.model_validate_json(d.model_dump_json()) == d


@SETTINGS
@given(portfolios(POLICY, max_size=12))
def test_a_table_with_a_default_gives_every_account_a_tier_and_a_stage(accounts: list[dict[str, Any]]) -> None:
    for d in POLICY.decide_many(accounts, as_of=AS_OF):
        assert d.tier is not None
        assert d.stage is not None
        assert d.churn is not None


@SETTINGS
@given(portfolios(POLICY, max_size=12), st.integers(0, 11))
def test_input_order_does_not_change_a_decision(accounts: list[dict[str, Any]], k: int) -> None:
    forward = {d.account_id: d for d in POLICY.decide_many(accounts, as_of=AS_OF)}
    rotated = accounts[k % len(accounts):] + accounts[: k % len(accounts)]
    assert {d.account_id: d for d in POLICY.decide_many(rotated, as_of=AS_OF)} == forward


@SETTINGS
@given(portfolios(POLICY, max_size=12))
def test_every_fired_rule_is_in_the_trace_with_its_inputs(accounts: list[dict[str, Any]]) -> None:
    for d in POLICY.decide_many(accounts, as_of=AS_OF):
        if d.tier is not None and d.tier.rule is not None:
            entry = next(t for t in d.trace if t.section == "tier")
            assert entry.rule == d.tier.rule and entry.inputs
        for a in d.actions:
            assert set(a.reasons) <= {t.rule for t in d.trace if t.section == "actions"}
            assert a.key == f"{d.account_id}:{a.code}:{POLICY.version}"
            assert a.due >= d.as_of


COMPLETE = """\
policy: {name: c, version: "1", label: {zh: 完整, en: complete}}
tiers:
  hit: first
  values: {platinum: 铂金, gold: 黄金, iron: 钢铁, lead: 重铅}
  rows:
    - id: p
      when: transactions.annual_profit > 1000000 and coalesce(credit.overdue_payments, 0) == 0
      then: platinum
    - {id: g, when: transactions.annual_profit > 100000, then: gold}
    - {id: l, when: transactions.annual_profit <= 0, then: lead}
    - {id: rest, then: iron}
"""


def test_a_complete_first_table_gives_every_account_a_tier(tmp_path: Path) -> None:
    path = tmp_path / "complete.yaml"
    path.write_text(COMPLETE, encoding="utf-8")
    policy = accountrules.load_policy(path)

    @settings(max_examples=80, deadline=None)
    @given(account_dicts(policy))
    def check(account: dict[str, Any]) -> None:
        d = policy.decide(account, as_of=AS_OF)
        assert d.tier is not None and d.tier.rule in {"p", "g", "l", "rest"}

    check()
