"""Policy test cases: reading case files, running them, coverage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from accountrules.check.policy_files import clickable
from accountrules.errors import (
    EngineUnavailableError,
    PolicyError,
    PolicyErrors,
    PolicyLimitError,
    PolicyReferenceError,
    PolicySchemaError,
    UnknownEngineError,
)
from accountrules.policy import Policy, load_policy
from accountrules.testing import runner
from accountrules.testing.cases import CaseAccountError, default_case_paths, load_case_file
from accountrules.testing.runner import (
    durable_available,
    format_coverage,
    format_result,
    load_policy_for,
    run_case,
    run_cases,
    summary_line,
)

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small" / "policy.yaml"

PORTFOLIO = """\
portfolio:
  - {id: P1, transactions: {annual_profit: 100000, marketing_cost: 100000}}
  - {id: P2, transactions: {annual_profit: 200000, marketing_cost: 100000}}
  - {id: P3, transactions: {annual_profit: 300000, marketing_cost: 100000}}
  - {id: P4, transactions: {annual_profit: 400000, marketing_cost: 100000}}
as_of: 2026-06-30
"""

RICH = """\
policy:
  name: rich
  version: "1.0"
  label: {zh: 测试, en: Test}
segments:
  size:
    hit: first
    values: {big: {zh: 大, en: Big}, small: {zh: 小, en: Small}}
    default: small
    rows:
      - id: size-big
        when: transactions.annual_revenue >= 1000000
        then: big
tiers:
  hit: unique
  values: {gold: {zh: 金, en: Gold}, iron: {zh: 铁, en: Iron}}
  default: iron
  rows:
    - id: gold-big
      when: segments.size == 'big'
      then: gold
    - id: gold-loyal
      when: loyalty.satisfaction >= 0.9
      then: gold
churn:
  hit: first
  score: coalesce(transactions.recency_days, 0) / 100
  rows:
    - id: churn-stale
      when: churn.score > 1
      kind: voluntary
      risk: high
actions:
  catalog:
    visit: {title: {zh: 拜访, en: Visit}, owner: sales, priority: high, due: 7d}
    call: {title: {zh: 电话, en: Call}, owner: sales, priority: low, due: 3d}
  rules:
    - id: visit-gold
      when: tier == 'gold'
      do: [visit]
    - id: call-risky
      when: churn.risk == 'high'
      do: [call, visit]
"""


@pytest.fixture(scope="module")
def small() -> Policy:
    return load_policy(SMALL)


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    d = tmp_path_factory.mktemp("rich")
    (d / "policy.yaml").write_text(RICH, encoding="utf-8")
    return load_policy(d)


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path, policy: Policy) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        load_case_file(path, policy, display_name="cases.yaml")
    return info.value


def where(e: PolicyError) -> list[tuple[str, int, int]]:
    return [(x.location.file, x.location.line, x.location.column) for x in e.errors if x.location]


# -- running ---------------------------------------------------------------------------------------


def test_pass_and_fail_with_expected_vs_actual(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, PORTFOLIO + """\
cases:
  - name: top profit with clean credit is platinum
    seed: [T1, T2]
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}, credit: {overdue_payments: 0}}
    expect:
      tier: platinum
      fired: [platinum-top]
      actions: [dedicated_manager]
      stage: nurture
      churn: {kind: none, risk: low}
  - name: wrong on purpose
    given: {id: A2, transactions: {annual_profit: 250000, marketing_cost: 100000},
            relationship: {stage: initial, share_of_wallet: 0.6}}
    expect:
      tier: platinum
      stage: {from: initial, to: stable, transition: nurture-to-initial}
      actions: {include: [dedicated_manager]}
      fired: [platinum-top]
""")
    cases = load_case_file(path, small)
    report = run_cases(small, [cases])
    assert [r.status for r in report.results] == ["PASS", "FAIL"]
    assert (report.passed, report.failed, report.errors) == (1, 1, 0)
    fail = report.results[1]
    got = {m.key: (m.expected, m.actual) for m in fail.mismatches}
    assert got["tier"] == ("platinum", "gold")
    assert got["stage.transition"] == ("nurture-to-initial", "initial-to-stable")
    assert "missing dedicated_manager" in got["actions.include"][1]
    assert "missing platinum-top" in got["fired"][1]
    assert "stage" not in got and "stage.from" not in got  # those held
    tier = next(m for m in fail.mismatches if m.key == "tier")
    assert tier.location is not None and (tier.location.line, tier.location.column) == (21, 13)
    text = "\n".join(format_result(fail))
    assert "tier: expected platinum, got gold" in text
    assert "Tier: Gold (gold)  — rule gold-profitable" in text  # the explanation
    # the policy's location as the loader named it: relative to the working directory (or absolute)
    assert f"tier gold-profitable -> gold  ({clickable(SMALL)}:33:7)" in text
    assert format_result(report.results[0]) == [f"PASS  [compiled] {path}::top profit with clean credit is platinum"]


def test_the_case_account_is_ranked_among_the_portfolio_plus_itself(tmp_path: Path, small: Policy) -> None:
    account = "{id: A1, transactions: {annual_profit: 500000, marketing_cost: 100000}}"
    alone = write(tmp_path, f"""\
        as_of: 2026-06-30
        cases:
          - name: alone
            given: {account}
            expect: {{tier: gold}}
        """, "alone.yaml")
    among = write(tmp_path, PORTFOLIO + f"""\
cases:
  - name: top of a weak portfolio
    given: {account}
    expect: {{tier: platinum}}
""", "among.yaml")
    report = run_cases(small, [load_case_file(alone, small), load_case_file(among, small)])
    assert [r.status for r in report.results] == ["PASS", "PASS"], [r.mismatches for r in report.results]


def test_every_kind_of_expectation(tmp_path: Path, rich: Policy) -> None:
    path = write(tmp_path, """\
        as_of: 2026-06-30
        cases:
          - name: big stale account
            given: {id: A, transactions: {annual_revenue: 2000000, recency_days: 150}}
            expect:
              tier: gold
              segments: {size: big}
              churn: {kind: voluntary, risk: high, score: 1.5000000001}
              actions: [visit, call]
              fired: [size-big, gold-big, churn-stale, visit-gold, call-risky]
          - name: small fresh account
            given: {id: B, transactions: {annual_revenue: 10, recency_days: 10}}
            expect:
              tier: iron
              segments: {size: small}
              churn: {kind: none, risk: low, score: 0.1}
              actions: {exclude: [visit, call]}
          - name: every expectation wrong
            given: {id: C, transactions: {annual_revenue: 10, recency_days: 10}}
            expect:
              tier: gold
              segments: {size: big}
              churn: {kind: voluntary, risk: high, score: 0.2}
              actions: [visit]
          - name: exclusions that are present
            given: {id: D, transactions: {annual_revenue: 2000000}}
            expect: {actions: {exclude: [visit]}}
        """)
    report = run_cases(rich, [load_case_file(path, rich)])
    assert [r.status for r in report.results] == ["PASS", "PASS", "FAIL", "FAIL"]
    keys = [m.key for m in report.results[2].mismatches]
    assert keys == ["tier", "segments.size", "churn.kind", "churn.risk", "churn.score", "actions"]
    score = report.results[2].mismatches[4]
    assert (score.expected, score.actual) == ("≈ 0.2", "0.1")
    (excluded,) = report.results[3].mismatches
    assert excluded.key == "actions.exclude" and "includes visit" in excluded.actual


def test_a_decision_error_is_an_error_result(tmp_path: Path, rich: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: two unique rows match
            given: {id: A, transactions: {annual_revenue: 2000000}, loyalty: {satisfaction: 0.95}}
            expect: {tier: gold}
        """)
    (case,) = load_case_file(path, rich).cases
    result = run_case(rich, case)
    assert result.status == "ERROR"
    assert result.error is not None and "gold-big, gold-loyal" in result.error
    assert "DecisionError" in "\n".join(format_result(result))
    report = run_cases(rich, [case])
    assert (report.passed, report.failed, report.errors) == (0, 0, 1)
    assert not report.ok


def test_summary_line() -> None:
    assert summary_line(3, 0, 0) == "3 passed, 0 failed"
    assert summary_line(3, 1, 2) == "3 passed, 1 failed, 2 errors"


@pytest.mark.skipif(not durable_available(), reason="the durable evaluator is not available")
def test_both_engines_give_one_result_each(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, PORTFOLIO + """\
cases:
  - name: top
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}}
    expect: {tier: platinum}
""")
    report = run_cases(small, [load_case_file(path, small)], ("compiled", "durable"))
    assert [(r.engine, r.status) for r in report.results] == [("compiled", "PASS"), ("durable", "PASS")]


def test_default_engines_fall_back_when_durable_cannot_run_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    import accountrules.policy

    real = accountrules.policy.load_policy

    def limited(path: str | Path, *, engine: str = "compiled") -> Policy:
        if engine == "durable":
            raise PolicyLimitError("too many conditions for durable_rules")
        return real(path)

    monkeypatch.setattr(accountrules.policy, "load_policy", limited)
    monkeypatch.setattr(runner, "durable_available", lambda: True)
    monkeypatch.setattr(runner, "vector_available", lambda: False)
    _, engines, note = load_policy_for(SMALL)
    assert engines == ("compiled",)
    assert note == "durable cannot run this policy (too many conditions for durable_rules); vector is not " \
                   "available here: pip install 'accountrules[vector]', so only the compiled engine runs"
    with pytest.raises(PolicyLimitError):
        load_policy_for(SMALL, "both")
    assert load_policy_for(SMALL, "compiled")[1:] == (("compiled",), "")
    monkeypatch.setattr(runner, "vector_available", lambda: True)
    assert load_policy_for(SMALL, "all")[1:] == (
        ("compiled", "vector"), "durable cannot run this policy (too many conditions for durable_rules)")
    monkeypatch.setattr(runner, "durable_available", lambda: False)
    assert load_policy_for(SMALL)[1:] == (("compiled", "vector"), "durable is not available here")
    with pytest.raises(EngineUnavailableError, match=r"pip install 'accountrules\[durable\]'"):
        load_policy_for(SMALL, "durable")
    with pytest.raises(UnknownEngineError, match="did you mean 'compiled'"):
        load_policy_for(SMALL, "compield")


# -- coverage --------------------------------------------------------------------------------------


def test_coverage_per_section_with_uncovered_ids_and_locations(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, PORTFOLIO + """\
cases:
  - name: top
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}}
  - name: moves on
    given: {id: A2, relationship: {stage: initial, share_of_wallet: 0.6}}
""")
    report = run_cases(small, [load_case_file(path, small)])
    cov = report.coverage
    by = {s.section: s for s in cov.sections}
    assert (by["tier"].covered, by["tier"].total) == (1, 3)
    assert (by["stage"].covered, by["stage"].total) == (1, 3)
    assert by["actions"].percent == 100.0 and by["churn"].percent == 0.0
    assert (cov.covered, cov.total) == (3, 9)
    assert round(cov.percent, 1) == 33.3
    uncovered = {(i.section, i.id): (i.location.line if i.location else None) for i in cov.uncovered}
    assert uncovered == {("tier", "lead-loss"): 23, ("tier", "gold-profitable"): 33, ("stage", "to-interrupted"): 46,
                         ("stage", "nurture-to-initial"): 51, ("churn", "expelled-fraud"): 64,
                         ("churn", "declining"): 69}
    text = "\n".join(format_coverage(cov))
    assert "coverage: 3 of 9 rules decided a case (33.3%)" in text
    assert "lead-loss" in text and f"{clickable(SMALL)}:23:7" in text


def test_default_case_paths(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    for name in ("b.yaml", "a.yml", "notes.txt"):
        (tmp_path / "tests" / name).write_text("x", encoding="utf-8")
    (tmp_path / "policy.yaml").write_text("x", encoding="utf-8")
    expected = [tmp_path / "tests" / "a.yml", tmp_path / "tests" / "b.yaml"]
    assert sorted(default_case_paths(tmp_path)) == expected
    assert sorted(default_case_paths(tmp_path / "policy.yaml")) == expected
    assert default_case_paths(tmp_path / "tests") == []


# -- broken case files -----------------------------------------------------------------------------


def test_unknown_keys_are_errors_with_line_and_column(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: typo
            given: {id: A1}
            expect:
              teir: gold
        """)
    e = load_error(path, small)
    assert isinstance(e, PolicySchemaError)
    assert where(e) == [("cases.yaml", 5, 7)]
    assert "unknown key 'teir' in expect" in str(e) and "did you mean 'tier'?" in str(e)
    assert str(e).startswith("cases.yaml:5:7: ")


def test_invalid_given_account_points_at_the_field(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: bad account
            given:
              id: A1
              transactions: {count: -3, annual_profit: lots}
              credit: {overdue: 1}
        """)
    e = load_error(path, small)
    assert isinstance(e, PolicyErrors)
    assert all(isinstance(x, CaseAccountError) for x in e.errors)
    assert where(e) == [("cases.yaml", 5, 29), ("cases.yaml", 5, 48), ("cases.yaml", 6, 16)]
    text = str(e)
    assert "transactions.count" in text and "transactions.annual_profit" in text and "credit.overdue" in text
    assert "did you mean 'credit.overdue_payments'?" in text


def test_unknown_codes_and_rule_ids_are_reference_errors(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: everything unknown
            given: {id: A1}
            expect:
              tier: platnum
              stage: {to: stabel, transition: no-such-transition}
              churn: {kind: bored}
              actions: [dedicated_manger]
              fired: [platinum-top, gold-profitabel]
              segments: {abc: A}
        """)
    e = load_error(path, small)
    assert all(isinstance(x, PolicyReferenceError) for x in e.errors), [type(x) for x in e.errors]
    assert where(e) == [("cases.yaml", 5, 13), ("cases.yaml", 6, 19), ("cases.yaml", 6, 39), ("cases.yaml", 7, 21),
                        ("cases.yaml", 8, 17), ("cases.yaml", 9, 29), ("cases.yaml", 10, 18)]
    text = str(e)
    assert "did you mean 'platinum'?" in text and "did you mean 'stable'?" in text
    assert "'gold-profitabel'" in text and "did you mean 'gold-profitable'?" in text
    assert "the policy has no segment 'abc'" in text


def test_file_level_problems(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, """\
        portfolio:
          - {id: P1}
          - {id: P1}
        as_of: June
        cases:
          - name: same
            given: {id: A1}
          - name: same
            given: {id: P1}
          - name: no account
          - given: {id: A2}
        extra_key: 1
        """)
    e = load_error(path, small)
    text = str(e)
    assert "unknown key 'extra_key'" in text
    assert "portfolio account id 'P1' is used twice" in text
    assert "as_of must be a date" in text
    assert "given account id 'P1' is also a portfolio account" in text
    assert "case needs 'given'" in text and "case needs 'name'" in text
    lines = {x.location.line for x in e.errors if x.location}
    assert {3, 4, 9, 10, 11, 12} <= lines


def test_duplicate_case_names(tmp_path: Path, small: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: same
            given: {id: A1}
          - name: same
            given: {id: A2}
        """)
    e = load_error(path, small)
    assert where(e) == [("cases.yaml", 4, 5)] and "used twice" in str(e)


def test_not_a_case_file_and_bad_yaml(tmp_path: Path, small: Policy) -> None:
    e = load_error(write(tmp_path, "name: x\n"), small)
    assert "not a test-case file" in str(e)
    e = load_error(write(tmp_path, "cases:\n  - name: [unclosed\n"), small)
    assert e.location is not None and e.location.file == "cases.yaml" and e.location.line >= 2


def test_expectations_for_sections_the_policy_lacks(tmp_path: Path, rich: Policy) -> None:
    path = write(tmp_path, """\
        cases:
          - name: no stages here
            given: {id: A1, extra: {unknown_field: 1}}
            expect: {stage: nurture}
        """)
    e = load_error(path, rich)
    assert "the policy has no stages" in str(e)
    assert "extra.unknown_field is not a field the policy declares" in str(e)


def test_fired_naming_an_id_of_rules_in_two_sections_is_refused(tmp_path: Path) -> None:
    """Hunt as a business owner (wip-owner): ids are unique per table, so a tier row and an action rule may
    share one; ``fired: [lead-loss]`` then passed for a platinum account because the *action rule* of that id
    fired, while the owner meant the lead tier row. The case loader refuses such an id, naming both rules."""
    d = tmp_path / "p"
    d.mkdir()
    text = SMALL.read_text(encoding="utf-8")
    assert "    - id: top-tier-manager\n" in text
    (d / "policy.yaml").write_text(text.replace("    - id: top-tier-manager\n", "    - id: lead-loss\n"),
                                   encoding="utf-8")
    policy = load_policy(d)
    path = write(tmp_path, PORTFOLIO + """\
cases:
  - name: platinum
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}, credit: {overdue_payments: 0}}
    expect: {tier: platinum, fired: [lead-loss]}
""")
    e = load_error(path, policy)
    assert isinstance(e, PolicyReferenceError)
    assert where(e) == [("cases.yaml", 10, 38)]
    assert "'lead-loss' is the id of rules in more than one section (tier, actions)" in str(e)
    assert "policy.yaml:23:7" in str(e) and "policy.yaml:82:7" in str(e)


def test_numbers_in_a_case_file_are_read_as_written(tmp_path: Path) -> None:
    """Hunt as a business owner (wip-owner): case names and rule ids written as numbers were read through
    str() of what YAML makes of them, so cases '1.10' and '1.1' clashed and fired: [1.10] named rule '1.1'."""
    d = tmp_path / "p"
    d.mkdir()
    text = SMALL.read_text(encoding="utf-8")
    assert "    - id: platinum-top\n" in text
    (d / "policy.yaml").write_text(text.replace("    - id: platinum-top\n", "    - id: 1.10\n"), encoding="utf-8")
    policy = load_policy(d)
    path = write(tmp_path, PORTFOLIO + """\
cases:
  - name: 1.1
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}, credit: {overdue_payments: 0}}
    expect: {tier: platinum, fired: [1.10]}
  - name: 1.10
    given: {id: A2, transactions: {annual_profit: 900000, marketing_cost: 100000}, credit: {overdue_payments: 0}}
    expect: {tier: platinum}
""")
    cases = load_case_file(path, policy, display_name="cases.yaml")
    assert [c.name for c in cases.cases] == ["1.1", "1.10"]
    assert cases.cases[0].expectations[-1].value == ("1.10",)


def test_mismatch_wording_is_translated_in_chinese(tmp_path: Path, rich: Policy) -> None:
    # an owner running `accountrules test --lang zh` saw "fired：期望 [x] in the trace，实际 rules [...]
    # decided (missing x)": the words around the values of a mismatch stayed English
    path = write(tmp_path, """\
        as_of: 2026-06-30
        cases:
          - name: wrong on every kind of list
            given: {id: C, transactions: {annual_revenue: 10, recency_days: 10}}
            expect:
              actions: {include: [visit]}
              fired: [gold-big]
          - name: exact actions and an exclusion
            given: {id: D, transactions: {annual_revenue: 2000000}}
            expect: {actions: {exclude: [visit]}, tier: null}
        """)
    report = run_cases(rich, [load_case_file(path, rich)])
    zh = "\n".join(line for r in report.results for line in format_result(r, lang="zh"))
    for english in ("in the trace", "decided (missing", "among the actions", "none of", "(includes", "(none)"):
        assert english not in zh
    assert "缺少 gold-big" in zh and "缺少 visit" in zh and "（无）" in zh
    # the English report and the JSON values keep their wording
    en = "\n".join(line for r in report.results for line in format_result(r))
    assert "[gold-big] in the trace" in en and "(missing visit)" in en
