"""Nothing printed, nothing warned, memory flat over load and decide cycles (docs/embedding.md)."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import tracemalloc
import warnings
from collections.abc import Callable

import pytest

import accountrules
from accountrules.testing.cases import default_case_paths, load_case_file
from accountrules.testing.runner import default_engines, run_cases
from embedding_helpers import AS_OF, ENGINES, gold_policy, revenue_accounts, tiers

ACCOUNTS = [{"id": f"KA-{i:03}", "transactions": {"annual_revenue": 9_000.0 * i, "annual_profit": 800.0 * i,
                                                  "marketing_cost": 300.0}} for i in range(1, 31)]


def _everything_a_service_calls(name: str) -> None:
    policy = accountrules.load_policy(name)
    accounts = ACCOUNTS
    for engine in default_engines():
        policy.evaluators.prepare(engine, batch=True)
        result = policy.decide_many(accounts, as_of=AS_OF, engine=engine)
        list(policy.iter_decide(accounts, as_of=AS_OF, engine=engine))
        if engine != "vector":
            policy.decide(accounts[3], as_of=AS_OF, portfolio=result.stats, engine=engine).explain("zh")
    policy.lint()
    folder = accountrules.shipped.find_policy(name)
    assert folder is not None
    report = run_cases(policy, [load_case_file(f, policy) for f in default_case_paths(folder)],
                       engines=default_engines())
    assert report is not None


@pytest.mark.parametrize("name", ["express", "postal"])
def test_nothing_is_printed_or_warned_at_the_default_log_level(name: str, capfd: pytest.CaptureFixture[str]) -> None:
    # the library leaves handlers to the application: a NullHandler only, so no "last resort" output
    assert all(type(h) is logging.NullHandler for h in logging.getLogger("accountrules").handlers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", r"datetime\.datetime\.utcfromtimestamp", DeprecationWarning)  # durable's
        _everything_a_service_calls(name)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert [str(w.message) for w in caught] == []


def test_import_and_a_decision_raise_no_warning_under_w_error() -> None:
    script = ("import datetime, accountrules\n"
              "p = accountrules.load_policy('express')\n"
              "a = [{'id': 'KA-1', 'transactions': {'annual_revenue': 5.0}}]\n"
              "d = p.decide(a[0], as_of=datetime.date(2026, 6, 30), portfolio=p.portfolio_stats(a))\n"
              "p.decide_many(a, as_of=datetime.date(2026, 6, 30)).raise_for_errors()\n")
    done = subprocess.run([sys.executable, "-W", "error", "-X", "dev", "-c", script], capture_output=True,
                          text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def _traced_after(cycles: Callable[[int], None], rounds: int) -> list[int]:
    """Python memory still allocated after each round of cycles (after a warm-up round)."""
    cycles(0)
    gc.collect()
    tracemalloc.start()
    try:
        sizes = []
        for r in range(1, rounds + 1):
            cycles(r)
            gc.collect()
            sizes.append(tracemalloc.get_traced_memory()[0])
        return sizes
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("engine", ENGINES)
def test_load_and_decide_cycles_keep_memory_flat(engine: str) -> None:
    accounts = revenue_accounts(30)
    # durable keeps the rulesets of each distinct policy that decided, by design (docs/durable.md):
    # it loads one text again and again; the others a new policy every cycle
    distinct = engine != "durable"

    def cycles(r: int) -> None:
        for i in range(15):
            policy = gold_policy(100_000 + (r * 100 + i if distinct else 0))
            tiers(policy, accounts, engine, one_by_one=True)
            tiers(policy, accounts, engine, one_by_one=False)

    sizes = _traced_after(cycles, 3)
    # 30 policies loaded and dropped between the first and the last measure: a loaded one holds about
    # 40 KiB, so anything kept per policy would add a megabyte; what is left is the interpreter's and
    # pyarrow's own bounded caches (a few KiB)
    assert sizes[-1] - sizes[0] < 64 * 1024, sizes
