"""Cost of a long first-hit range table: a 1,000-row table against a 10-row one, public calls end to end.

    python benchmarks/large_table.py [--accounts 2000] [--reps 5]

Two single-table policies differ only in the number of rows of their segment table:
``transactions.revenue >= lo and transactions.revenue < hi`` ranges that tile 0..1,000,000.
For each, in one process and with the same accounts, repetitions and statistic (the median
of ``--reps`` runs, CPU time): ``Policy.decide()`` per account (with trace) and
``Policy.decide_many(accounts)`` per account, for the compiled and the vector evaluator.
Printed as microseconds per account and the ratio 1,000 rows / 10 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import accountrules

AS_OF = dt.date(2026, 6, 30)
TOP = 1_000_000


def policy_text(rows: int) -> str:
    step = TOP // rows
    lines = [
        "policy: {name: ranges, version: '1', label: {zh: x, en: x}}",
        "segments:",
        "  band:",
        "    hit: first",
        "    values: {a: {zh: a, en: a}, b: {zh: b, en: b}, c: {zh: c, en: c}}",
        "    default: c",
        "    rows:",
    ]
    for i in range(rows):
        value = "ab"[i % 2]
        lines.append(f"      - {{id: r{i}, when: transactions.revenue >= {i * step} and "
                     f"transactions.revenue < {(i + 1) * step}, then: {value}}}")
    return "\n".join(lines) + "\n"


def accounts(n: int) -> list[dict[str, Any]]:
    rng = random.Random(1)
    return [{"id": f"A{i}", "transactions": {"revenue": rng.uniform(0, TOP)}} for i in range(n)]


def median_cpu(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    accs = accounts(args.accounts)
    n = len(accs)
    results: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (10, 1000):
            path = Path(tmp) / f"ranges{rows}.yaml"
            path.write_text(policy_text(rows), encoding="utf-8")
            policy = accountrules.load_policy(path)

            def single(policy: accountrules.Policy = policy) -> None:
                for a in accs:
                    policy.decide(a, as_of=AS_OF)

            def many(engine: str, policy: accountrules.Policy = policy) -> Callable[[], object]:
                return lambda: policy.decide_many(accs, as_of=AS_OF, engine=engine).raise_for_errors()

            single()  # warm-up
            results[("decide()", rows)] = median_cpu(single, args.reps) / n
            for engine in ("compiled", "vector"):
                many(engine)()
                results[(f"decide_many({engine})", rows)] = median_cpu(many(engine), args.reps) / n
    print(f"{n} accounts, median of {args.reps} runs, CPU time per account")
    print(f"{'call':<26}{'10 rows':>12}{'1000 rows':>12}{'ratio':>8}")
    for call in ("decide()", "decide_many(compiled)", "decide_many(vector)"):
        small, large = results[(call, 10)], results[(call, 1000)]
        print(f"{call:<26}{small * 1e6:>10.1f}us{large * 1e6:>10.1f}us{large / small:>8.2f}")


if __name__ == "__main__":
    main()
