"""Decide stage: hit policies, stage steps, churn, actions, trace, explanations, isolation."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules import Decision, DecisionError, Policy
from accountrules.errors import PortfolioRequiredError

AS_OF = dt.date(2026, 6, 30)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "small"

HEAD = """\
policy: {name: t, version: "1", label: {zh: 测试, en: test}}
"""


def policy_from(tmp_path: Path, body: str, name: str = "p.yaml") -> Policy:
    p = tmp_path / name
    p.write_text(HEAD + body, encoding="utf-8")
    return accountrules.load_policy(p)


def acct(**groups: Any) -> dict[str, Any]:
    return {"id": groups.pop("id", "A1"), **groups}


TABLE = """\
tiers:
  hit: {hit}
  values: {{gold: 黄金, silver: 白银, iron: 钢铁}}
  {default}
  rows:
    - {{id: big, when: transactions.revenue >= 100, then: {big}}}
    - {{id: mid, when: transactions.revenue >= 50, then: silver}}
    - {{id: any, when: transactions.revenue >= 0, then: iron}}
"""


def table(tmp_path: Path, hit: str, big: str = "gold", default: str = "") -> Policy:
    return policy_from(tmp_path, TABLE.format(hit=hit, big=big, default=default))


def tier_of(p: Policy, revenue: float | None) -> str | None:
    d = p.decide(acct(transactions={"revenue": revenue}), as_of=AS_OF)
    return d.tier.code if d.tier else None


# -- hit policies (DMN semantics) ---------------------------------------------------------------


def test_first_takes_the_first_matching_row(tmp_path: Path) -> None:
    p = table(tmp_path, "first")
    assert [tier_of(p, r) for r in (150, 60, 1)] == ["gold", "silver", "iron"]


def test_no_match_without_default_gives_no_tier_and_with_default_the_default(tmp_path: Path) -> None:
    assert tier_of(table(tmp_path, "first"), None) is None
    p = table(tmp_path, "first", default="default: iron")
    d = p.decide(acct(), as_of=AS_OF)
    assert d.tier is not None and d.tier.code == "iron" and d.tier.rule is None
    assert d.trace[0].note == "default"


def test_unique_raises_naming_the_rows(tmp_path: Path) -> None:
    p = table(tmp_path, "unique")
    with pytest.raises(DecisionError) as info:
        tier_of(p, 150)
    assert info.value.rules == ("big", "mid", "any")
    assert info.value.account_id == "A1"


def test_priority_picks_the_output_listed_first(tmp_path: Path) -> None:
    p = policy_from(tmp_path, TABLE.format(hit="priority", big="gold", default="").replace(
        "- {id: big", "- {id: low, when: transactions.revenue >= 0, then: iron}\n    - {id: big"))
    assert tier_of(p, 150) == "gold"
    assert tier_of(p, 60) == "silver"


def test_any_requires_agreement(tmp_path: Path) -> None:
    p = table(tmp_path, "any", big="iron")
    assert tier_of(p, 10) == "iron"
    with pytest.raises(DecisionError, match="disagree"):
        tier_of(p, 60)


# -- stages --------------------------------------------------------------------------------------

STAGES = """\
params: {{gap: 180}}
stages:
  states: {{nurture: 孕育, initial: 初期合作, stable: 稳定合作, strategic: 战略合作, interrupted: 间断}}
  start: nurture
  otherwise: {otherwise}
  transitions:
    - {{id: stop, from: '*', to: interrupted, when: transactions.recency_days > params.gap}}
    - {{id: start, from: nurture, to: initial, when: relationship.share_of_wallet >= 0.3}}
    - {{id: grow, from: initial, to: stable, when: relationship.share_of_wallet >= 0.5}}
    - {{id: back, from: interrupted, to: initial, when: transactions.recency_days <= 30}}
"""


def stage_of(p: Policy, stage: str | None, sow: float | None = None, recency: int | None = None) -> Any:
    d = p.decide(acct(relationship={"stage": stage, "share_of_wallet": sow},
                      transactions={"recency_days": recency}), as_of=AS_OF)
    assert d.stage is not None
    return d.stage


def test_one_step_per_decision_and_from_any_state(tmp_path: Path) -> None:
    p = policy_from(tmp_path, STAGES.format(otherwise="stay"))
    s = stage_of(p, "nurture", sow=0.9)
    assert (s.from_, s.to, s.transition, s.changed) == ("nurture", "initial", "start", True)  # not to stable
    assert stage_of(p, "stable", recency=365).to == "interrupted"
    assert stage_of(p, "interrupted", recency=10).to == "initial"
    s = stage_of(p, None)
    assert (s.from_, s.to, s.transition) == (None, "nurture", None)


def test_no_guard_holds_stays_or_goes_to_otherwise(tmp_path: Path) -> None:
    stay = stage_of(policy_from(tmp_path, STAGES.format(otherwise="stay")), "stable", sow=0.5)
    assert (stay.to, stay.transition, stay.changed) == ("stable", None, False)
    other = stage_of(policy_from(tmp_path, STAGES.format(otherwise="nurture"), "q.yaml"), "stable", sow=0.5)
    assert other.to == "nurture"


def test_unknown_guard_inputs_do_not_fire(tmp_path: Path) -> None:
    p = policy_from(tmp_path, STAGES.format(otherwise="stay"))
    assert stage_of(p, "strategic", recency=None).to == "strategic"


# -- the example policy end to end -----------------------------------------------------------


def portfolio() -> list[dict[str, Any]]:
    return [
        acct(id=f"A{i}", transactions={"annual_profit": i * 10_000, "marketing_cost": 5_000},
             relationship={"stage": "initial", "share_of_wallet": 0.6, "previous_tier": "platinum"})
        for i in range(10)
    ]


@pytest.fixture(scope="module")
def small() -> Policy:
    return accountrules.load_policy(EXAMPLE)


def test_example_policy_decides_with_trace(small: Policy) -> None:
    ds = small.decide_many(portfolio(), as_of=AS_OF)
    top = ds[9]
    assert top.tier is not None and top.tier.code == "platinum" and top.tier.rule == "platinum-top"
    entry = next(t for t in top.trace if t.section == "tier")
    assert entry.inputs["percentile(profit_contribution)"] == 0.9
    assert entry.inputs["profit_contribution"] == 18.0
    assert entry.seed == ("T1", "T2", "T13")
    assert entry.location is not None and entry.location.endswith(":14:7") is False  # points at the row
    assert [a.code for a in top.actions] == ["dedicated_manager"]
    item = top.actions[0]
    assert item.due == AS_OF + dt.timedelta(days=14)
    assert item.key == "A9:dedicated_manager:1.0"
    assert item.reasons == ("top-tier-manager",)
    low = ds[0]
    assert low.tier is not None and low.tier.code == "lead"
    assert low.churn is not None and low.churn.kind == "value_decline"  # platinum -> lead (C1 value decline)


def test_explain_in_both_languages(small: Policy) -> None:
    d = small.decide_many(portfolio(), as_of=AS_OF)[9]
    en, zh = d.explain("en"), d.explain("zh")
    assert "Tier: Platinum (platinum)" in en and "percentile(profit_contribution) = 0.9" in en
    assert "客户等级: 铂金 (platinum)" in zh and "指派专属大客户经理" in zh
    with pytest.raises(ValueError):
        d.explain("fr")


def test_json_round_trip_is_exact(small: Policy) -> None:
    for d in small.decide_many(portfolio(), as_of=AS_OF):
        text = d.model_dump_json()
        assert Decision.model_validate_json(text) == d
        assert '"from":' in text


def test_portfolio_functions_need_a_portfolio(small: Policy) -> None:
    with pytest.raises(PortfolioRequiredError, match="decide_many"):
        small.decide(portfolio()[0], as_of=AS_OF)


def test_decide_with_precomputed_stats_equals_decide_many(small: Policy) -> None:
    accounts = portfolio()
    stats = small.portfolio_stats(accounts)
    many = small.decide_many(accounts, as_of=AS_OF)
    assert [small.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts] == list(many)
    again = accountrules.PortfolioStats.from_dict(stats.to_dict())
    assert small.decide(accounts[3], as_of=AS_OF, portfolio=again) == many[3]


def test_bad_account_is_a_typed_error(small: Policy) -> None:
    stats = small.portfolio_stats(portfolio())
    with pytest.raises(accountrules.AccountValidationError) as info:
        small.decide({"id": "X", "relationship": {"share_of_wallet": 1.7}}, as_of=AS_OF, portfolio=stats)
    assert info.value.problems[0][0] == "relationship.share_of_wallet"
    with pytest.raises(accountrules.AccountValidationError, match="colour"):
        small.decide({"id": "X", "colour": "red"}, as_of=AS_OF, portfolio=stats)


def test_two_versions_of_one_policy_do_not_interfere(tmp_path: Path) -> None:
    text = (EXAMPLE / "policy.yaml").read_text(encoding="utf-8")
    v1 = tmp_path / "v1.yaml"
    v2 = tmp_path / "v2.yaml"
    v1.write_text(text, encoding="utf-8")
    v2.write_text(text.replace('version: "1.0"', 'version: "2.0"').replace("top_cut: 0.8", "top_cut: 0.95"),
                  encoding="utf-8")
    p1, p2 = accountrules.load_policy(v1), accountrules.load_policy(v2)
    again = accountrules.load_policy(v1)
    accounts = portfolio()
    d1, d2, d3 = (p.decide_many(accounts, as_of=AS_OF)[8] for p in (p1, p2, again))
    assert d1.tier is not None and d1.tier.code == "platinum"
    assert d2.tier is not None and d2.tier.code == "gold"
    assert d1 == d3
    assert p1.ref.hash != p2.ref.hash and d2.policy.version == "2.0"


def test_decisions_are_thread_safe(small: Policy) -> None:
    accounts = portfolio() * 30
    for i, a in enumerate(accounts):
        a = dict(a)
        accounts[i] = {**a, "id": f"T{i}"}
    stats = small.portfolio_stats(accounts)
    expected = [small.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts]
    results: dict[int, list[Decision]] = {}

    def work(k: int) -> None:
        results[k] = [small.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[k] == expected for k in range(4))


def test_library_does_not_print(small: Policy, capsys: pytest.CaptureFixture[str]) -> None:
    small.decide_many(portfolio(), as_of=AS_OF)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
