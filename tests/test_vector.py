"""The vectorised evaluator agrees with the compiled one, account for account and column for column.

Differential: hypothesis draws portfolios near each policy's thresholds; every output column of
``decide_columns`` is compared with what ``Policy.decide`` gives for the same account against the
same portfolio statistics (tier, segments and their rule ids, stage from/to/transition, churn
kind/risk/score/rule, action codes in order, metric values, and DecisionErrors per account).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import DecisionError, PortfolioRequiredError
from accountrules.evaluate.accounts import env_of, to_account
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector import Column, ColumnBatch, decide_columns, output_keys, portfolio_stats
from accountrules.model.decision import Decision
from accountrules.policy import Policy
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

# ---- tiny inline policies: every AST construct and every hit policy --------------------------------

_LABEL = "{zh: x, en: x}"

CONSTRUCTS = f"""
policy: {{name: constructs, version: "1", label: {_LABEL}}}
params: {{cut: 0.5, zero: 0, big: 1000}}
fields: {{flag: bool, note: string, signed: date, score: number}}
metrics:
  m_arith: (transactions.revenue - transactions.revenue_previous) * 2 / transactions.count
  m_div0: transactions.revenue / params.zero
  m_neg: -transactions.growth_rate
  m_ratio: ratio(transactions.annual_profit, transactions.marketing_cost)
  m_minmax: min(transactions.revenue, 100, transactions.annual_revenue) + max(abs(transactions.growth_rate), 0.5)
  m_coal_num: coalesce(extra.score, credit.arrears, 0)
  m_coal_str: coalesce(company.region, extra.note, 'none')
  m_coal_bool: coalesce(extra.flag, relationship.contract_active)
  m_coal_date: coalesce(extra.signed, relationship.since)
  m_datediff: transactions.last_order_date - transactions.first_order_date
  m_pct: percentile(transactions.revenue)
  m_cum: cumshare(transactions.annual_revenue)
  m_q3: quantile(transactions.count, 3)
  m_q10: quantile(m_ratio, 10)
  m_q7: 8 - quantile(transactions.recency_days, 7)
  m_bool: transactions.count > 5 and not (credit.overdue_payments > 0) or signals.fraud
  m_null: company.region is null or extra.signed is not null
  m_overflow: transactions.revenue * 1e300 * 1e10
segments:
  u:
    hit: unique
    values: {{hi: {_LABEL}, lo: {_LABEL}, mid: {_LABEL}}}
    rows:
      - {{id: u-hi, when: m_pct >= params.cut, then: hi}}
      - {{id: u-lo, when: m_pct < params.cut, then: lo}}
      - {{id: u-mid, when: transactions.count in 3..7, then: mid}}
  a:
    hit: any
    values: {{bad: {_LABEL}, good: {_LABEL}}}
    default: good
    rows:
      - {{id: a-fraud, when: signals.fraud, then: bad}}
      - {{id: a-overdue, when: credit.overdue_payments >= 3, then: bad}}
      - {{id: a-flag, when: extra.flag, then: good}}
  p:
    hit: priority
    values: {{top: {_LABEL}, mid: {_LABEL}, low: {_LABEL}}}
    rows:
      - {{id: p-low, when: transactions.count >= 1, then: low}}
      - {{id: p-top, when: m_cum <= 0.5, then: top}}
      - {{id: p-mid, when: "transactions.growth_rate in [0.1, 0.5, 1, params.cut]", then: mid}}
      - {{id: p-top2, when: m_q10 >= 9, then: top}}
  f:
    hit: first
    values: {{one: {_LABEL}, two: {_LABEL}, three: {_LABEL}, four: {_LABEL}, five: {_LABEL}, six: {_LABEL}}}
    default: six
    rows:
      - {{id: f-list, when: "company.region in [extra.note, 'north', null]", then: one}}
      - {{id: f-notlist, when: "extra.note not in ['a', company.size]", then: two}}
      - {{id: f-str, when: m_coal_str == company.region and m_coal_bool, then: three}}
      - {{id: f-range, when: transactions.revenue not in 10..params.big, then: four}}
      - {{id: f-date, when: relationship.since < 2024-06-01 or days_since(extra.signed) > 400, then: five}}
      - {{id: f-enum, when: "relationship.level in ['friend', 'partner'] and relationship.since <= as_of", then: five}}
tiers:
  hit: first
  values: {{platinum: {_LABEL}, gold: {_LABEL}, iron: {_LABEL}, lead: {_LABEL}}}
  default: iron
  rows:
    - {{id: t-top, when: "segments.p == 'top' and rank(segments.f) <= 3", then: platinum}}
    - {{id: t-gold, when: m_q3 == 3 or (m_q7 >= 5 and not m_bool), then: gold}}
    - {{id: t-lead, when: m_minmax < 50 or m_arith < -10 or m_div0 is not null, then: lead}}
    - {{id: t-none, when: m_overflow is not null and days_since(relationship.since) > 100000, then: lead}}
stages:
  states: {{nurture: {_LABEL}, initial: {_LABEL}, stable: {_LABEL}, strategic: {_LABEL}, interrupted: {_LABEL}}}
  start: initial
  otherwise: interrupted
  transitions:
    - {{id: s-any, from: '*', to: nurture, when: "tier == 'lead'"}}
    - {{id: s-up, from: [initial, nurture], to: stable, when: relationship.share_of_wallet >= 0.5}}
    - {{id: s-keep, from: [stable, strategic, interrupted], to: strategic, when: "rank(tier) < 3"}}
churn:
  hit: priority
  score: min(coalesce(transactions.recency_days, 0) / 3, 100) + coalesce(loyalty.satisfaction, 1) * -10
  rows:
    - {{id: c-score, when: churn.score >= 20, kind: value_decline, risk: medium}}
    - {{id: c-fraud, when: signals.fraud, kind: expelled, risk: high}}
    - {{id: c-comp, when: signals.moved_to_competitor or extra.flag == false, kind: competitor, risk: high}}
    - {{id: c-prev, when: rank(tier) > rank(relationship.previous_tier), kind: value_decline, risk: high}}
actions:
  catalog:
    a1: {{title: {_LABEL}, owner: x}}
    a2: {{title: {_LABEL}, owner: x}}
    a3: {{title: {_LABEL}, owner: x}}
  rules:
    - {{id: r-always, do: [a2]}}
    - {{id: r-tier, when: "tier in ['platinum', 'gold'] and stage != 'nurture'", do: [a1, a3]}}
    - {{id: r-churn, when: "churn.kind == 'competitor' or churn.risk == 'high'", do: [a3, a1]}}
    - {{id: r-seg, when: "segments.u == 'hi' and segments.a != 'bad'", do: [a2, a3]}}
"""

STAY = f"""
policy: {{name: stay, version: "1", label: {_LABEL}}}
tiers:
  hit: unique
  values: {{gold: {_LABEL}, iron: {_LABEL}}}
  rows:
    - {{id: g, when: transactions.annual_profit > 1000, then: gold}}
    - {{id: i, when: transactions.annual_profit < 2000, then: iron}}
stages:
  states: {{nurture: {_LABEL}, initial: {_LABEL}, stable: {_LABEL}}}
  start: nurture
  transitions:
    - {{id: n-i, from: nurture, to: initial, when: transactions.count >= 1}}
    - {{id: i-s, from: initial, to: stable, when: not (relationship.contract_active == false)}}
    - {{id: s-i, from: '*', to: initial, when: signals.fraud}}
churn:
  hit: any
  rows:
    - {{id: c1, when: signals.fraud, kind: expelled, risk: high}}
    - {{id: c2, when: signals.bad_credit, kind: expelled, risk: medium}}
    - {{id: c3, when: signals.moved_to_competitor, kind: competitor, risk: high}}
"""

_TMP = tempfile.TemporaryDirectory(prefix="accountrules-vector-")


def _inline(name: str, text: str) -> Policy:
    path = Path(_TMP.name) / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return accountrules.load_policy(path)


# the shipped policies are loaded as they are: one that fails to load fails this module, not silently drops out
POLICIES: dict[str, Policy] = {"constructs": _inline("constructs", CONSTRUCTS), "stay": _inline("stay", STAY),
                               "small": accountrules.load_policy(ROOT / "examples" / "small" / "policy.yaml"),
                               **{n: accountrules.load_policy(ROOT / "rulesets" / n) for n in ("express", "postal")}}

STRATEGIES = {name: portfolios(p, max_size=25) for name, p in POLICIES.items()}


# ---- the reference: Policy.decide, one account at a time --------------------------------------------


def _row_of(policy: Policy, d: Decision) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tier": d.tier.code if d.tier else None, "tier_rule": d.tier.rule if d.tier else None,
        "stage_from": d.stage.from_.value if d.stage and d.stage.from_ else None,
        "stage": d.stage.to.value if d.stage else None,
        "stage_transition": d.stage.transition if d.stage else None,
        "churn_kind": d.churn.kind.value if d.churn else None, "churn_risk": d.churn.risk.value if d.churn else None,
        "churn_score": d.churn.score if d.churn else None, "churn_rule": d.churn.rule if d.churn else None,
        "actions": tuple(d.action_codes()),
        "action_rules": tuple(e.rule for e in d.trace if e.section == "actions"),
        "error": None, "error_rules": (),
    }
    for name in policy.spec.segments:
        o = d.segments.get(name)
        row[f"segment.{name}"] = o.code if o else None
        row[f"segment.{name}_rule"] = o.rule if o else None
    for name, v in d.metrics.items():
        row[f"metric.{name}"] = v
    return row


def _expected(policy: Policy, accounts: list[Any], stats: PortfolioStats) -> list[dict[str, Any]]:
    rows = []
    for a in accounts:
        try:
            rows.append(_row_of(policy, policy.decide(a, as_of=AS_OF, portfolio=stats)))
        except DecisionError as e:
            rows.append({"error": str(e), "error_rules": e.rules})
    return rows


def _check(policy: Policy, accounts: list[Any], got: dict[str, list[Any]], stats: PortfolioStats) -> None:
    want = _expected(policy, accounts, stats)
    assert set(got) == set(output_keys(policy, metrics=True))
    for i, w in enumerate(want):
        if w["error"] is not None:
            assert got["error"][i] is not None and w["error"].endswith(got["error"][i]), (i, got["error"][i], w)
            assert got["error_rules"][i] == w["error_rules"]
            assert all(got[k][i] is None for k in got if k not in ("error", "error_rules")), i
            continue
        for k, v in w.items():
            g = got[k][i]
            if isinstance(g, dt.date):
                g = g.isoformat()  # Decision.metrics holds dates as ISO text
            assert g == v and isinstance(g, bool) == isinstance(v, bool), (k, i, g, v)


def _batch(policy: Policy, accounts: list[Any]) -> ColumnBatch:
    envs = [env_of(a, policy.plan.extra_fields) for a in accounts]
    return ColumnBatch.from_envs(envs, kinds={f"extra.{k}": v for k, v in policy.spec.fields.items()})


def _accounts(dicts: list[dict[str, Any]]) -> list[Any]:
    return [to_account(a, i + 1) for i, a in enumerate(dicts)]


# ---- differential tests --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(POLICIES))
@SETTINGS
@given(data=st.data(), chunk=st.sampled_from([1, 3, 1 << 15]))
def test_batch_portfolio_agrees_with_decide(name: str, data: st.DataObject, chunk: int) -> None:
    policy = POLICIES[name]
    accounts = _accounts(data.draw(STRATEGIES[name]))
    stats = policy.portfolio_stats(accounts)
    batch = _batch(policy, accounts)
    got = decide_columns(policy, batch, as_of=AS_OF, chunk_size=chunk, metrics=True)
    _check(policy, accounts, got, stats)
    assert portfolio_stats(policy, batch, as_of=AS_OF) == stats


@pytest.mark.parametrize("name", [n for n in ("constructs", "express", "small") if n in POLICIES])
@settings(SETTINGS, max_examples=30)
@given(data=st.data())
def test_given_stats_agree_with_decide(name: str, data: st.DataObject) -> None:
    """Ranked against another portfolio's statistics (a CRM deciding one batch against stored stats)."""
    policy = POLICIES[name]
    accounts = _accounts(data.draw(STRATEGIES[name]))
    stats = policy.portfolio_stats(_accounts(data.draw(STRATEGIES[name])))
    stats = PortfolioStats.from_dict(stats.to_dict())  # as stored and read back
    got = decide_columns(policy, _batch(policy, accounts), as_of=AS_OF, stats=stats, metrics=True)
    _check(policy, accounts, got, stats)


# ---- inputs ------------------------------------------------------------------------------------------


@settings(SETTINGS, max_examples=10)
@given(dicts=STRATEGIES["constructs"])
def test_arrow_and_mapping_inputs_match_envs(dicts: list[dict[str, Any]]) -> None:
    pa = pytest.importorskip("pyarrow")
    policy = POLICIES["constructs"]
    accounts = _accounts(dicts)
    envs = [env_of(a, policy.plan.extra_fields) for a in accounts]
    base = _batch(policy, accounts)
    keys = list(base.columns)
    table = pa.table({k: pa.array([e.get(k) for e in envs], type=_arrow_type(pa, base.columns[k].kind))
                      for k in keys})
    mapping = {k: [e.get(k) for e in envs] for k in keys}
    want = decide_columns(policy, base, as_of=AS_OF, metrics=True)
    assert decide_columns(policy, ColumnBatch.from_arrow(table), as_of=AS_OF, metrics=True) == want
    assert decide_columns(policy, mapping, as_of=AS_OF, metrics=True) == want


def _arrow_type(pa: Any, kind: str) -> Any:
    return {"number": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "string": pa.string(),
            "null": pa.null()}[kind]


def test_numpy_columns_nan_and_masks_are_unknown() -> None:
    policy = POLICIES["small"]
    cols = {
        "transactions.annual_profit": np.array([-5.0, 10.0, np.nan, 300.0]),
        "transactions.marketing_cost": np.ma.masked_array([1.0, 1.0, 1.0, 100.0], mask=[False, False, False, True]),
        "relationship.stage": np.array(["initial", "stable", "nurture", "initial"]),
        "relationship.share_of_wallet": np.array([0.9, 0.9, 0.1, 0.6]),
        "transactions.recency_days": np.array([1, 200, 3, 4]),
    }
    out = decide_columns(policy, cols, as_of=AS_OF)
    assert out["tier"] == ["lead", "gold", "iron", "iron"]  # 10 ranks 1 of 2 known contributions: not top 20%
    assert out["stage"] == ["stable", "interrupted", "nurture", "stable"]
    assert out["stage_from"] == ["initial", "stable", "nurture", "initial"]


def test_missing_columns_are_unknown_and_empty_batches_work() -> None:
    policy = POLICIES["express"] if "express" in POLICIES else POLICIES["small"]
    # contacts.* are derived from the contact list, never unknown for an Account: give them as columns
    out = decide_columns(policy, {"transactions.annual_profit": [1.0, None], "contacts.decider_supports": [False] * 2,
                                  "contacts.has_decider": [False] * 2, "contacts.count": [0, 0]}, as_of=AS_OF)
    want = policy.decide({"id": "x", "transactions": {"annual_profit": 1.0}}, as_of=AS_OF,
                         portfolio=policy.portfolio_stats([{"id": "x", "transactions": {"annual_profit": 1.0}},
                                                           {"id": "y"}]))
    assert out["tier"][0] == (want.tier.code if want.tier else None)
    assert out["actions"][0] == tuple(want.action_codes())
    empty = decide_columns(policy, ColumnBatch({}, 0), as_of=AS_OF)
    assert all(v == [] for v in empty.values())


def test_wrong_column_kind_and_missing_statistics_are_errors() -> None:
    policy = POLICIES["small"]
    with pytest.raises(TypeError, match="transactions.annual_profit"):
        decide_columns(policy, {"transactions.annual_profit": Column.from_values("string", ["a"])}, as_of=AS_OF)
    with pytest.raises(PortfolioRequiredError):
        decide_columns(policy, {"transactions.annual_profit": [1.0]}, as_of=AS_OF, stats=PortfolioStats({}, 0))


def test_unique_conflicts_are_reported_per_row_not_raised() -> None:
    policy = POLICIES["stay"]
    out = decide_columns(policy, {"transactions.annual_profit": [1500.0, 500.0, 5000.0]}, as_of=AS_OF)
    assert out["error"][0] == "tier is 'unique' but rows g, i all match"
    assert out["error_rules"][0] == ("g", "i")
    assert out["tier"] == [None, "iron", "gold"] and out["stage"][0] is None
    with pytest.raises(DecisionError) as info:
        policy.decide({"id": "A", "transactions": {"annual_profit": 1500.0}}, as_of=AS_OF)
    assert str(info.value).endswith(out["error"][0])
