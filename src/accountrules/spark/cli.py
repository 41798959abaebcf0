"""``accountrules decide --spark MASTER`` and ``accountrules features --spark MASTER``: the same commands
with reading, deciding or deriving, and writing done by Spark.

Inputs are CSV (header row, every cell text, RFC 4180 quoting), Parquet (a file or a directory of
parts) or, for ``features``, whitespace text; outputs are Spark output directories of CSV or Parquet
parts (``-o out/decisions.parquet`` is a directory). Exit status as the single-machine commands: 0
done, 1 (``decide``) some rows refused, 2 could not run - a missing extra, no Java runtime, a master
that cannot be reached or a bad input each give one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from accountrules.errors import AccountRulesError
from accountrules.io.schema import ERROR_COLUMNS, LIST_COLUMNS, output_columns
from accountrules.spark.session import require_spark

_FORMULA = r"^[=+\-@\t\r]"  # what the single-machine CSV writer neutralises with a leading '


class _Usage(Exception):
    """A bad path or format: one line, exit 2."""


def _format(path: str, allowed: tuple[str, ...]) -> str:
    name = path.rstrip("/").lower()
    for suffix, fmt in ((".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet"), (".txt", "whitespace"),
                        (".dat", "whitespace")):
        if name.endswith(suffix) and fmt in allowed:
            return fmt
    if Path(path).is_dir() and "parquet" in allowed:
        return "parquet"
    raise _Usage(f"{path!r}: with --spark use {' or '.join(allowed)} (by suffix)")


def _read(spark: Any, path: str, fmt: str) -> Any:
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "csv":
        df = spark.read.csv(path, header=True, inferSchema=False, escape='"', multiLine=True, encoding="UTF-8")
        # a UTF-8 byte-order mark stays glued to the first column's name
        return df.toDF(*[str(c).lstrip("\ufeff") for c in df.columns])
    from pyspark.sql import functions as F

    lines = spark.read.text(path).where(F.trim(F.col("value")) != "")
    header = lines.first()
    if header is None:
        raise _Usage(f"{path!r}: empty order log")
    names = header["value"].split()
    cells = F.split(F.trim(F.col("value")), r"\s+")
    body = lines.where(F.col("value") != header["value"])
    return body.select(*[cells.getItem(i).alias(n) for i, n in enumerate(names)])


def _write(df: Any, path: str, fmt: str, raw_csv: bool) -> None:
    from pyspark.sql import functions as F

    if fmt == "parquet":
        df.write.mode("overwrite").parquet(path)
        return
    cols = []
    for name, typ in df.dtypes:
        c = F.col(f"`{name}`")
        if name in LIST_COLUMNS or typ.startswith("array"):
            c = F.array_join(c, ";")
        elif typ == "string" and not raw_csv:
            c = F.when(c.rlike(_FORMULA), F.concat(F.lit("'"), c)).otherwise(c)
        cols.append(c.alias(name))
    df.select(*cols).write.mode("overwrite").csv(path, header=True, encoding="UTF-8", escape='"')


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _session(master: str) -> Any:
    from accountrules.spark.session import start_session

    return start_session(master, "accountrules")


def run_decide(args: argparse.Namespace) -> int:
    """``decide --spark MASTER POLICY INPUT -o OUTPUT``: decisions to OUTPUT, refused rows to the errors path."""
    prog = "accountrules decide"
    try:
        return _decide(args)
    except (_Usage, AccountRulesError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - Spark's own failures (a missing path, a lost executor): could not run
        print(f"{prog}: error: Spark failed: {_one_line(e)}", file=sys.stderr)
        return 2


def _decide(args: argparse.Namespace) -> int:
    require_spark("--spark")
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from accountrules.policy import load_policy
    from accountrules.spark.decide import decide

    in_fmt = _format(args.input, ("csv", "parquet"))
    out_fmt = args.format or _format(args.output, ("csv", "parquet"))
    if out_fmt not in ("csv", "parquet"):
        raise _Usage(f"--format {out_fmt}: with --spark write csv or parquet")
    errors_path = args.errors or _errors_path(args.output)
    if getattr(args, "explain", False):
        raise _Usage("--explain is not available with --spark (explanations need the single-machine traces)")
    policy = load_policy(args.policy, engine=args.engine)
    t0 = time.perf_counter()
    spark = _session(args.spark)
    decided = decide(policy, _read(spark, args.input, in_fmt), as_of=args.as_of, engine=args.engine)
    decided = decided.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        failed = F.col("error").isNotNull()
        ok = decided.where(~failed).select(*[F.col(f"`{c}`") for c in output_columns(policy.plan)])
        refused = decided.where(failed).select("row", "account_id", F.col(ERROR_COLUMNS[0]).alias("field"),
                                               F.col(ERROR_COLUMNS[1]).alias("message"))
        raw = bool(getattr(args, "raw_csv", False))
        _write(refused.orderBy("row"), errors_path, "csv", raw)
        _write(ok, args.output, out_fmt, raw)
        counts = {bool(r[0]): int(r[1]) for r in decided.groupBy(failed).count().collect()}
    finally:
        decided.unpersist()
    n_err = counts.get(True, 0)
    total = n_err + counts.get(False, 0)
    print(f"decided {total - n_err} of {total} accounts with {policy.name} {policy.version} on Spark {args.spark} "
          f"in {time.perf_counter() - t0:.1f} s")
    print(f"  decisions: {args.output}")
    print(f"  errors: {errors_path}" + (f" ({n_err} rows)" if n_err else " (none)"))
    return 1 if n_err else 0


def _errors_path(output: str) -> str:
    base = output.rstrip("/")
    for suffix in (".parquet", ".pq", ".csv"):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base + ".errors.csv"


def run_features(args: argparse.Namespace) -> int:
    """``features --spark MASTER ORDERS --as-of DATE -o ACCOUNTS``: sorted by id, as on one machine."""
    prog = "accountrules features"
    try:
        return _features(args)
    except (_Usage, AccountRulesError, ValueError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - Spark's own failures, e.g. a bad value in a task: could not run
        print(f"{prog}: error: Spark failed: {_one_line(e)}", file=sys.stderr)
        return 2


def _features(args: argparse.Namespace) -> int:
    require_spark("--spark")
    from accountrules.features.orders import ColumnMap
    from accountrules.spark.features import derive_features

    in_fmt = args.format or _format(args.orders, ("csv", "parquet", "whitespace"))
    if in_fmt not in ("csv", "parquet", "whitespace"):
        raise _Usage(f"--format {in_fmt}: with --spark read csv, whitespace or parquet")
    out_fmt = _format(args.output, ("csv", "parquet"))
    columns = ColumnMap(account_id=args.id_col, date=args.date_col, amount=args.amount_col, cost=args.cost_col,
                        quantity=args.quantity_col, returned=args.returned_col, payment_due=args.payment_due_col,
                        payment_paid=args.payment_paid_col, date_format=args.date_format)
    t0 = time.perf_counter()
    spark = _session(args.spark)
    table = derive_features(_read(spark, args.orders, in_fmt), as_of=args.as_of, window_days=args.window_days,
                            columns=columns, occasion=args.occasion)
    _write(table.orderBy("id"), args.output, out_fmt, bool(getattr(args, "raw_csv", False)))
    if not getattr(args, "quiet", False):
        print(f"features on Spark {args.spark}: window {args.window_days} days -> {args.output} "
              f"in {time.perf_counter() - t0:.1f} s")
    return 0


__all__ = ["run_decide", "run_features"]
