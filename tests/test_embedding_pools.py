"""Errors and results cross a process pool as themselves (docs/embedding.md)."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import accountrules
from accountrules.batch import BatchResult
from accountrules.check.limits import LoadLimits
from accountrules.errors import AccountRulesError, AccountValidationError
from accountrules.i18n import UnknownLanguageError
from embedding_helpers import AS_OF, gold_policy, revenue_accounts

# -- errors and results cross process pools --------------------------------------------------------


def _grab(call: Callable[[], object]) -> AccountRulesError:
    with pytest.raises(AccountRulesError) as info:
        call()
    return info.value


EXPRESS = accountrules.load_policy("express")
BAD_ACCOUNT = {"id": "KA-9", "transactions": {"annual_revenue": "lots"}}
ACCOUNTS = [{"id": f"KA-{i:03}", "transactions": {"annual_revenue": 9_000.0 * i, "annual_profit": 800.0 * i,
                                                  "marketing_cost": 300.0}} for i in range(1, 31)]
ERRORS: dict[str, Callable[[], object]] = {
    "invalid account": lambda: EXPRESS.decide(BAD_ACCOUNT, portfolio=EXPRESS.portfolio_stats([])),
    "no portfolio": lambda: EXPRESS.decide({"id": "KA-1"}),
    "unknown engine": lambda: EXPRESS.decide({"id": "KA-1"}, engine="durabel"),
    "as_of": lambda: EXPRESS.decide({"id": "KA-1"}, as_of="2026-01-01"),  # type: ignore[arg-type]
    "not found": lambda: accountrules.load_policy("/no/such/policy"),
    "one problem": lambda: accountrules.load_policy_text("policy: [", name="crm:1"),
    "several problems": lambda: accountrules.load_policy_text("policy: {}", name="crm:1"),
    "limit": lambda: accountrules.load_policy("express", limits=LoadLimits(max_table_rows=1)),
    "batch input": lambda: EXPRESS.decide_many(42),
    "failed rows": lambda: EXPRESS.decide_many([{"id": "KA-1"}, BAD_ACCOUNT]).raise_for_errors(),
    "language": lambda: EXPRESS.decide_many([{"id": "KA-1"}])[0].explain("fr"),  # type: ignore[union-attr]
}


def _public(err: BaseException) -> dict[str, str]:
    return {k: repr(v) for k, v in vars(err).items()}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_every_error_pickles_and_deep_copies_as_itself(case: str) -> None:
    err = _grab(ERRORS[case])
    for again in (pickle.loads(pickle.dumps(err)), copy.deepcopy(err)):
        assert type(again) is type(err)
        assert str(again) == str(err) and again.args == err.args
        assert _public(again) == _public(err)  # location, problems, account id, row, hint...


def test_unknown_language_is_an_accountrules_error() -> None:
    err = _grab(ERRORS["language"])  # caught as an accountrules error, and still a ValueError
    assert isinstance(err, UnknownLanguageError) and isinstance(err, ValueError)


def test_a_batch_result_pickles_and_deep_copies_to_an_equal_result() -> None:
    accounts = [*ACCOUNTS, BAD_ACCOUNT]
    result = EXPRESS.decide_many(accounts, as_of=AS_OF, engine="compiled")
    assert isinstance(result[0], accountrules.Decision)  # read once: the result now holds compiled closures
    for again in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert isinstance(again, BatchResult) and again == result
        assert again.to_records(errors=True) == result.to_records(errors=True)
        assert again.policy == result.policy and again.as_of == result.as_of


def decide_in_worker(policy: accountrules.Policy, accounts: list[dict[str, Any]]) -> BatchResult:
    """A pool worker: returns its batch, or raises what decide raises on a bad account."""
    if any(a is BAD_ACCOUNT or a == BAD_ACCOUNT for a in accounts):
        stats = policy.portfolio_stats(accounts[:-1], as_of=AS_OF)
        policy.decide(accounts[-1], as_of=AS_OF, portfolio=stats)
    return policy.decide_many(accounts, as_of=AS_OF)


def test_a_spawn_pool_returns_batches_and_raises_typed_errors() -> None:
    policy = gold_policy(100_000)
    good = revenue_accounts(10)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        failing = pool.submit(decide_in_worker, policy, [*good, BAD_ACCOUNT])
        deciding = pool.submit(decide_in_worker, policy, good)
        # before errors pickled, this one broke the whole pool (BrokenProcessPool) instead
        with pytest.raises(AccountValidationError) as info:
            failing.result(timeout=120)
        assert info.value.account_id == "KA-9" and info.value.problems[0][0] == "transactions.annual_revenue"
        assert deciding.result(timeout=120) == policy.decide_many(good, as_of=AS_OF)

