"""durable rulesets are shared by policies that translate to the same rules and deleted from durable's
C core when the last of them is dropped."""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
import threading
import uuid
import weakref
from pathlib import Path

import pytest

pytest.importorskip("durable.engine", reason="durable_rules is not installed or cannot be imported (Python 3.13)")

import accountrules  # noqa: E402
from accountrules import Policy  # noqa: E402
from accountrules.evaluate.durable import DurableMatcher  # noqa: E402
from accountrules.evaluate.durable_networks import Network, live_networks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
ACCOUNTS = [{"id": f"A{i}", "transactions": {"annual_revenue": 900_000 * i, "annual_profit": 240_000 * (i - 3),
                                             "marketing_cost": 120_000}, "relationship": {"stage": "stable"}}
            for i in range(8)]


def network_of(p: Policy) -> Network:
    m = p.evaluators.matcher("durable")
    assert isinstance(m, DurableMatcher)
    return m.network


def decided(p: Policy, engine: str = "durable") -> list[dict[str, object]]:
    return p.decide_many(ACCOUNTS, as_of=AS_OF, engine=engine).to_records(errors=True)


def test_loads_of_the_same_policy_share_one_set_of_rulesets() -> None:
    a = accountrules.load_policy(ROOT / "examples" / "small", engine="durable")
    b = accountrules.load_policy(ROOT / "examples" / "small", engine="durable")
    other = accountrules.load_policy("express", engine="durable")
    assert network_of(a) is network_of(b)
    assert network_of(other) is not network_of(a)
    assert {h for _, h in network_of(a).sections.values()}.isdisjoint(h for _, h in network_of(other).sections.values())
    assert decided(a) == decided(b) == decided(a, "compiled")


def fresh_policy_text() -> str:
    """examples/small with a threshold no other test uses: rules no live network holds yet."""
    text = (ROOT / "examples" / "small" / "policy.yaml").read_text(encoding="utf-8")
    unique = f"2.{uuid.uuid4().int % 10**9}"
    changed = text.replace("when: profit_contribution >= 2", f"when: profit_contribution >= {unique}")
    assert changed != text
    return changed


def test_rulesets_that_never_decided_are_deleted_when_the_last_policy_is_dropped() -> None:
    text = fresh_policy_text()
    a = accountrules.load_policy_text(text, engine="durable")
    b = accountrules.load_policy_text(text, engine="durable")
    net = weakref.ref(network_of(a))
    assert not network_of(a).used
    live, _ = live_networks()
    del a
    gc.collect()
    assert net() is not None  # still in use by b
    del b
    gc.collect()
    assert net() is None and live_networks()[0] == live - 1


def test_rulesets_that_decided_are_kept_and_reused_by_the_next_load() -> None:
    text = fresh_policy_text()
    a = accountrules.load_policy_text(text, engine="durable")
    expected = decided(a)
    net = network_of(a)
    assert net.used
    handles = dict(net.sections)
    del a, net
    gc.collect()
    again = accountrules.load_policy_text(text, engine="durable")
    assert dict(network_of(again).sections) == handles  # nothing registered anew
    assert decided(again) == expected == decided(again, "compiled")


def test_threads_loading_one_policy_get_one_network() -> None:
    nets: list[Network] = []
    answers: list[list[dict[str, object]]] = []
    keep: list[Policy] = []
    lock = threading.Lock()

    def load() -> None:
        p = accountrules.load_policy(ROOT / "examples" / "small", engine="durable")
        answer = decided(p)
        with lock:
            nets.append(network_of(p))
            answers.append(answer)
            keep.append(p)

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(nets) == 6 and len({id(n) for n in nets}) == 1 and all(a == answers[0] for a in answers)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_resident_memory_stays_flat_over_load_and_drop_cycles() -> None:
    """Each durable load of rulesets/express that decided took about 1.6 MB of C memory for good before reuse."""
    def cycle() -> None:
        p = accountrules.load_policy("express", engine="durable")
        decided(p)

    for _ in range(5):  # warm up: imports, allocator pools
        cycle()
        gc.collect()
    start = _rss_mb()
    for _ in range(40):
        cycle()
        gc.collect()
    assert _rss_mb() - start < 20  # without reuse: about 65 MB


def test_a_load_for_another_engine_registers_nothing_with_durable() -> None:
    before = live_networks()
    policy = accountrules.load_policy_text(fresh_policy_text())  # engine="compiled": durable is built on demand
    assert policy.decide_many(ACCOUNTS, as_of=AS_OF).ok
    assert live_networks() == before
    assert decided(policy) == decided(policy, "compiled") and live_networks()[0] == before[0] + 1
