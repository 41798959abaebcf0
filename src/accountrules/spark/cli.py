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
import re
import sys
import time
from pathlib import Path
from typing import Any

from accountrules.errors import AccountRulesError, MissingDependencyError
from accountrules.i18n import N_, Gettext
from accountrules.io.schema import ERROR_COLUMNS, LIST_COLUMNS, output_columns
from accountrules.spark.session import SparkUnavailableError, require_spark

_FORMULA = r"^[=+\-@\t\r]"  # what the single-machine CSV writer neutralises with a leading '


# why Spark cannot run (accountrules.spark.session words it in English), translated here by pattern
_SPARK = (
    (re.compile(r"Spark needs a Java runtime \(17 or newer\).*"),
     N_("Spark needs a Java runtime (17 or newer): none found on PATH or in JAVA_HOME; install one, e.g. "
        "apt-get install default-jre-headless")),
    (re.compile(r"cannot reach the Spark master ('.*') \(no connection within (\S+) s\)"),
     N_("cannot reach the Spark master {0} (no connection within {1} s)")),
    (re.compile(r"cannot start Spark on master ('.*?'): (.*)"), N_("cannot start Spark on master {0}: {1}")),
)


class _Usage(Exception):
    """A bad path or format, its message already translated: one line, exit 2."""


def _message(e: BaseException, _: Gettext) -> str:
    """``e`` as one line in the command line's language."""
    if isinstance(e, MissingDependencyError):
        purpose = str(e).partition(" needs ")[0]
        return _("{purpose} needs {module}: pip install 'accountrules[{extra}]'").format(
            purpose=purpose, module=e.module, extra=e.extra)
    if isinstance(e, SparkUnavailableError):
        for pattern, msgid in _SPARK:
            m = pattern.fullmatch(_one_line(e))
            if m:
                return _(msgid).format(*m.groups())
    if isinstance(e, OSError):
        from accountrules.cli.messages import os_error_line

        return os_error_line(e, _)
    return _one_line(e)


def _fail(prog: str, message: str, _: Gettext) -> int:
    print(f"{prog}: " + _("error: {message}").format(message=message), file=sys.stderr)
    return 2


def _format(path: str, allowed: tuple[str, ...], _: Gettext) -> str:
    name = path.rstrip("/").lower()
    for suffix, fmt in ((".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet"), (".txt", "whitespace"),
                        (".dat", "whitespace")):
        if name.endswith(suffix) and fmt in allowed:
            return fmt
    if Path(path).is_dir() and "parquet" in allowed:
        return "parquet"
    raise _Usage(_("{path}: with --spark use {formats} (by suffix)").format(
        path=repr(path), formats=_(" or ").join(allowed)))


def _read(spark: Any, path: str, fmt: str, _: Gettext) -> Any:
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
        raise _Usage(_("{path}: empty order log").format(path=repr(path)))
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
    _: Gettext = getattr(args, "gettext", str)
    try:
        return _decide(args, _)
    except (_Usage, AccountRulesError, OSError) as e:
        return _fail(prog, _message(e, _), _)
    except Exception as e:  # noqa: BLE001 - Spark's own failures (a missing path, a lost executor): could not run
        return _fail(prog, _("Spark failed: {problem}").format(problem=_one_line(e)), _)


def _decide(args: argparse.Namespace, _: Gettext) -> int:
    require_spark("--spark")
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from accountrules.policy import load_policy
    from accountrules.spark.decisions import decide

    in_fmt = _format(args.input, ("csv", "parquet"), _)
    out_fmt = args.format or _format(args.output, ("csv", "parquet"), _)
    if out_fmt not in ("csv", "parquet"):
        raise _Usage(_("--format {format}: with --spark write csv or parquet").format(format=out_fmt))
    errors_path = args.errors or _errors_path(args.output)
    if getattr(args, "explain", False):
        raise _Usage(_("--explain is not available with --spark (explanations need the single-machine traces)"))
    policy = load_policy(args.policy, engine=args.engine)
    t0 = time.perf_counter()
    spark = _session(args.spark)
    decided = decide(policy, _read(spark, args.input, in_fmt, _), as_of=args.as_of, engine=args.engine)
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
    print(_("decided {ok} of {total} accounts with {policy} {version} on Spark {master} in {seconds:.1f} s").format(
        ok=total - n_err, total=total, policy=policy.name, version=policy.version, master=args.spark,
        seconds=time.perf_counter() - t0))
    print(_("  decisions: {path}").format(path=args.output))
    refused = _(" ({count} rows)").format(count=n_err) if n_err else _(" (none)")
    print(_("  errors: {path}").format(path=errors_path) + refused)
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
    _: Gettext = getattr(args, "gettext", str)
    try:
        return _features(args, _)
    except (_Usage, AccountRulesError, ValueError, OSError) as e:
        return _fail(prog, _message(e, _), _)
    except Exception as e:  # noqa: BLE001 - Spark's own failures, e.g. a bad value in a task: could not run
        return _fail(prog, _("Spark failed: {problem}").format(problem=_one_line(e)), _)


def _features(args: argparse.Namespace, _: Gettext) -> int:
    require_spark("--spark")
    from accountrules.features.orders import ColumnMap
    from accountrules.spark.features import derive_features

    in_fmt = args.format or _format(args.orders, ("csv", "parquet", "whitespace"), _)
    if in_fmt not in ("csv", "parquet", "whitespace"):
        raise _Usage(_("--format {format}: with --spark read csv, whitespace or parquet").format(format=in_fmt))
    out_fmt = _format(args.output, ("csv", "parquet"), _)
    columns = ColumnMap(account_id=args.id_col, date=args.date_col, amount=args.amount_col, cost=args.cost_col,
                        quantity=args.quantity_col, returned=args.returned_col, payment_due=args.payment_due_col,
                        payment_paid=args.payment_paid_col, date_format=args.date_format)
    t0 = time.perf_counter()
    spark = _session(args.spark)
    table = derive_features(_read(spark, args.orders, in_fmt, _), as_of=args.as_of, window_days=args.window_days,
                            columns=columns, occasion=args.occasion)
    _write(table.orderBy("id"), args.output, out_fmt, bool(getattr(args, "raw_csv", False)))
    if not getattr(args, "quiet", False):
        print(_("features on Spark {master}: window {days} days -> {path} in {seconds:.1f} s").format(
            master=args.spark, days=args.window_days, path=args.output, seconds=time.perf_counter() - t0))
    return 0


__all__ = ["run_decide", "run_features"]
