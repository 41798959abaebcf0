"""Batch speed and memory per account, as reported in docs/batch.md.

    python benchmarks/batch.py [--accounts 100000]

Writes a seeded portfolio (examples/portfolio/make_accounts.py) to a temporary CSV, then, in
one process: accounts/s of ``decide_many(path)`` per policy and engine (after a warm-up run),
the memory a ``BatchResult`` holds per account (tracemalloc), and the Python heap peak of
streaming the file chunk by chunk (``iter_batches``, what ``accountrules decide`` does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import accountrules
from accountrules.batch import iter_batches

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "portfolio"))
import make_accounts  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=100_000)
    n = ap.parse_args().accounts
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "accounts.csv"
        make_accounts.write(csv_path, make_accounts.portfolio(n, seed=1))
        print(f"{n:,} accounts, {len(make_accounts.COLUMNS)} columns, CSV {csv_path.stat().st_size / 1e6:.0f} MB")
        print(f"{'policy, engine':<32}{'accounts/s':>12}{'seconds':>9}")
        for name in ("examples/small", "rulesets/express"):
            policy = accountrules.load_policy(ROOT / name)
            for engine in ("compiled", "vector"):
                policy.decide_many(str(csv_path), as_of=AS_OF, engine=engine, trace=False)  # warm-up
                start = time.perf_counter()
                result = policy.decide_many(str(csv_path), as_of=AS_OF, engine=engine, trace=False)
                took = time.perf_counter() - start
                print(f"{name + ', ' + engine:<32}{len(result) / took:>12,.0f}{took:>9.1f}")

        policy = accountrules.load_policy(ROOT / "examples" / "small")
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        result = policy.decide_many(str(csv_path), as_of=AS_OF)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        arrow = result_arrow_bytes(result)
        print(f"BatchResult held (examples/small): {held / n:,.0f} B/account Python objects"
              f" + {arrow / n:,.0f} B/account Arrow buffers")
        one = result[0]
        tracemalloc.start()
        b0 = tracemalloc.get_traced_memory()[0]
        copy = accountrules.Decision.model_validate_json(one.model_dump_json())
        size = tracemalloc.get_traced_memory()[0] - b0
        tracemalloc.stop()
        print(f"one Decision with its trace: {size:,} B ({copy.account_id})")
        del result

        tracemalloc.start()
        for _ in iter_batches(policy, str(csv_path), as_of=AS_OF, trace=False):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"streaming (iter_batches) Python heap peak: {peak / 2**20:,.0f} MiB = {peak / n:,.0f} B/account")


def result_arrow_bytes(result: accountrules.BatchResult) -> int:
    try:
        import pyarrow as pa
    except ImportError:
        return 0
    return int(pa.total_allocated_bytes())


if __name__ == "__main__":
    main()
