"""A Decision whose trace and actions are built on first access is the same Decision as a fully built one.

Same JSON, same equality, same explanations, same pickles, before and after the trace and
the actions are read, for accounts generated against the shipped policies.
"""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import accountrules
from accountrules import Decision
from accountrules.model.account import Account
from accountrules.model.decision import ActionItem, Actions, Trace, TraceEntry
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")
POSTAL = accountrules.load_policy(ROOT / "rulesets" / "postal")
AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decisions(policy: accountrules.Policy, accounts: list[dict[str, Any]]) -> list[Decision]:
    stats = policy.portfolio_stats(accounts, as_of=AS_OF) if policy.uses_portfolio else None
    return [policy.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts]


def _check(policy: accountrules.Policy, accounts: list[dict[str, Any]]) -> None:
    for lazy, other in zip(_decisions(policy, accounts), _decisions(policy, accounts), strict=True):
        # ``lazy`` is compared before anything reads its trace; ``other`` is read first
        codes = lazy.action_codes()  # from the fired rules, before the action models exist
        text = other.model_dump_json()
        built = Decision.model_validate_json(text)  # every model validated, the trace a plain tuple
        assert built == lazy
        assert lazy.model_dump_json() == text
        assert lazy.model_dump() == built.model_dump()
        assert Decision.model_validate(lazy.model_dump()) == lazy
        assert lazy.trace == tuple(built.trace)
        assert [type(t) for t in lazy.trace] == [TraceEntry] * len(built.trace)
        for lang in ("en", "zh"):
            assert lazy.explain(lang) == built.explain(lang)
        assert codes == lazy.action_codes() == built.action_codes()
        assert lazy.actions == tuple(built.actions) and isinstance(lazy.actions, Actions)
        assert [type(a) for a in lazy.actions] == [ActionItem] * len(built.actions)
        assert repr(lazy) == repr(built)


@SETTINGS
@given(portfolios(EXPRESS, max_size=8))
def test_lazy_decisions_round_trip_express(accounts: list[dict[str, Any]]) -> None:
    _check(EXPRESS, accounts)


@SETTINGS
@given(portfolios(POSTAL, max_size=8))
def test_lazy_decisions_round_trip_postal(accounts: list[dict[str, Any]]) -> None:
    _check(POSTAL, accounts)


README_ACCOUNT = {
    "id": "KA-001", "transactions": {"annual_profit": 2_400_000, "marketing_cost": 120_000,
                                     "annual_revenue": 9_000_000, "recency_days": 3},
    "relationship": {"stage": "stable", "share_of_wallet": 0.72, "previous_tier": "gold"},
}


def _fresh(trace: bool = True) -> Decision:
    stats = EXPRESS.portfolio_stats([README_ACCOUNT], as_of=AS_OF)
    return EXPRESS.decide(README_ACCOUNT, as_of=AS_OF, portfolio=stats, trace=trace)


@pytest.mark.parametrize("read_first", [False, True])
def test_a_decision_pickles_and_copies_to_an_equal_decision(read_first: bool) -> None:
    d = _fresh()
    if read_first:
        assert len(d.trace) > 0
    for back in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d), copy.copy(d)):
        assert back == d
        assert back.model_dump_json() == d.model_dump_json()
        assert back.explain("zh") == d.explain("zh")


def test_a_decision_without_trace_has_an_empty_one() -> None:
    d = _fresh(trace=False)
    assert d.trace == () and len(d.trace) == 0 and not d.trace
    assert '"trace":[]' in d.model_dump_json()
    assert d == Decision.model_validate_json(d.model_dump_json())
    assert d != _fresh(trace=True)


def test_the_trace_is_built_once_even_when_threads_race_for_it() -> None:
    d = _fresh()
    seen: list[tuple[TraceEntry, ...]] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        seen.append(d.trace.entries)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8 and all(s == seen[0] for s in seen)
    assert d.trace.entries is d.trace.entries  # kept once built


def test_a_trace_behaves_like_the_tuple_of_its_entries() -> None:
    d = _fresh()
    entries = tuple(d.trace)
    assert d.trace == entries and entries == tuple(d.trace)
    assert d.trace[0] == entries[0] and d.trace[-2:] == entries[-2:]
    assert list(reversed(d.trace)) == list(reversed(entries))
    assert Trace(entries) == d.trace and Trace() == () and Trace() != d.trace
    assert d.trace != list(entries)  # like a tuple: not equal to a list


def test_actions_behave_like_the_tuple_of_their_items() -> None:
    d = _fresh()
    items = tuple(d.actions)
    assert items and d.actions == items and d.actions.codes == [a.code for a in items]
    assert d.actions[0] == items[0] and d.actions[-1:] == items[-1:]
    assert Actions(items) == d.actions and Actions() == () and _fresh(trace=False).actions == items
    assert hash(d.actions) == hash(items)
    assert pickle.loads(pickle.dumps(d.actions)) == items


def test_a_missing_group_is_the_shared_empty_group() -> None:
    a = Account.model_validate({"id": "A"})
    b = Account.model_validate({"id": "B", "transactions": {"count": 1}})
    assert a.company is b.company and a.transactions != b.transactions
    explicit = Account.model_validate({"id": "A", "company": {}, "transactions": {}, "credit": {}, "loyalty": {},
                                       "relationship": {}, "signals": {}})
    assert a == explicit and a.model_dump_json() == explicit.model_dump_json()


def test_decisions_share_the_plans_outcome_models_and_stay_equal_to_built_ones() -> None:
    # a tier/segment/stage outcome depends only on its code and the row that decided it: decisions
    # share one frozen model per (section, code, row) of the plan, and each equals a freshly built one
    accounts = [{"id": f"S{i}", "transactions": {"annual_profit": 50_000.0 * i, "marketing_cost": 10_000.0},
                 "relationship": {"stage": "stable"}} for i in range(1, 6)]
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")  # its own plan: nothing shared yet
    first, second = (_decisions(policy, accounts) for _ in range(2))
    for a, b in zip(first, second, strict=True):
        assert a.tier is not None and a.stage is not None
        assert a.tier is b.tier and a.stage is b.stage
        assert all(a.segments[k] is b.segments[k] for k in a.segments)
        assert a.tier == type(a.tier).model_validate(a.tier.model_dump())
        assert a.stage == type(a.stage).model_validate(a.stage.model_dump())
    # frozen: a caller cannot change one decision's outcome, and so every other decision's
    with pytest.raises(ValueError):
        first[0].tier.code = "lead"  # type: ignore[misc, union-attr]
    # another policy (here a second load of the same files) never sees this plan's models
    other = _decisions(EXPRESS, accounts)
    assert all(a.tier is not b.tier and a.tier == b.tier for a, b in zip(first, other, strict=True))



def test_a_held_decision_leaves_few_objects_for_the_cyclic_collector() -> None:
    # A caller listing a batch's Decisions (``result.decisions``) holds them all; every object of theirs
    # the cyclic collector tracks is walked again at each full pass as the list grows. The reasons of an
    # action and the sections of the trace are kept as tuples of text, which the collector stops tracking
    # after its first look; with lists and pairs a Decision left 26.4 on average (``benchmarks/ab.py
    # --input decisions``: docs/performance-history.md, fifteenth round).
    import gc

    result = EXPRESS.decide_many(ROOT / "examples" / "portfolio" / "accounts.csv", as_of=AS_OF)
    assert result.decisions  # the plan's shared parts (outcomes, labels) are made by the first ones
    gc.collect()
    before = len(gc.get_objects())
    held = result.decisions
    gc.collect()
    per_decision = (len(gc.get_objects()) - before) / len(held)
    assert len(held) == 300 and per_decision <= 16, per_decision
