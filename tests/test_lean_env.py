"""``decide(dict)``'s env starts from the keys the plan reads and room for what the driver writes (issue 8).

The lean reader (``dict_env.lean_reader_of``) gives the env of a plain dict for one policy: the keys its
expressions read (``compile.plan.read_keys``), the values the dict gives, and None held for each key
``driver.run`` writes while deciding (``driver.written_keys``: the decision date, the portfolio, the
metrics and the section outputs), so the env is copied at its final size. Held here: on every key the
model's env has, it agrees with the full reader (seed concepts D1-D4, the account's groups); a decision
made from it equals the model's way's, trace included; and ``written_keys`` names every key ``run``
adds, so the template is at its final size for the shipped policies.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.compile.plan import read_keys
from accountrules.evaluate.accounts import to_account
from accountrules.evaluate.dict_env import DictEnvReader, lean_reader_of
from accountrules.evaluate.driver import COMPILED, run, written_keys
from accountrules.testing.strategies import account_dicts

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {name: accountrules.load_policy(ROOT / "rulesets" / name) for name in ("express", "postal")}
AS_OF = dt.date(2026, 6, 30)


@st.composite
def policy_and_accounts(draw: st.DrawFn) -> tuple[accountrules.Policy, list[dict[str, Any]]]:
    policy = POLICIES[draw(st.sampled_from(sorted(POLICIES)))]
    accounts = draw(st.lists(account_dicts(policy), min_size=1, max_size=4, unique_by=lambda d: d["id"]))
    return policy, accounts


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=policy_and_accounts())
def test_the_lean_env_is_the_full_env_on_what_the_plan_reads(case: tuple[accountrules.Policy, list[Any]]) -> None:
    policy, accounts = case
    plan = policy.plan
    lean, full = lean_reader_of(plan), DictEnvReader(plan.extra_fields)
    room = set(written_keys(plan))
    for d in accounts:
        got, want = lean.env(d), full.env(d)
        assert (got is None) == (want is None)
        if got is None or want is None:
            continue
        # every key the plan reads is there, as the full reader reads it
        assert {k: got[k] for k in read_keys(plan)} == {k: want[k] for k in read_keys(plan)}
        # a key is either the full reader's, with its value, or room the driver will fill
        for k, v in got.items():
            assert (k in want and want[k] == v) or (k in room and v is None), k


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=policy_and_accounts())
def test_a_decision_from_the_lean_env_is_the_models(case: tuple[accountrules.Policy, list[Any]]) -> None:
    policy, accounts = case
    stats = policy.portfolio_stats(accounts, as_of=AS_OF)
    for d in accounts:
        for trace in (True, False):
            fast = policy.decide(d, portfolio=stats, as_of=AS_OF, trace=trace)
            model = policy.decide(to_account(d), portfolio=stats, as_of=AS_OF, trace=trace)
            assert fast.model_dump_json() == model.model_dump_json()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=policy_and_accounts())
def test_written_keys_names_every_key_run_adds(case: tuple[accountrules.Policy, list[Any]]) -> None:
    # a key run writes that written_keys misses would grow (and copy) every env of every decision
    policy, accounts = case
    plan = policy.plan
    stats = policy.portfolio_stats(accounts, as_of=AS_OF)
    for d in accounts:
        env = lean_reader_of(plan).env(d)
        if env is None:
            continue
        before = set(env)
        run(plan, env, COMPILED, env["id"], AS_OF, stats)
        assert set(env) == before, set(env) - before
