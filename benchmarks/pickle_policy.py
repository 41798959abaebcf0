"""What it costs to send a Policy to another process (public calls, CPU time of this process).

    python benchmarks/pickle_policy.py [--repeat 20]

Per shipped policy: ``load_policy`` from disk, ``pickle.dumps`` (size), ``pickle.loads`` (the
texts are read, checked and compiled again), ``copy.deepcopy``; median of ``--repeat`` runs.
Then wall time of a ``spawn`` pool of 2 deciding examples/portfolio/accounts.csv (the policy
pickled with each task) against ``decide_many`` in this process, and whether they agree.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import multiprocessing
import pickle
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import accountrules

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
AS_OF = dt.date(2026, 6, 30)


def cpu_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return 1000 * statistics.median(times)


def decide_json(policy: accountrules.Policy, path: str) -> list[str]:
    return [d.model_dump_json() for d in policy.decide_many(path, as_of=AS_OF).decisions]


def report(name: str, path: Path, repeat: int) -> None:
    policy = accountrules.load_policy(path)
    data = pickle.dumps(policy)
    print(f"{name}: load_policy {cpu_ms(lambda: accountrules.load_policy(path), repeat):.1f} ms, "
          f"pickle.dumps {cpu_ms(lambda: pickle.dumps(policy), repeat):.2f} ms ({len(data):,} bytes), "
          f"pickle.loads {cpu_ms(lambda: pickle.loads(data), repeat):.1f} ms, "
          f"deepcopy {cpu_ms(lambda: copy.deepcopy(policy), repeat):.1f} ms (CPU, median of {repeat})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for name in ("express", "postal"):
        report(name, ROOT / "rulesets" / name, args.repeat)
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    t = time.perf_counter()
    here = decide_json(policy, str(ACCOUNTS))
    local = time.perf_counter() - t
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = list(pool.map(decide_json, [policy] * 2, [str(ACCOUNTS)] * 2))
    pooled = time.perf_counter() - t
    same = all(part == here for part in there)
    print(f"express, {len(here)} accounts: in-process decide_many {local:.2f} s; spawn pool of 2, two tasks "
          f"(process start-up included) {pooled:.2f} s wall; decisions identical: {same}")


if __name__ == "__main__":
    main()
