"""A Policy pickles and deep-copies to an equal, working policy, also into a ``spawn`` process pool."""

from __future__ import annotations

import copy
import datetime as dt
import multiprocessing
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import accountrules
from accountrules.policy import Policy
from accountrules.testing.runner import durable_available
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
POLICIES = {"express": ROOT / "rulesets" / "express", "postal": ROOT / "rulesets" / "postal",
            "small": ROOT / "examples" / "small" / "policy.yaml"}


def decided(policy: Policy, source: Any, engine: str = "compiled") -> list[str]:
    """Every item of ``decide_many`` as JSON (a Decision with its trace, or a row error)."""
    return [item.model_dump_json() if isinstance(item, accountrules.Decision) else str(item)
            for item in policy.decide_many(source, as_of=AS_OF, engine=engine)]


def describe(policy: Policy, source: str) -> tuple[tuple[str, str, str], list[str]]:
    """What a worker process gives back: the policy's ref and its decisions."""
    return (policy.ref.name, policy.ref.version, policy.ref.hash), decided(policy, source)


@pytest.fixture(scope="module")
def accounts() -> list[dict[str, Any]]:
    return [{"id": f"A{i}", "transactions": {"annual_profit": 50_000.0 * i - 200_000, "marketing_cost": 90_000.0,
                                             "annual_revenue": 400_000.0 * i, "recency_days": i * 7},
             "relationship": {"stage": ("initial", "stable", "nurture")[i % 3], "share_of_wallet": (i % 10) / 10}}
            for i in range(1, 41)]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_pickle_round_trip_is_equal_and_decides_the_same(name: str) -> None:
    policy = accountrules.load_policy(POLICIES[name])
    again = pickle.loads(pickle.dumps(policy))
    assert again is not policy and again == policy and hash(again) == hash(policy)
    assert again.ref == policy.ref and again.sources == policy.sources
    assert again.spec.sources == policy.spec.sources and again.spec.root == policy.spec.root
    assert decided(again, str(ACCOUNTS)) == decided(policy, str(ACCOUNTS))


def test_deepcopy_and_copy(accounts: list[dict[str, Any]]) -> None:
    policy = accountrules.load_policy(POLICIES["express"])
    policy.decide_many(accounts, as_of=AS_OF, engine="vector")  # an evaluator is built: it is not copied
    deep = copy.deepcopy(policy)
    assert deep is not policy and deep == policy and deep.ref == policy.ref
    assert deep.evaluators is not policy.evaluators
    assert decided(deep, accounts) == decided(policy, accounts)
    assert copy.copy(policy) == policy
    assert copy.deepcopy({"p": policy})["p"] == policy


def test_an_unpickled_policy_needs_no_files(tmp_path: Path, accounts: list[dict[str, Any]]) -> None:
    """The texts travel: a policy with includes and an ``extends`` base is read again from them."""
    base = tmp_path / "base"
    shutil.copytree(POLICIES["express"], base)
    shutil.rmtree(base / "tests")
    child = tmp_path / "child"
    child.mkdir()
    (child / "policy.yaml").write_text(
        'policy: {name: child, version: "2", label: child}\nextends: ../base\nparams: {}\n', encoding="utf-8")
    policy = accountrules.load_policy(child)
    assert sorted(Path(f.path).parent.name for f in policy.sources) == ["base"] * 6 + ["child"]
    data = pickle.dumps(policy)
    want = decided(policy, accounts)
    shutil.rmtree(tmp_path / "base")
    shutil.rmtree(tmp_path / "child")
    again = pickle.loads(data)
    assert again == policy and again.ref == policy.ref
    assert decided(again, accounts) == want


def test_two_policies_equal_only_with_the_same_texts(tmp_path: Path) -> None:
    a = accountrules.load_policy(POLICIES["small"])
    assert a == accountrules.load_policy(POLICIES["small"])
    moved = tmp_path / "policy.yaml"
    shutil.copy(POLICIES["small"], moved)
    other = accountrules.load_policy(moved)
    assert other.ref == a.ref  # the same content hash ...
    assert other != a  # ... read from another file: its locations differ
    assert a != accountrules.load_policy(POLICIES["express"])


def test_a_policy_built_from_a_spec_pickles_its_spec() -> None:
    loaded = accountrules.load_policy(POLICIES["small"])
    policy = Policy(loaded.spec)
    assert policy.sources == ()
    again = pickle.loads(pickle.dumps(policy))
    assert again == policy and again.ref == loaded.ref
    accounts = [{"id": f"A{i}", "transactions": {"annual_profit": 100_000 * i, "marketing_cost": 100_000}}
                for i in range(8)]
    assert decided(again, accounts) == decided(loaded, accounts)


@pytest.mark.skipif(not durable_available(), reason="the durable evaluator is not available")
def test_durable_is_rebuilt_after_unpickling(accounts: list[dict[str, Any]]) -> None:
    policy = accountrules.load_policy(POLICIES["express"], engine="durable")
    again = pickle.loads(pickle.dumps(policy))
    assert again.evaluators.matcher("durable") is not policy.evaluators.matcher("durable")
    assert decided(again, accounts, "durable") == decided(policy, accounts, "durable") == decided(policy, accounts)


def test_a_spawn_pool_decides_like_this_process_with_two_versions_side_by_side(tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    shutil.copytree(POLICIES["express"], v1)
    v2 = tmp_path / "v2"
    shutil.copytree(POLICIES["express"], v2)
    text = (v2 / "policy.yaml").read_text(encoding="utf-8")
    version = accountrules.load_policy(v1).version
    assert f"version: {version!r}" in text or f'version: "{version}"' in text or f"version: {version}" in text
    (v2 / "policy.yaml").write_text(text.replace(version, version + ".1", 1), encoding="utf-8")
    old, new = accountrules.load_policy(v1), accountrules.load_policy(v2)
    assert old.ref.hash != new.ref.hash and new.version == version + ".1"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        got = list(pool.map(describe, [old, new, old], [str(ACCOUNTS)] * 3))
    for policy, (ref, decisions) in zip([old, new, old], got, strict=True):
        assert ref == (policy.ref.name, policy.ref.version, policy.ref.hash)
        assert decisions == decided(policy, str(ACCOUNTS))
    assert got[0] == got[2] and got[0][1] != got[1][1]  # the decisions name their policy's version


EXPRESS = accountrules.load_policy(POLICIES["express"])
EXPRESS_AGAIN = pickle.loads(pickle.dumps(EXPRESS))


@settings(max_examples=30, deadline=None)
@given(portfolios(EXPRESS, max_size=12))
def test_an_unpickled_policy_decides_generated_portfolios_alike(portfolio: list[dict[str, Any]]) -> None:
    assert decided(EXPRESS_AGAIN, portfolio) == decided(EXPRESS, portfolio)
