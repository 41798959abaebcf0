"""The pytest plugin: policy case files collected as pytest items."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from accountrules.testing.runner import durable_available, vector_available

pytest_plugins = ["pytester"]

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small" / "policy.yaml"

CASES = """\
portfolio:
  - {id: P1, transactions: {annual_profit: 100000, marketing_cost: 100000}}
  - {id: P2, transactions: {annual_profit: 200000, marketing_cost: 100000}}
  - {id: P3, transactions: {annual_profit: 300000, marketing_cost: 100000}}
  - {id: P4, transactions: {annual_profit: 400000, marketing_cost: 100000}}
as_of: 2026-06-30
cases:
  - name: top profit is platinum
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}}
    expect: {tier: platinum}
  - name: overdue payments keep it gold
    given: {id: A2, transactions: {annual_profit: 900000, marketing_cost: 100000}, credit: {overdue_payments: 3}}
    expect: {tier: platinum}
"""

ONE_CASE = """\
cases:
  - name: a loss is lead
    given: {id: A1, transactions: {annual_profit: -1}}
    expect: {tier: lead}
"""


@pytest.fixture(scope="module", autouse=True)
def warm_imports() -> None:
    """pytester's in-process runs drop the modules they import; import the engine's once, here."""
    from accountrules.policy import load_policy

    load_policy(SMALL).decide_many([{"id": "warm"}])


def make_policy(root: Path, where: str, cases: str = CASES) -> Path:
    d = root / where
    (d / "tests").mkdir(parents=True)
    shutil.copy(SMALL, d / "policy.yaml")
    (d / "tests" / "cases.yaml").write_text(cases, encoding="utf-8")
    return d


def test_each_case_is_an_item_with_a_readable_failure(pytester: pytest.Pytester) -> None:
    d = make_policy(pytester.path, "pol")
    (d / "tests" / "fixtures.yaml").write_text("accounts: [1, 2]\n", encoding="utf-8")  # not a case file
    (d / "other.yaml").write_text("cases: []\n", encoding="utf-8")  # not in tests/
    result = pytester.runpytest("--accountrules-engine=compiled", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*pol/tests/cases.yaml::top profit is platinum PASSED*",
        "*pol/tests/cases.yaml::overdue payments keep it gold FAILED*",
    ])
    out = result.stdout.str()
    assert "pol/tests/cases.yaml:13:20: tier: expected platinum, got gold" in out
    assert "Tier: Gold (gold)  — rule gold-profitable" in out
    assert "tier gold-profitable -> gold  (pol/policy.yaml:33:7)" in out
    assert "fixtures.yaml" not in out


def test_node_ids_select_cases(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol")
    result = pytester.runpytest("--accountrules-engine=compiled", "pol/tests/cases.yaml::top profit is platinum")
    result.assert_outcomes(passed=1)


@pytest.mark.skipif(not (durable_available() and vector_available()), reason="an evaluator is not available")
def test_every_engine_by_default(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol", ONE_CASE)
    result = pytester.runpytest("--co", "-q")
    result.stdout.fnmatch_lines([
        "pol/tests/cases.yaml::a loss is lead[[]compiled[]]",
        "pol/tests/cases.yaml::a loss is lead[[]durable[]]",
        "pol/tests/cases.yaml::a loss is lead[[]vector[]]",
    ])
    pytester.runpytest().assert_outcomes(passed=3)
    pytester.runpytest("--accountrules-engine=all").assert_outcomes(passed=3)
    pytester.runpytest("--accountrules-engine=both").assert_outcomes(passed=2)
    pytester.runpytest("--accountrules-engine=durable").assert_outcomes(passed=1)
    pytester.runpytest("--accountrules-engine=vector", "-v").stdout.fnmatch_lines(
        ["*a loss is lead PASSED*"])


def test_an_unknown_engine_is_a_usage_error_with_a_suggestion(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol", ONE_CASE)
    result = pytester.runpytest("--accountrules-engine=durabel")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown engine 'durabel': choose one of compiled, durable, vector, auto, all, "
                                 "both; did you mean 'durable'?*"])


def test_examples_and_rulesets_only_when_asked_for(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol", ONE_CASE)
    make_policy(pytester.path, "examples/ex", ONE_CASE)
    make_policy(pytester.path, "rulesets/rs", ONE_CASE)
    engine = "--accountrules-engine=compiled"

    def collected(*args: str) -> set[str]:
        result = pytester.runpytest(engine, "--co", "-q", *args)
        return {line.split("/tests/")[0] for line in result.stdout.lines if "::" in line}

    assert collected() == {"pol"}
    assert collected(".") == {"pol"}
    assert collected("rulesets") == {"rulesets/rs"}
    assert collected("pol", "examples", "rulesets/rs/tests/cases.yaml") == {"pol", "examples/ex", "rulesets/rs"}
    pytester.makeini("[pytest]\ntestpaths = pol rulesets\n")
    assert collected() == {"pol", "rulesets/rs"}


def test_a_broken_case_file_is_a_collection_error_with_its_location(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol", ONE_CASE.replace("tier: lead", "tier: leed"))
    result = pytester.runpytest("--accountrules-engine=compiled")
    result.assert_outcomes(errors=1)
    assert "pol/tests/cases.yaml:4:20: reference error: expected tier 'leed'" in result.stdout.str()
    assert "did you mean 'lead'?" in result.stdout.str()


def test_bad_yaml_and_bad_policies_are_reported(pytester: pytest.Pytester) -> None:
    make_policy(pytester.path, "pol", "cases: [\n")
    bad = make_policy(pytester.path, "bad", ONE_CASE)
    (bad / "policy.yaml").write_text("policy: {name: bad}\n", encoding="utf-8")
    result = pytester.runpytest("--accountrules-engine=compiled")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "pol/tests/cases.yaml:2:1: syntax error" in out
    assert "bad/policy.yaml" in out and "needs 'version'" in out
