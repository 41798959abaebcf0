"""A spark-submit job: decide a Parquet or CSV portfolio with a policy, write decisions and errors.

    spark-submit --master local[2] examples/spark/decide_job.py rulesets/express accounts.parquet out/ 2026-06-30

The driver and every executor need Python with ``accountrules[spark]`` installed (on a cluster: the
same virtualenv or conda environment on each node, or ``--archives`` a packed one, with
``PYSPARK_PYTHON`` pointing at its interpreter). The policy is loaded on the driver and shipped to
the executors once, by broadcast.
"""

from __future__ import annotations

import datetime as dt
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import accountrules
from accountrules.spark import decide


def main(policy_path: str, source: str, out: str, as_of: str) -> int:
    spark = SparkSession.builder.appName("accountrules-decide").getOrCreate()
    if source.endswith(".csv"):
        df = spark.read.csv(source, header=True, inferSchema=False, escape='"', multiLine=True)
        df = df.toDF(*[c.lstrip("\ufeff") for c in df.columns])  # a UTF-8 byte-order mark sticks to the header
    else:
        df = spark.read.parquet(source)
    policy = accountrules.load_policy(policy_path)
    decided = decide(policy, df, as_of=dt.date.fromisoformat(as_of)).cache()
    decided.where(F.col("error").isNull()).drop("error_field", "error").write.mode("overwrite").parquet(
        f"{out}/decisions.parquet")
    decided.where(F.col("error").isNotNull()).select("row", "account_id", "error_field", "error").write.mode(
        "overwrite").parquet(f"{out}/errors.parquet")
    counts = {r["failed"]: r["count"] for r in
              decided.groupBy(F.col("error").isNotNull().alias("failed")).count().collect()}
    print(f"decided {counts.get(False, 0)}, refused {counts.get(True, 0)} -> {out}")
    spark.stop()
    return 1 if counts.get(True) else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
