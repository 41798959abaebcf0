"""Is ``decide_many`` linear? Per-account cost at 100k and 1M accounts, public calls end to end.

    python benchmarks/scaling.py [--sizes 100000 1000000] [--repeat 3] [--engines vector compiled]
                                 [--inputs table csv]

For each size, a seeded synthetic portfolio (``benchmarks/portfolio.py``: lognormal revenue,
ties, negative profits, a few percent unknowns) is built as a flat pyarrow Table and written to
a CSV file. Each engine then decides it with the express policy (``rulesets/express``) through
the public ``policy.decide_many(source, engine=..., trace=False)``: reading, validation,
portfolio statistics, evaluation and the flat results are all inside the timer. Every
(input, engine, size) is run ``--repeat`` times after one warm-up run at the smallest size; the
statistic is the minimum CPU time (``time.process_time``) of the repetitions, wall time shown
beside it. The last column is the per-account cost at the largest size divided by the cost at
the smallest (the linearity target is at most 1.3).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

import accountrules

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from portfolio import make_columns  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def flat_table(n: int, seed: int = 20260630) -> pa.Table:
    """The synthetic portfolio as a flat pyarrow Table: field-path columns, nulls = unknown."""
    cols = make_columns(n, seed=seed, as_of=AS_OF)
    out: dict[str, pa.Array] = {}
    for key, v in cols.items():
        if key.startswith("contacts."):  # contacts are nested lists, not flat columns
            continue
        if key == "id":
            out[key] = pa.array([f"A{i}" for i in range(n)], pa.string())
        elif isinstance(v, tuple) and isinstance(v[1], list):  # category codes, -1 = unknown
            codes, values = v
            out[key] = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32(), mask=codes < 0),
                                                      pa.array(values)).cast(pa.string())
        elif isinstance(v, tuple) and key == "relationship.last_executive_visit":
            days = (v[0] - dt.date(1970, 1, 1).toordinal()).astype(np.int32)
            out[key] = pa.array(days, pa.int32(), mask=~v[1]).cast(pa.date32())
        elif isinstance(v, tuple):
            out[key] = pa.array(v[0], pa.bool_(), mask=~v[1])
        elif key in _INTS:
            out[key] = pa.array(np.nan_to_num(v).astype(np.int64), pa.int64(), mask=np.isnan(v))
        else:
            out[key] = pa.array(v, pa.float64(), mask=np.isnan(v))
    return pa.table(out)


_INTS = {"transactions.count", "transactions.recency_days", "credit.overdue_payments", "loyalty.complaint_count",
         "loyalty.open_complaints"}


def timed(policy: accountrules.Policy, source: Any, engine: str, repeat: int) -> tuple[float, float, int]:
    """(min CPU seconds, wall seconds of that run, rows decided) over ``repeat`` runs."""
    best = (float("inf"), 0.0, 0)
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        result = policy.decide_many(source, as_of=AS_OF, engine=engine, trace=False)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        rows = len(result)
        del result
        if cpu < best[0]:
            best = (cpu, wall, rows)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", nargs="+", default=["vector", "compiled"])
    ap.add_argument("--inputs", nargs="+", default=["table", "csv"], choices=["table", "csv"])
    args = ap.parse_args()
    sizes = sorted(args.sizes)
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    print(f"express policy, decide_many(source, engine=..., trace=False); min CPU time of {args.repeat} runs")
    print(f"{'input':<7}{'engine':<10}{'accounts':>10}{'CPU s':>9}{'wall s':>9}{'µs/account':>12}"
          f"{'accounts/s':>12}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        sources: dict[tuple[str, int], Any] = {}
        for n in sizes:
            table = flat_table(n)
            if "table" in args.inputs:
                sources[("table", n)] = table
            if "csv" in args.inputs:
                path = Path(tmp) / f"accounts-{n}.csv"
                pacsv.write_csv(table, path)
                sources[("csv", n)] = str(path)
        for kind in args.inputs:
            for engine in args.engines:
                policy.decide_many(sources[(kind, sizes[0])], as_of=AS_OF, engine=engine, trace=False)  # warm-up
                first: float | None = None
                for n in sizes:
                    cpu, wall, rows = timed(policy, sources[(kind, n)], engine, args.repeat)
                    per = cpu / n * 1e6
                    first = per if first is None else first
                    print(f"{kind:<7}{engine:<10}{n:>10,}{cpu:>9.2f}{wall:>9.2f}{per:>12.2f}{n / cpu:>12,.0f}"
                          f"{per / first:>8.2f}", flush=True)
                    assert rows == n, f"{rows} decided of {n}"


if __name__ == "__main__":
    main()
