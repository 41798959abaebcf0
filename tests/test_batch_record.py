"""Reading a Decision from a batch never matches a rule again: it is dressed from the deciding evaluator's record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from accountrules.batch import BatchResult
from accountrules.batch.columns import env_keys
from accountrules.batch.result import value_columns
from accountrules.evaluate import driver
from accountrules.evaluate.accounts import env_of, to_account
from accountrules.io.schema import metric_columns
from accountrules.model.decision import Decision
from accountrules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
ACCOUNTS_CSV = ROOT / "examples" / "portfolio" / "accounts.csv"


@pytest.fixture(scope="module")
def express() -> Policy:
    return load_policy(ROOT / "rulesets" / "express")


def _no_matching(self: object, section: str, rows: Any, env: Any, first_only: bool) -> list[int]:
    raise AssertionError(f"{section} was matched again while reading a batch")


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_reading_decisions_runs_no_rule(express: Policy, engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = express.decide_many(ACCOUNTS_CSV, as_of=AS_OF, engine=engine)
    reference = express.decide_many(ACCOUNTS_CSV, as_of=AS_OF, engine="compiled")
    want = [d.model_dump(mode="json") for d in reference.decisions]

    def no_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("driver.run was called while reading a batch")

    monkeypatch.setattr(driver.CompiledMatcher, "match", _no_matching)
    monkeypatch.setattr(driver, "run", no_run)
    got = [d.model_dump(mode="json") for d in result.decisions]
    assert got == want and len(got) > 200
    assert result[0] == result.decisions[0]


def test_from_columns_with_action_rules_needs_no_evaluator(express: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = [{"id": "C1", "transactions": {"annual_profit": 5e5, "marketing_cost": 1e4}},
                {"id": "C2", "transactions": {"annual_profit": -1.0}}]
    envs = [env_of(to_account(a), express.plan.extra_fields) for a in accounts]
    inputs = {k: [e[k] for e in envs] for k in env_keys(express.plan)}
    stats = express.portfolio_stats(accounts)
    ref = express.decide_many(accounts, as_of=AS_OF)
    outputs: dict[str, list[Any]] = {c: [] for c in [*value_columns(express.plan), "action_rules"]}
    for d in ref:
        assert isinstance(d, Decision)
        outputs["tier"].append(d.tier.code if d.tier else None)
        outputs["tier_rule"].append(d.tier.rule if d.tier else None)
        for name in express.spec.segments:
            seg = d.segments.get(name)
            outputs[f"segment.{name}"].append(seg.code if seg else None)
            outputs[f"segment.{name}_rule"].append(seg.rule if seg else None)
        outputs["stage_from"].append(d.stage.from_.value if d.stage and d.stage.from_ else None)
        outputs["stage"].append(d.stage.to.value if d.stage else None)
        outputs["stage_transition"].append(d.stage.transition if d.stage else None)
        outputs["churn_kind"].append(d.churn.kind.value if d.churn else None)
        outputs["churn_risk"].append(d.churn.risk.value if d.churn else None)
        outputs["churn_score"].append(d.churn.score if d.churn else None)
        outputs["churn_rule"].append(d.churn.rule if d.churn else None)
        for col in metric_columns(express.plan):  # the score metrics are flat columns too
            outputs[col].append(d.metrics.get(col[len("metric."):]))
        outputs["actions"].append(d.action_codes())
        outputs["action_rules"].append([e.rule for e in d.trace if e.section == "actions"])
    monkeypatch.setattr(driver.CompiledMatcher, "match", _no_matching)
    built = BatchResult.from_columns(policy=express, inputs=inputs, outputs=outputs, stats=stats, as_of=AS_OF)
    assert [d.model_dump(mode="json") for d in built.decisions] == [d.model_dump(mode="json") for d in ref]
