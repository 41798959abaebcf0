"""Tabular I/O speed: writing a decided portfolio and reading an order log, public calls end to end.

    python benchmarks/tabular_io.py [--accounts 100000] [--orders 1000000]

CPU seconds (``time.process_time``), best of 3, of:

* ``accountrules.batch.writers.write(result, path)`` for CSV and Parquet, on the
  ``BatchResult`` of ``decide_many`` over a seeded portfolio CSV (the decisions are made
  once, outside the timer). JSONL is left out: it writes full Decisions, so it would time
  building them, not the writer;
* ``accountrules.features.derive_features(path)`` over a seeded order-log CSV (reading,
  checking and aggregating).

Only public calls are timed, so the same script runs against any version of the package.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import accountrules
from accountrules.batch.writers import write
from accountrules.features import ColumnMap, derive_features

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "portfolio"))
import make_accounts  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def best_cpu(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def order_log(path: Path, n: int) -> None:
    rng = random.Random(1)
    start = dt.date(2024, 1, 1).toordinal()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "date", "amount", "cost"])
        for _ in range(n):
            day = dt.date.fromordinal(start + rng.randrange(900)).isoformat()
            amount = round(rng.uniform(5, 5000), 2)
            w.writerow([f"{rng.randrange(n // 20):06d}", day, amount, round(amount * rng.uniform(0.5, 0.9), 2)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    args = ap.parse_args()
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    with tempfile.TemporaryDirectory() as tmp:
        accounts = Path(tmp) / "accounts.csv"
        make_accounts.write(accounts, make_accounts.portfolio(args.accounts, seed=1))
        result = policy.decide_many(accounts, as_of=AS_OF, engine="vector", trace=False)
        print(f"write {len(result):,} decided rows (express), CPU s best of 3")
        for fmt in ("csv", "parquet"):
            out = Path(tmp) / f"out.{fmt}"
            s = best_cpu(lambda out=out: write(result, out))  # type: ignore[misc]
            print(f"  {fmt:<8}{s:8.2f} s {len(result) / s:12,.0f} rows/s  {out.stat().st_size / 1e6:6.1f} MB")
        orders = Path(tmp) / "orders.csv"
        order_log(orders, args.orders)
        cols = ColumnMap(cost="cost")
        s = best_cpu(lambda: derive_features(orders, as_of=dt.date(2026, 6, 30), columns=cols))
        print(f"derive_features {args.orders:,} orders CSV: {s:.2f} s ({args.orders / s:,.0f} orders/s)")


if __name__ == "__main__":
    main()
