"""Many threads deciding at once on one policy and on two versions of it (docs/embedding.md)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from accountrules.testing.runner import vector_available
from embedding_helpers import ENGINES, ROOT, gold_policy, revenue_accounts, tiers

# -- two versions of one policy, from several threads -------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_two_versions_with_one_name_and_version_decide_their_own_rules_from_threads(engine: str) -> None:
    old, new = gold_policy(500_000), gold_policy(100_000)
    assert (old.name, old.version) == (new.name, new.version) and old.ref.hash != new.ref.hash
    accounts = revenue_accounts()
    expected = {id(p): tiers(p, accounts, "compiled", one_by_one=True) for p in (old, new)}
    assert expected[id(old)] != expected[id(new)]
    start = threading.Barrier(6)
    wrong: list[tuple[int, int, str]] = []

    def work(k: int) -> None:
        policy = (old, new)[k % 2]
        start.wait()
        for rep in range(3):  # interleaved: single decisions and batches of both versions at once
            try:
                if tiers(policy, accounts, engine, one_by_one=(k + rep) % 2 == 0) != expected[id(policy)]:
                    wrong.append((k, rep, "other tiers"))
            except Exception as e:  # noqa: BLE001 - a thread's exception would otherwise only be a warning
                wrong.append((k, rep, repr(e)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


FIRST_BATCHES_FROM_THREADS = f"""
import sys, threading
sys.path.insert(0, {str(Path(__file__).parent)!r})
from embedding_helpers import gold_policy, revenue_accounts, tiers
assert "pyarrow" not in sys.modules
policy, accounts, failed = gold_policy(100_000), revenue_accounts(), []
start = threading.Barrier(6)

def work(k):
    start.wait()
    try:
        for rep in range(3):
            tiers(policy, accounts, "compiled", one_by_one=(k + rep) % 2 == 0)
    except Exception as e:
        failed.append(repr(e))

threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(failed)
"""


@pytest.mark.skipif(not vector_available(), reason="pyarrow is not installed")
def test_the_first_batches_of_a_fresh_process_decide_from_threads() -> None:
    # decide_many imports pyarrow on first use; a thread that met it half imported by another
    # (sys.modules holds it before pyarrow.Table exists) raised AttributeError
    done = subprocess.run([sys.executable, "-c", FIRST_BATCHES_FROM_THREADS], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "[]", "")

