"""``benchmarks/latency.py``'s split of ``decide()``: the steps it times in a row are the call's own.

Its section (b) times ``decide(dict)``'s steps, then the same with the matches replayed from a
recording, to say what the call would cost if no row condition took any time
(``docs/performance.md``, "Where ``decide()`` time goes"). That holds only if both give the very
Decision ``decide()`` gives, trace included: checked here on the README accounts.
"""

from __future__ import annotations

import pytest

import accountrules
from accountrules.evaluate.accounts import env_of
from accountrules.evaluate.driver import COMPILED
from accountrules.evaluate.portfolio import PortfolioStats
from bench_scripts import bench_script

latency = bench_script("latency", "latency_under_test")


Setup = tuple[accountrules.Policy, PortfolioStats]


@pytest.fixture(scope="module")
def setup() -> Setup:
    policy = accountrules.load_policy(latency.ROOT / "rulesets" / "express")
    return policy, policy.portfolio_stats(latency.ACCOUNTS, as_of=latency.AS_OF)


@pytest.mark.parametrize("one", latency.ACCOUNTS, ids=lambda a: a["id"])
def test_the_steps_and_the_replayed_steps_give_decides_decision(setup: Setup, one: dict[str, object]) -> None:
    policy, stats = setup
    want = policy.decide(one, as_of=latency.AS_OF, portfolio=stats, trace=True)
    want_json = want.model_dump_json()
    assert len(want.trace) > 0
    steps = latency.decide_steps(policy, one, stats, COMPILED)
    account = accountrules.Account.model_validate(one)
    replay = latency.Replay(policy.plan, env_of(account, policy.plan.extra_fields), account.id, stats)
    replayed = latency.decide_steps(policy, one, stats, replay)
    for _ in range(3):  # the replay answers in turn: it stays in step call after call
        assert steps().model_dump_json() == want_json
        assert replayed().model_dump_json() == want_json


def test_an_account_decide_reads_through_the_model_is_refused(setup: Setup) -> None:
    policy, stats = setup
    converted = {"id": "KA-9", "transactions": {"annual_profit": "12"}}  # text the model turns into a number
    with pytest.raises(ValueError, match="through the model"):
        latency.decide_steps(policy, converted, stats, COMPILED)
