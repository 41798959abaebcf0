"""One registry of evaluators per Policy: the same names and the same errors from every entry point."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import accountrules
from accountrules.cli import main
from accountrules.errors import AccountRulesError, DecisionError, EngineUnavailableError, UnknownEngineError
from accountrules.evaluate import registry
from accountrules.testing.cases import load_case_file
from accountrules.testing.runner import coverage_of, durable_available, load_policy_for, run_cases

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small" / "policy.yaml"
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
AS_OF = dt.date(2026, 6, 30)
ACCOUNT = {"id": "A1", "transactions": {"annual_profit": 900_000, "marketing_cost": 100_000}}


@pytest.fixture(scope="module")
def small() -> accountrules.Policy:
    return accountrules.load_policy(SMALL)


def entry_points(policy: accountrules.Policy) -> dict[str, Callable[[str], object]]:
    """Every library call that takes an engine name."""
    stats = policy.portfolio_stats([ACCOUNT])
    return {
        "decide": lambda e: policy.decide(ACCOUNT, as_of=AS_OF, portfolio=stats, engine=e),
        "decide_many": lambda e: policy.decide_many([ACCOUNT], as_of=AS_OF, engine=e),
        "iter_decide": lambda e: policy.iter_decide([ACCOUNT], as_of=AS_OF, engine=e),  # fails before iterating
        "load_policy": lambda e: accountrules.load_policy(SMALL, engine=e),
        "runner": lambda e: load_policy_for(SMALL, e),
    }


@pytest.mark.parametrize("call", ["decide", "decide_many", "iter_decide", "load_policy", "runner"])
def test_an_unknown_name_is_one_typed_error_everywhere(small: accountrules.Policy, call: str) -> None:
    with pytest.raises(UnknownEngineError) as info:
        entry_points(small)[call]("vectr")
    e = info.value
    assert isinstance(e, AccountRulesError) and isinstance(e, ValueError)
    assert e.name == "vectr" and e.suggestion == "vector"
    assert set(registry.ENGINES) <= set(e.choices)
    assert str(e).startswith("unknown engine 'vectr': choose one of compiled, durable, vector, auto")
    assert str(e).endswith("did you mean 'vector'?")


@given(st.text(max_size=12).filter(lambda s: s not in (*registry.ENGINES, "all", "both")))
def test_any_other_name_is_refused_with_the_valid_names(name: str) -> None:
    with pytest.raises(UnknownEngineError, match="choose one of compiled, durable, vector, auto"):
        registry.check_engine(name)


@pytest.mark.parametrize("command", [["decide", str(SMALL), str(ACCOUNTS), "-o", "out.csv"],
                                     ["diff", str(SMALL), str(SMALL), str(ACCOUNTS)],
                                     ["test", str(SMALL)]])
def test_the_cli_flags_give_the_same_message(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--engine", "durabel"])
    assert exit_.value.code == 2
    assert "unknown engine 'durabel': choose one of compiled, durable, vector, auto" in capsys.readouterr().err


def test_every_name_decides_alike(small: accountrules.Policy) -> None:
    names = registry.available_evaluators() + ("auto",)
    assert "compiled" in names
    stats = small.portfolio_stats([ACCOUNT])
    one = {e: small.decide(ACCOUNT, as_of=AS_OF, portfolio=stats, engine=e) for e in names}
    many = {e: small.decide_many(str(ACCOUNTS), as_of=AS_OF, engine=e) for e in names}
    for e in names:
        assert one[e] == one["compiled"], e
        assert many[e] == many["compiled"], e
        assert list(small.iter_decide(str(ACCOUNTS), as_of=AS_OF, engine=e)) == list(many["compiled"]), e


def test_decide_on_vector_raises_what_compiled_raises(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("""\
policy: {name: clash, version: "1", label: clash}
tiers:
  hit: unique
  values: {gold: Gold, silver: Silver}
  rows:
    - {id: a, when: transactions.annual_profit > 1, then: gold}
    - {id: b, when: transactions.annual_profit > 2, then: silver}
""", encoding="utf-8")
    policy = accountrules.load_policy(path)
    account = {"id": "X", "transactions": {"annual_profit": 5}}
    messages = []
    for engine in registry.available_evaluators():
        with pytest.raises(DecisionError) as info:
            policy.decide(account, as_of=AS_OF, engine=engine)
        messages.append(str(info.value))
        assert info.value.account_id == "X"
    assert len(set(messages)) == 1, messages


def test_auto_is_vector_for_batches_and_compiled_for_one(small: accountrules.Policy) -> None:
    ev = small.evaluators
    assert ev.resolve("auto", batch=False) == "compiled"
    assert ev.resolve("auto", batch=True) == ("vector" if registry.available("vector") else "compiled")
    assert [ev.resolve(e, batch=True) for e in registry.EVALUATORS] == list(registry.EVALUATORS)


def test_auto_decides_a_small_chunk_with_compiled_and_a_large_one_with_vector() -> None:
    # vector's set-up per chunk costs more than deciding a few dozen accounts one by one: auto picks per
    # chunk, and the flat results are those of either evaluator alone (C1-C5 of the express policy)
    pytest.importorskip("numpy", reason="the vector evaluator needs numpy (extra vector)")
    pytest.importorskip("pyarrow", reason="the flat results are read as Arrow (extra arrow)")
    from accountrules.batch.engine import decide_batch

    express = accountrules.load_policy(EXPRESS)
    ev = express.evaluators
    assert ev.resolve("auto", batch=True, rows=registry.SMALL_CHUNK - 1) == "compiled"
    assert ev.resolve("auto", batch=True, rows=registry.SMALL_CHUNK) == "vector"
    assert ev.resolve("vector", batch=True, rows=1) == "vector"  # a name given is kept
    # 300 rows in chunks of SMALL_CHUNK + 10: the large ones, then the few rows left over
    chunk = registry.SMALL_CHUNK + 10
    large, rest = divmod(300, chunk)
    assert 0 < rest < registry.SMALL_CHUNK
    results = {e: decide_batch(express, str(ACCOUNTS), as_of=AS_OF, engine=e, trace=False, chunk_rows=chunk)
               for e in ("auto", "compiled", "vector")}
    assert [p.engine for p in results["auto"]._parts] == ["vector"] * large + ["compiled"]
    tables = {e: r.to_arrow(errors=True) for e, r in results.items()}
    assert tables["auto"].equals(tables["compiled"]) and tables["auto"].equals(tables["vector"])
    assert [d.model_dump() for d in results["auto"]] == [d.model_dump() for d in results["vector"]]


def without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import numpy`` fail, as it does where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "numpy", None)
    # a package: every module; the backtest package is imported afresh, as the command line's parser
    # does on a base install (an earlier test may have imported it with numpy present)
    numpy_users = ("accountrules.evaluate.vector", "accountrules.evaluate.column", "accountrules.backtest")
    for name in [m for m in sys.modules if m.startswith(numpy_users)]:
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_missing_vector_names_its_extra_and_auto_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    want = accountrules.load_policy(SMALL).decide_many(str(ACCOUNTS), as_of=AS_OF, engine="compiled")
    without_numpy(monkeypatch)
    policy = accountrules.load_policy(SMALL)  # a fresh policy: no program built yet
    assert not registry.available("vector")
    assert policy.evaluators.resolve("auto", batch=True) == "compiled"
    for call in ("decide", "decide_many", "iter_decide", "load_policy", "runner"):
        with pytest.raises(EngineUnavailableError, match=r"engine 'vector' needs numpy: pip install "
                                                         r"'accountrules\[vector\]'"):
            entry_points(policy)[call]("vector")
    assert policy.decide_many(str(ACCOUNTS), as_of=AS_OF) == want


def test_durable_says_plainly_when_python_is_too_new(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "sys", types.SimpleNamespace(version_info=(3, 13, 1, "final", 0)))
    e = registry.unavailable_error("durable")
    assert "durable_rules does not support Python 3.13.1" in str(e)
    assert "the 'durable' extra installs nothing here" in str(e)
    monkeypatch.setattr(registry, "sys", types.SimpleNamespace(version_info=(3, 12, 4, "final", 0)))
    assert "pip install 'accountrules[durable]'" in str(registry.unavailable_error("durable"))


def test_a_missing_durable_is_the_same_error_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "durable_rules_engine", None)
    monkeypatch.delitem(sys.modules, "accountrules.evaluate.durable", raising=False)
    policy = accountrules.load_policy(SMALL)
    messages = set()
    for name, call in entry_points(policy).items():
        if name == "runner":
            continue  # the runner asks durable_available(), patched in its own tests
        with pytest.raises(EngineUnavailableError) as info:
            call("durable")
        messages.add(str(info.value).split(" (")[0])
    assert len(messages) == 1 and "accountrules[durable]" in messages.pop()


@pytest.mark.skipif(not durable_available(), reason="the durable evaluator is not available")
def test_evaluators_are_built_once_per_policy_under_threads() -> None:
    policies = [accountrules.load_policy(SMALL) for _ in range(2)]
    built: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def build(p: accountrules.Policy) -> None:
        barrier.wait()
        got = (p.evaluators.matcher("durable"), p.evaluators.vector_program())
        with lock:
            built.append((p, got))

    threads = [threading.Thread(target=build, args=(policies[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in policies:
        mine = [got for q, got in built if q is p]
        assert len(mine) == 4 and all(g[0] is mine[0][0] and g[1] is mine[0][1] for g in mine)
    first, second = ([got for q, got in built if q is p][0] for p in policies)
    assert first[0] is not second[0] and first[1] is not second[1]  # never shared between policies


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
    expect: {tier: platinum, fired: [platinum-top]}
  - name: a loss is lead
    given: {id: A2, transactions: {annual_profit: -5, marketing_cost: 100000}}
    expect: {tier: lead}
"""


def test_the_runner_keeps_coverage_per_evaluator(small: accountrules.Policy, tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(CASES, encoding="utf-8")
    cases = load_case_file(path, small)
    engines = registry.available_evaluators()
    report = run_cases(small, [cases], engines)
    assert report.engines == engines and tuple(report.coverage_by_engine) == engines
    assert report.ok and {r.engine for r in report.results} == set(engines)
    for engine, cov in report.coverage_by_engine.items():
        mine = [r.decision for r in report.results if r.engine == engine and r.decision is not None]
        assert len(mine) == len(cases.cases)
        assert cov == coverage_of(small, mine)
    assert report.min_coverage == min(c.percent for c in report.coverage_by_engine.values())
    assert report.coverage.covered >= max(c.covered for c in report.coverage_by_engine.values())


def test_the_decide_command_without_numpy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    without_numpy(monkeypatch)
    out = tmp_path / "d.csv"
    code = main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(out), "--engine", "vector"])
    assert code == 2 and "pip install 'accountrules[vector]'" in capsys.readouterr().err
    assert not out.exists()
    code = main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30"])  # auto: compiled
    assert code == 0 and out.exists()


def test_the_backtest_command_without_numpy_names_its_own_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    without_numpy(monkeypatch)
    log = ROOT / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"
    code = main(["backtest", str(SMALL), str(log), "--as-of", "1997-09-30", "--horizon", "26w"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'accountrules[backtest]'" in err and "Traceback" not in err
