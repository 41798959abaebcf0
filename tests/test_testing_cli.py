"""``accountrules test`` and ``accountrules check``."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from accountrules.cli import main
from accountrules.policy import load_policy
from accountrules.testing import runner
from accountrules.testing.cases import load_case_file
from accountrules.testing.runner import durable_available, run_cases, vector_available

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small" / "policy.yaml"

GOOD = """\
portfolio:
  - {id: P1, transactions: {annual_profit: 100000, marketing_cost: 100000}}
  - {id: P2, transactions: {annual_profit: 200000, marketing_cost: 100000}}
  - {id: P3, transactions: {annual_profit: 300000, marketing_cost: 100000}}
  - {id: P4, transactions: {annual_profit: 400000, marketing_cost: 100000}}
as_of: 2026-06-30
cases:
  - name: top profit is platinum
    given: {id: A1, transactions: {annual_profit: 900000, marketing_cost: 100000}}
    expect: {tier: platinum, actions: [dedicated_manager], fired: [platinum-top]}
  - name: a loss is lead
    given: {id: A2, transactions: {annual_profit: -5, marketing_cost: 100000}}
    expect: {tier: lead}
"""

BAD = """\
as_of: 2026-06-30
cases:
  - name: wrongly expects platinum
    given: {id: A3, transactions: {annual_profit: 300000, marketing_cost: 100000}, credit: {overdue_payments: 2}}
    expect: {tier: platinum}
"""


@pytest.fixture()
def policy_dir(tmp_path: Path) -> Path:
    """A copy of examples/small with an empty tests/ directory."""
    d = tmp_path / "small"
    (d / "tests").mkdir(parents=True)
    shutil.copy(SMALL, d / "policy.yaml")
    return d


@pytest.fixture(autouse=True)
def compiled_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output is checked for the compiled engine; the engine choice has tests of its own."""
    monkeypatch.setattr(runner, "durable_available", lambda: False)
    monkeypatch.setattr(runner, "vector_available", lambda: False)


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def case_file(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_all_pass_from_the_default_tests_directory(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_file(policy_dir / "tests", "tiers.yaml", GOOD)
    code, lines, _ = run(capsys, "test", policy_dir)
    assert code == 0
    assert lines[-1] == "2 passed, 0 failed"
    assert f"PASS  [compiled] {policy_dir / 'tests' / 'tiers.yaml'}::top profit is platinum" in lines
    assert "durable is not available" in lines[0]


def test_a_failure_shows_expected_actual_and_the_explanation(policy_dir: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    good = case_file(policy_dir / "tests", "good.yaml", GOOD)
    bad = case_file(policy_dir / "tests", "bad.yaml", BAD)
    code, lines, _ = run(capsys, "test", policy_dir, good, bad)
    assert code == 1
    assert lines[-1] == "2 passed, 1 failed"
    text = "\n".join(lines)
    assert f"FAIL  [compiled] {bad}::wrongly expects platinum" in text
    assert f"{bad}:5:20: tier: expected platinum, got gold" in text
    assert "Tier: Gold (gold)  — rule gold-profitable [T1, T13]; because profit_contribution = 3" in text
    assert f"tier gold-profitable -> gold  ({policy_dir / 'policy.yaml'}:33:7)" in text
    # passing cases are not explained unless -v / --verbose
    assert text.count("Tier: ") == 1
    code, lines, _ = run(capsys, "test", policy_dir, good, "--verbose")
    assert code == 0 and "\n".join(lines).count("Tier: ") == 2
    code, lines, _ = run(capsys, "test", policy_dir, bad, "--lang", "zh")
    assert "        客户等级: 黄金 (gold)  — 规则 gold-profitable [T1, T13]; 依据 profit_contribution = 3" in lines


def test_errors_are_counted_separately(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = case_file(policy_dir / "tests", "good.yaml", GOOD)
    broken = case_file(policy_dir / "tests", "broken.yaml", """\
        cases:
          - name: typo
            given: {id: A1}
            expect: {tier: platnum}
        """)
    code, lines, _ = run(capsys, "test", policy_dir, good, broken)
    assert code == 1
    assert lines[-1] == "2 passed, 0 failed, 1 error"
    assert any(line.startswith(f"ERROR {broken}:4:20: reference error") and "did you mean 'platinum'?" in line
               for line in lines)


def test_coverage_report_and_threshold(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_file(policy_dir / "tests", "tiers.yaml", GOOD)
    code, lines, _ = run(capsys, "test", policy_dir, "--min-coverage", "30")
    assert code == 0
    assert "coverage: 3 of 9 rules decided a case (33.3%)" in lines
    uncovered = lines[lines.index("uncovered:") + 1:-1]
    assert [line.split()[:2] for line in uncovered] == [
        ["tier", "gold-profitable"], ["stage", "to-interrupted"], ["stage", "nurture-to-initial"],
        ["stage", "initial-to-stable"], ["churn", "expelled-fraud"], ["churn", "declining"]]
    assert uncovered[0].endswith(f"{policy_dir / 'policy.yaml'}:33:7")

    code, lines, _ = run(capsys, "test", policy_dir, "--min-coverage", "50")
    assert code == 1
    assert lines[-2] == "coverage 33.3% is below the minimum of 50%"
    assert lines[-1] == "2 passed, 0 failed"


def test_no_cases_is_a_failure(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "test", policy_dir)
    assert code == 1
    assert lines[-1] == "0 passed, 0 failed"
    assert f"no test cases ran (cases: {policy_dir / 'tests'}/*.yaml)" in lines


def test_a_single_file_policy_and_a_cases_directory(policy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case_file(policy_dir / "tests", "good.yaml", GOOD)
    code, lines, _ = run(capsys, "test", policy_dir / "policy.yaml")
    assert code == 0 and lines[-1] == "2 passed, 0 failed"
    code, lines, _ = run(capsys, "test", policy_dir, policy_dir / "tests")
    assert code == 0 and lines[-1] == "2 passed, 0 failed"


def test_engine_choice(policy_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    good = case_file(policy_dir / "tests", "good.yaml", GOOD)
    code, lines, _ = run(capsys, "test", policy_dir, good, "--engine", "compiled")
    assert code == 0 and lines[0].endswith("engine: compiled")
    code, _, err = run(capsys, "test", policy_dir, good, "--engine", "both")
    assert code == 2 and "engine 'durable' needs durable_rules: pip install 'accountrules[durable]'" in err
    code, _, err = run(capsys, "test", policy_dir, good, "--engine", "vector")
    assert code == 2 and "pip install 'accountrules[vector]'" in err
    with pytest.raises(SystemExit) as exit_:
        main(["test", str(policy_dir), "--engine", "vectr"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown engine 'vectr': choose one of compiled, durable, vector, auto, all, both; " \
           "did you mean 'vector'?" in err


@pytest.mark.skipif(not vector_available(), reason="numpy is not installed")
def test_every_available_engine_by_default(policy_dir: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "durable_available", durable_available)
    monkeypatch.setattr(runner, "vector_available", vector_available)
    good = case_file(policy_dir / "tests", "good.yaml", GOOD)
    engines = ("compiled", "durable", "vector") if durable_available() else ("compiled", "vector")
    for argv in ((), ("--engine", "all")):
        code, lines, _ = run(capsys, "test", policy_dir, good, "--min-coverage", "10", *argv)
        assert code == 0 and lines[-1] == f"{2 * len(engines)} passed, 0 failed"
        assert lines[0].split("; engine: ")[1].startswith(", ".join(engines))
        for engine in engines:
            assert sum(line.startswith(f"PASS  [{engine}] ") for line in lines) == 2
        per_engine = next(line for line in lines if line.startswith("coverage per engine: "))
        assert all(f"{e} " in per_engine for e in engines)


@pytest.mark.skipif(not durable_available(), reason="the durable evaluator is not available")
def test_durable_by_default_when_it_is_available(policy_dir: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "durable_available", durable_available)
    good = case_file(policy_dir / "tests", "good.yaml", GOOD)
    code, lines, _ = run(capsys, "test", policy_dir, good)
    assert code == 0 and lines[-1] == "4 passed, 0 failed"
    assert lines[0].endswith("engine: compiled, durable (vector is not available here: pip install "
                             "'accountrules[vector]')")
    assert any(line.startswith("PASS  [durable] ") for line in lines)


def test_a_policy_that_does_not_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policy.yaml").write_text("policy: {name: x}\n", encoding="utf-8")
    code, _, err = run(capsys, "test", tmp_path)
    assert code == 2 and err.startswith("error: ")


# -- check -----------------------------------------------------------------------------------------

NON_MONOTONIC = """\
policy:
  name: bumpy
  version: "1"
  label: {zh: 不单调, en: Not monotonic}
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
monotonic:
  - field: transactions.annual_profit
    direction: increasing
    output: tier
"""


def test_check_passes_on_the_small_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run(capsys, "check", SMALL, "--examples", "15", "--seed", "1")
    assert code == 0
    assert lines[1:] == ["PASS  completeness", "PASS  determinism", "PASS  json round trip", "3 passed, 0 failed"]


def test_check_finds_a_non_monotonic_tier_and_prints_a_test_case(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policy.yaml").write_text(NON_MONOTONIC, encoding="utf-8")
    code, lines, _ = run(capsys, "check", tmp_path, "--examples", "60", "--seed", "2")
    assert code == 1
    assert lines[-1] == "3 passed, 1 failed"
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL  monotonic transactions.annual_profit"))
    assert lines[fail].endswith(f"({tmp_path / 'policy.yaml'}:19:5)")
    assert "lowers tier from gold to iron" in lines[fail + 1]
    start = lines.index("      counterexample, as a test case (paste into the policy's tests/ directory):") + 1
    yaml_text = "\n".join(line[8:] for line in lines[start:-1])
    assert "given:" in yaml_text and "tier: gold" in yaml_text and "tier: iron" in yaml_text
    # ready to paste: it is a valid case file, and it passes (it states what the policy decides now)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "counterexample.yaml").write_text(yaml_text, encoding="utf-8")
    policy = load_policy(tmp_path)
    cases = load_case_file(tmp_path / "tests" / "counterexample.yaml", policy)
    assert len(cases.cases) == 2
    assert run_cases(policy, [cases]).ok
    code, lines, _ = run(capsys, "test", tmp_path)
    assert code == 0 and lines[-1] == "2 passed, 0 failed"


def test_check_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", str(SMALL), "--examples", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["test", str(SMALL), "--min-coverage", "120"])
    capsys.readouterr()
