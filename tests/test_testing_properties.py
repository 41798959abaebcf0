"""Property checks of policies (``accountrules.testing.properties``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from accountrules.parse.yaml_source import load_yaml_text
from accountrules.policy import Policy, load_policy
from accountrules.testing.cases import parse_case_file
from accountrules.testing.properties import (
    check_policy_properties,
    output_order,
    read_fields,
    run_properties,
)
from accountrules.testing.runner import run_cases

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small" / "policy.yaml"
HEAD = """\
policy:
  name: p
  version: "1"
  label: {zh: 测试, en: Test}
"""
TIERS = """\
tiers:
  hit: first
  values:
    gold: {zh: 黄金, en: Gold}
    iron: {zh: 钢铁, en: Iron}
  default: iron
  rows:
    - id: iron-very-large
      when: transactions.annual_profit > 5000000
      then: iron
    - id: gold-large
      when: transactions.annual_profit >= 1000000
      then: gold
"""


def policy_from(tmp_path: Path, text: str) -> Policy:
    (tmp_path / "policy.yaml").write_text(HEAD + text, encoding="utf-8")
    return load_policy(tmp_path)


def replay(policy: Policy, counterexample: str) -> None:
    """A counterexample is a case file that loads and passes as it is."""
    cases = parse_case_file(load_yaml_text(counterexample, file="counterexample.yaml"), policy)
    report = run_cases(policy, [cases])
    assert report.ok, [r.mismatches or r.error for r in report.results]


def test_the_small_example_has_every_property() -> None:
    assert check_policy_properties(load_policy(SMALL), examples=25, seed=1) == []


@pytest.mark.parametrize("direction", ["increasing", "decreasing"])
def test_a_non_monotonic_tier_is_caught(tmp_path: Path, direction: str) -> None:
    policy = policy_from(tmp_path, TIERS + f"""\
monotonic:
  - field: transactions.annual_profit
    direction: {direction}
    output: tier
""")
    failures = check_policy_properties(policy, examples=60, seed=3)
    assert [f.name for f in failures] == [f"monotonic transactions.annual_profit {direction} -> tier"]
    (f,) = failures
    assert f.location is not None and f.location.line == 19
    assert f.message.startswith("raising transactions.annual_profit from ")
    if direction == "increasing":  # raising the profit past 5,000,000 drops gold to iron
        assert "lowers tier from gold to iron" in f.message
    else:  # raising the profit to 1,000,000 lifts iron to gold
        assert "raises tier from iron to gold" in f.message
    text = f.counterexample
    assert text.startswith("# accountrules check: monotonic transactions.annual_profit")
    assert "name: 'before: transactions.annual_profit = " in text and "tier: gold" in text
    assert "name: 'after: transactions.annual_profit = " in text and "tier: iron" in text
    replay(policy, text)


def test_a_monotonic_policy_passes(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, TIERS.replace("annual_profit > 5000000", "annual_profit < 0") + """\
monotonic:
  - field: transactions.annual_profit
    direction: increasing
    output: tier
""")
    results = run_properties(policy, examples=40, seed=1)
    assert [(r.name, r.passed) for r in results] == [
        ("completeness", True), ("determinism", True), ("json round trip", True),
        ("monotonic transactions.annual_profit increasing -> tier", True)]


def test_a_tier_table_without_default_is_incomplete(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, TIERS.replace("  default: iron\n", ""))
    failures = check_policy_properties(policy, examples=40, seed=1)
    assert [f.name for f in failures] == ["completeness"]
    assert "gets no tier" in failures[0].message
    assert "tier: null" in failures[0].counterexample
    replay(policy, failures[0].counterexample)


def test_a_decision_error_is_incomplete_and_reported_as_a_case(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, TIERS.replace("hit: first", "hit: unique").replace(
        "annual_profit > 5000000", "annual_profit > 2000000"))
    failures = check_policy_properties(policy, examples=60, seed=1)
    assert [f.name for f in failures] == ["completeness"]
    f = failures[0]
    assert "cannot be decided" in f.message and "iron-very-large, gold-large" in f.message
    assert "# case 'cannot be decided' cannot be decided:" in f.counterexample
    cases = parse_case_file(load_yaml_text(f.counterexample, file="c.yaml"), policy)
    assert [r.status for r in run_cases(policy, [cases]).results] == ["ERROR"]


def test_output_orders(tmp_path: Path) -> None:
    small = load_policy(SMALL)
    assert output_order(small, "tier") == ["platinum", "gold", "iron", "lead"]
    assert output_order(small, "churn.risk") == ["high", "medium", "low"]
    assert output_order(small, "stage")[0] == "interrupted"
    with pytest.raises(ValueError):
        output_order(small, "segments.abc")


def test_read_fields() -> None:
    assert read_fields(load_policy(SMALL)) == [
        "credit.overdue_payments", "relationship.previous_tier", "relationship.share_of_wallet",
        "relationship.stage", "signals.fraud", "transactions.annual_profit", "transactions.marketing_cost",
        "transactions.recency_days"]


def test_check_words_a_failed_property_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `accountrules check --lang zh` printed "raising transactions.annual_profit from 1 to 5000001 lowers
    # tier from iron to lead (account 'H0', all else equal, same portfolio statistics)" under 失败
    from accountrules.cli import main

    policy_from(tmp_path, TIERS + """\
monotonic:
  - field: transactions.annual_profit
    direction: increasing
    output: tier
""")
    args = ["check", str(tmp_path), "--examples", "60", "--seed", "3"]
    assert main([*args, "--lang", "zh"]) == 1
    lines = capsys.readouterr().out.splitlines()
    zh = lines[next(i for i, x in enumerate(lines) if x.startswith("失败")) + 1]  # the line saying what failed
    assert "raising" not in zh and "all else equal" not in zh
    assert "将 transactions.annual_profit 从 " in zh and "tier 从 gold 降为 iron" in zh
    assert main(args + ["--lang", "en"]) == 1
    assert "lowers tier from gold to iron" in capsys.readouterr().out
