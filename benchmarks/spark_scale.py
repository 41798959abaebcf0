"""Spark (local[N]) against the single-process columnar path, on the same generated data: one run.

    python benchmarks/spark_scale.py [--accounts 1000000 5000000] [--orders 10000000] [--master local[2]]

Data: examples/spark/generate.py (a portfolio with ties, unknowns and bad rows; an order log), written
to Parquet first (not timed). Each step is a public call timed end to end:

* single process: reading (``pyarrow.parquet.read_table``), the statistics pass and the decision
  pass of ``iter_batches`` (pass 1 ends at its last "reading" progress call; pass 2 re-reads the file
  chunk by chunk, validates, decides and makes the flat Arrow table: the single-machine streaming
  path), writing (those tables to Parquet, timed apart);
* Spark: reading (a ``noop`` write of the input: every column read), the statistics pass
  (``accountrules.spark.portfolio_pass``, one shuffle), the decision pass (``decide(...)`` written to
  ``noop``: re-read, validate, decide, no shuffle) and writing (``decide(...)`` to Parquet, less the
  decision pass);
* features: ``accountrules.features.derive_features(path)`` against
  ``accountrules.spark.derive_features(spark.read.parquet(path))`` written to ``noop`` and to Parquet.

"per core" divides a time by the cores that did the work (1 for the single process, N for local[N]).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import accountrules
from accountrules.batch import iter_batches
from accountrules.features import ColumnMap
from accountrules.features import derive_features as single_features

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "spark"))
import generate  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
ORDERS_AS_OF = dt.date(2026, 3, 31)


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def single_decide(policy: Any, path: Path, out: Path) -> dict[str, float]:
    read, _ = timed(lambda: pq.read_table(path))
    marks: dict[str, float] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        marks[phase] = time.perf_counter()

    t0 = time.perf_counter()
    writing = 0.0
    writer = None
    for part in iter_batches(policy, str(path), as_of=AS_OF, trace=False, progress=progress):
        table = part.to_arrow(errors=True)  # the flat columns, as the Spark decision pass returns them
        t = time.perf_counter()
        writer = writer or pq.ParquetWriter(out, table.schema)
        writer.write_table(table)
        writing += time.perf_counter() - t
    if writer is not None:
        writer.close()
    end = time.perf_counter()
    stats = marks["reading"] - t0
    return {"reading": read, "statistics pass": stats, "decision pass": end - marks["reading"] - writing,
            "writing": writing}


def spark_decide(spark: Any, policy: Any, path: Path, out: Path) -> dict[str, float]:
    from accountrules.spark import decide, portfolio_pass

    df = spark.read.parquet(str(path))
    read, _ = timed(lambda: df.write.format("noop").mode("overwrite").save())
    stats, held = timed(lambda: portfolio_pass(policy, df, as_of=AS_OF))
    decision, _ = timed(lambda: decide(policy, df, as_of=AS_OF, portfolio=held).write.format("noop")
                        .mode("overwrite").save())
    total, _ = timed(lambda: decide(policy, df, as_of=AS_OF, portfolio=held).write.mode("overwrite")
                     .parquet(str(out)))
    return {"reading": read, "statistics pass": stats, "decision pass": decision,
            "writing": max(total - decision, 0.0)}


def features(spark: Any, path: Path, out: Path) -> tuple[float, float, float]:
    from accountrules.spark import derive_features

    cols = ColumnMap(cost="cost", quantity="quantity")
    single, table = timed(lambda: single_features(path, as_of=ORDERS_AS_OF, columns=cols))
    pq.write_table(table, out.with_suffix(".single.parquet"))
    frame = derive_features(spark.read.parquet(str(path)), as_of=ORDERS_AS_OF, columns=cols)
    noop, _ = timed(lambda: frame.write.format("noop").mode("overwrite").save())
    written, _ = timed(lambda: frame.write.mode("overwrite").parquet(str(out)))
    return single, noop, written


def cores(master: str) -> int:
    m = re.fullmatch(r"local\[(\d+)\]", master)
    return int(m.group(1)) if m else os.cpu_count() or 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, nargs="*", default=[1_000_000, 5_000_000])
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    from accountrules.spark.session import start_session

    n_cores = cores(args.master)
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    t_start, spark = timed(lambda: start_session(args.master, "accountrules-benchmark",
                                                 {"spark.driver.memory": "6g"}))
    print(f"Spark {spark.version} on {args.master} ({n_cores} cores); session start {t_start:.1f} s; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.accounts:
            path = Path(tmp) / f"accounts_{n}.parquet"
            pq.write_table(generate.portfolio(n), path, row_group_size=200_000)
            one = single_decide(policy, path, Path(tmp) / "single.parquet")
            many = spark_decide(spark, policy, path, Path(tmp) / "spark_out.parquet")
            print(f"\ndecide {n:,} accounts (express policy)        single s   Spark s   ratio  per-core ratio")
            for step in one:
                a, b = one[step], many[step]
                print(f"  {step:<40}{a:>9.1f}{b:>10.1f}{b / a:>8.2f}{b * n_cores / a:>16.2f}")
            a, b = sum(one.values()), sum(many.values())
            print(f"  {'total':<40}{a:>9.1f}{b:>10.1f}{b / a:>8.2f}{b * n_cores / a:>16.2f}")
        if args.orders:
            path = Path(tmp) / "orders.parquet"
            log = generate.order_log(args.orders, max(1, args.orders // 20))
            pq.write_table(log, path, row_group_size=1_000_000)
            single, noop, written = features(spark, path, Path(tmp) / "features.parquet")
            print(f"\nfeatures from {args.orders:,} orders ({log.num_rows // 20:,} ids drawn)  single s   Spark s   "
                  "ratio  per-core ratio")
            print(f"  {'derive (no write)':<40}{single:>9.1f}{noop:>10.1f}{noop / single:>8.2f}"
                  f"{noop * n_cores / single:>16.2f}")
            print(f"  {'derive + write Parquet (Spark)':<40}{'':>9}{written:>10.1f}")
    spark.stop()


if __name__ == "__main__":
    main()
