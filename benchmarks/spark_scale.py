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

Before the first timed size both sides decide a small portfolio once, untimed (``--warmup``), so
neither pays its first call's start-up inside a timed step.

Each step is timed twice: wall time (``time.perf_counter``) and CPU time. The single process's CPU
is ``time.process_time``; Spark's is the CPU of the whole process tree under this one (the driver,
the JVM with its GC and JIT threads, Spark's Python daemon and workers; from /proc, Linux only).
"x cores" multiplies the wall ratio by the cores Spark had (N for local[N]): per core, if both ran
undisturbed. The CPU ratio is the per-core comparison that holds on a shared, loaded machine: the
CPU seconds Spark spent on a step against those the single process spent on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
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


def tree_cpu() -> float:
    """CPU seconds (user + system) used so far by this process and every process under it (the JVM,
    Spark's Python daemon and workers), reaped children included: from /proc, Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parent[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo.extend(p for p, pp in parent.items() if pp == pid)
    return total


def timed(fn: Any) -> tuple[float, Any]:
    """Wall seconds of ``fn()`` (time.perf_counter), and its result."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


class Clock:
    """Wall and CPU seconds of each step: CPU of this process alone (``time.process_time``) for the
    single process, of the whole process tree (driver, JVM, Python workers) for Spark."""

    def __init__(self, tree: bool):
        self.cpu: Callable[[], float] = tree_cpu if tree else time.process_time
        self.wall: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def step(self, name: str, fn: Any) -> Any:
        c, t = self.cpu(), time.perf_counter()
        out = fn()
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - t
        self.used[name] = self.used.get(name, 0.0) + self.cpu() - c
        return out


def single_decide(policy: Any, path: Path, out: Path) -> Clock:
    clock = Clock(tree=False)
    clock.step("reading", lambda: pq.read_table(path))
    marks: dict[str, tuple[float, float]] = {}

    def progress(phase: str, done: int, total: int | None) -> None:
        marks[phase] = (time.perf_counter(), time.process_time())

    t0, c0 = time.perf_counter(), time.process_time()
    writer: list[Any] = []

    def write(table: Any) -> None:
        if not writer:
            writer.append(pq.ParquetWriter(out, table.schema))
        writer[0].write_table(table)

    for part in iter_batches(policy, str(path), as_of=AS_OF, trace=False, progress=progress):
        table = part.to_arrow(errors=True)  # the flat columns, as the Spark decision pass returns them
        clock.step("writing", lambda table=table: write(table))
    if writer:
        clock.step("writing", writer[0].close)
    t1, c1 = time.perf_counter(), time.process_time()
    (tr, cr) = marks["reading"]
    clock.wall["statistics pass"], clock.used["statistics pass"] = tr - t0, cr - c0
    clock.wall["decision pass"] = t1 - tr - clock.wall["writing"]
    clock.used["decision pass"] = c1 - cr - clock.used["writing"]
    return clock


def spark_decide(spark: Any, policy: Any, path: Path, out: Path) -> Clock:
    from accountrules.spark import decide, portfolio_pass

    clock = Clock(tree=True)
    df = spark.read.parquet(str(path))
    clock.step("reading", lambda: df.write.format("noop").mode("overwrite").save())
    held = clock.step("statistics pass", lambda: portfolio_pass(policy, df, as_of=AS_OF))
    clock.step("decision pass", lambda: decide(policy, df, as_of=AS_OF, portfolio=held).write.format("noop")
               .mode("overwrite").save())
    clock.step("writing", lambda: decide(policy, df, as_of=AS_OF, portfolio=held).write.mode("overwrite")
               .parquet(str(out)))
    # "writing" ran the decision pass again: what writing adds is the difference
    for times in (clock.wall, clock.used):
        times["writing"] = max(times["writing"] - times["decision pass"], 0.0)
    return clock


def features(spark: Any, path: Path, out: Path) -> tuple[Clock, Clock]:
    from accountrules.spark import derive_features

    cols = ColumnMap(cost="cost", quantity="quantity")
    one, many = Clock(tree=False), Clock(tree=True)
    table = one.step("derive (no write)", lambda: single_features(path, as_of=ORDERS_AS_OF, columns=cols))
    pq.write_table(table, out.with_suffix(".single.parquet"))
    frame = derive_features(spark.read.parquet(str(path)), as_of=ORDERS_AS_OF, columns=cols)
    many.step("derive (no write)", lambda: frame.write.format("noop").mode("overwrite").save())
    many.step("derive + write Parquet", lambda: frame.write.mode("overwrite").parquet(str(out)))
    return one, many


HEADER = f"{'':<26}{'wall s: single':>15}{'Spark':>8}{'ratio':>7}{'x cores':>8}" \
         f"{'CPU s: single':>15}{'Spark':>8}{'ratio':>7}"


def line(step: str, one: Clock, many: Clock, n_cores: int) -> str:
    a, b = one.wall.get(step), many.wall[step]
    c, d = one.used.get(step), many.used[step]
    if a is None or c is None:
        return f"  {step:<24}{'':>15}{b:>8.1f}{'':>15}{'':>15}{d:>8.1f}"
    return (f"  {step:<24}{a:>15.1f}{b:>8.1f}{b / a:>7.2f}{b * n_cores / a:>8.2f}"
            f"{c:>15.1f}{d:>8.1f}{d / c:>7.2f}")


def total(clock: Clock) -> None:
    clock.wall["total"] = sum(clock.wall.values())
    clock.used["total"] = sum(clock.used.values())


def cores(master: str) -> int:
    m = re.fullmatch(r"local\[(\d+)\]", master)
    return int(m.group(1)) if m else os.cpu_count() or 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, nargs="*", default=[1_000_000, 5_000_000])
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--warmup", type=int, default=20_000,
                    help="accounts decided once by both sides before any timed step, untimed (0: none)")
    args = ap.parse_args()
    from accountrules.spark.session import start_session

    n_cores = cores(args.master)
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    t_start, spark = timed(lambda: start_session(args.master, "accountrules-benchmark",
                                                 {"spark.driver.memory": "6g"}))
    print(f"Spark {spark.version} on {args.master} ({n_cores} cores); session start {t_start:.1f} s; "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        if args.warmup:
            # even-handed: both sides decide a small portfolio once, untimed, so neither pays its first
            # call's start-up (imports, the JVM's JIT and Python workers) inside a timed step
            path = Path(tmp) / "warmup.parquet"
            pq.write_table(generate.portfolio(args.warmup), path)
            single_decide(policy, path, Path(tmp) / "warmup_single.parquet")
            spark_decide(spark, policy, path, Path(tmp) / "warmup_spark.parquet")
            print(f"warm-up (untimed): {args.warmup:,} accounts decided once by each side")
        for n in args.accounts:
            path = Path(tmp) / f"accounts_{n}.parquet"
            pq.write_table(generate.portfolio(n), path, row_group_size=200_000)
            one = single_decide(policy, path, Path(tmp) / "single.parquet")
            many = spark_decide(spark, policy, path, Path(tmp) / "spark_out.parquet")
            total(one)
            total(many)
            print(f"\ndecide {n:,} accounts (express policy); load average {os.getloadavg()[0]:.1f}")
            print(HEADER)
            for step in one.wall:
                print(line(step, one, many, n_cores))
        if args.orders:
            path = Path(tmp) / "orders.parquet"
            log = generate.order_log(args.orders, max(1, args.orders // 20))
            pq.write_table(log, path, row_group_size=1_000_000)
            one, many = features(spark, path, Path(tmp) / "features.parquet")
            print(f"\nfeatures from {args.orders:,} orders ({log.num_rows // 20:,} ids drawn); "
                  f"load average {os.getloadavg()[0]:.1f}")
            print(HEADER)
            for step in many.wall:
                print(line(step, one, many, n_cores))
    spark.stop()


if __name__ == "__main__":
    main()
