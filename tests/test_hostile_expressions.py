"""Hostile expression text is refused with a located PolicyError, never a crash (issue: nothing crashes).

Long operator chains, huge and non-finite number literals and random token soup: the loader either
accepts the policy (and then every evaluator decides it) or raises a PolicyError with a location.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import PolicyError
from accountrules.parse.expr_parser import MAX_TREE_DEPTH

POLICY = """\
policy: {{name: hostile, version: "1", label: {{zh: 测试, en: Test}}}}
tiers:
  hit: first
  values: {{gold: {{zh: 黄金, en: Gold}}, iron: {{zh: 钢铁, en: Iron}}}}
  default: iron
  rows:
    - id: r1
      when: '{when}'
      then: gold
"""
ACCOUNT = {"id": "A1", "transactions": {"annual_revenue": 5, "annual_profit": 1, "marketing_cost": 2}}
ENGINES = ["compiled"] + (["durable"] if importlib.util.find_spec("durable") else [])


def _load(tmp_path: Path, when: str) -> accountrules.Policy:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY.format(when=when.replace("'", "''")), encoding="utf-8")
    return accountrules.load_policy(path)


def _refused(tmp_path: Path, when: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        _load(tmp_path, when)
    loc = info.value.location
    assert loc is not None and loc.file.endswith("p.yaml") and loc.line == 8
    return info.value


def test_a_long_operator_chain_is_refused_before_the_checker_recurses(tmp_path: Path) -> None:
    # 495 terms, 990 characters: under the 4,000-character limit; it crashed with RecursionError before
    e = _refused(tmp_path, "1" + "+1" * 494 + " > 1")
    assert f"{MAX_TREE_DEPTH} operations deep" in str(e)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_chain_just_under_the_limit_decides_on_every_evaluator(tmp_path: Path, engine: str) -> None:
    assert MAX_TREE_DEPTH - 3 >= 96  # the chains below fit under the limit
    policy = _load(tmp_path, "transactions.annual_revenue" + " + 1" * 94 + " > 100")
    d = policy.decide(ACCOUNT, as_of=dt.date(2026, 6, 30), engine=engine)
    assert d.tier is not None and d.tier.code == "iron"  # 5 + 94 = 99
    d2 = _load(tmp_path, "transactions.annual_revenue" + " + 1" * 96 + " > 100").decide(
        ACCOUNT, as_of=dt.date(2026, 6, 30), engine=engine)
    assert d2.tier is not None and d2.tier.code == "gold"


@pytest.mark.parametrize("literal", ["9" * 309, "1e400", "-1e309", "9007199254740993", "99999999999999999w",
                                     "1" * 3000])
def test_numbers_out_of_range_are_refused_with_a_location(tmp_path: Path, literal: str) -> None:
    e = _refused(tmp_path, f"transactions.annual_revenue > {literal}")
    assert "number" in str(e) or "duration" in str(e)


@pytest.mark.parametrize("func", ["percentile", "cumshare"])
def test_a_huge_literal_inside_a_portfolio_function_is_refused(tmp_path: Path, func: str) -> None:
    _refused(tmp_path, f"{func}({'9' * 309}) > 0.5")


TOKENS = ["transactions.annual_revenue", "transactions.annual_profit", "1", "0.5", "1e308", "9" * 20, "+", "-",
          "*", "/", "(", ")", "and", "or", "not", ">", "<=", "==", "in", "[", "]", ",", "..", "is", "null",
          "percentile(", "ratio(", "coalesce(", "'x'", "2026-01-01", "3d", "true"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=60))
def test_token_soup_loads_or_is_a_located_policy_error(tmp_path: Path, tokens: list[str]) -> None:
    when = " ".join(tokens)
    try:
        policy = _load(tmp_path, when)
    except PolicyError as e:
        assert e.location is not None
        return
    stats = policy.portfolio_stats([ACCOUNT], as_of=dt.date(2026, 6, 30))
    outcomes = set()
    for engine in ENGINES:
        # an accepted policy may still fail to decide an account (e.g. a type error on its values); that
        # must be a DecisionError, and every evaluator must reach the same outcome
        try:
            d = policy.decide(ACCOUNT, as_of=dt.date(2026, 6, 30), portfolio=stats, engine=engine)
            outcomes.add(d.model_dump_json())
        except accountrules.DecisionError as e:
            outcomes.add(f"error: {e}")
    assert len(outcomes) == 1


PARAM_POLICY = """\
policy: {{name: hostile, version: "1", label: {{zh: 测试, en: Test}}}}
params:
  cut: {value}
tiers:
  hit: first
  values: {{gold: {{zh: 黄金, en: Gold}}, iron: {{zh: 钢铁, en: Iron}}}}
  default: iron
  rows:
    - id: r1
      when: percentile(transactions.annual_revenue) > params.cut
      then: gold
"""


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "9" * 309, "1.0e+400", "9007199254740993"])
def test_a_param_out_of_range_is_refused_with_its_location(tmp_path: Path, value: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PARAM_POLICY.format(value=value), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(path)
    assert info.value.location is not None and info.value.location.line == 3
    assert "out of range" in str(info.value)


ACTION_POLICY = """\
policy: {{name: hostile, version: "1", label: {{zh: 测试, en: Test}}}}
actions:
  catalog:
    call:
      title: {{zh: 电话, en: Call}}
      owner: account_manager
      due: {due}
  rules:
    - id: a1
      when: transactions.annual_revenue > 1
      do: [call]
"""


@pytest.mark.parametrize("due", ["99999999999d", "99999999w", "36501", "36501d"])
def test_a_due_date_beyond_a_century_is_refused_with_its_location(tmp_path: Path, due: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(ACTION_POLICY.format(due=due), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(path)
    assert info.value.location is not None and info.value.location.line == 7
