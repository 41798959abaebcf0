"""Spark decisions and features equal the single-process ones, row for row (``accountrules.spark``).

One SparkSession on ``local[2]`` for the module (the only one in the suite). Skipped, naming what
is missing, without pyspark or without a Java runtime; ``.ci/run`` installs both."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

# CI (.ci/run) sets ACCOUNTRULES_REQUIRE_SPARK: there a missing pyspark or Java fails the run instead of skipping
_MUST = bool(os.environ.get("ACCOUNTRULES_REQUIRE_SPARK"))
if importlib.util.find_spec("pyspark") is None:
    if _MUST:
        raise RuntimeError("pyspark is not installed but ACCOUNTRULES_REQUIRE_SPARK is set")
    pytest.skip("pyspark is not installed (pip install 'accountrules[spark]')", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if _MUST:
        raise RuntimeError("no Java runtime but ACCOUNTRULES_REQUIRE_SPARK is set")
    pytest.skip("no Java runtime: Spark needs one (apt-get install default-jre-headless)", allow_module_level=True)

import pyarrow as pa  # noqa: E402

import accountrules  # noqa: E402
from accountrules.batch.errors import UnknownColumnError  # noqa: E402
from accountrules.errors import AsOfError  # noqa: E402
from accountrules.features import ColumnMap  # noqa: E402
from accountrules.features import derive_features as single_features  # noqa: E402
from accountrules.spark import decide, derive_features, portfolio_pass  # noqa: E402
from accountrules.spark.session import start_session  # noqa: E402
from cdnow_data import cdnow_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "spark"))
import generate  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
EXPRESS = ROOT / "rulesets" / "express"
CDNOW = cdnow_file("CDNOW_sample.txt")  # the real 1/10 sample, vendored in tests/data/cdnow/
CDNOW_HEADED = ROOT / "examples" / "cdnow" / "orders_sample.txt"


@pytest.fixture(scope="session")
def spark() -> Any:
    # few shuffle partitions: the tests' tables are small, and 200 empty reducers cost seconds each job.
    # 2 GB for the driver: the tests build DataFrames from Arrow tables the driver holds and serialises
    # into its tasks, and with Spark's 1 GB default the 100k-row one ran out of heap now and then
    session = start_session("local[2]", "accountrules-tests",
                            {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def express() -> accountrules.Policy:
    return accountrules.load_policy(EXPRESS)


def frame(spark: Any, table: Any, parts: int) -> Any:
    """``table`` as a DataFrame of ``parts`` partitions, rows in order (partition 0 first)."""
    n = table.num_rows
    size = -(-n // parts) if n else 0
    pieces = [table.slice(i * size, size) for i in range(parts)]
    df = spark.createDataFrame(pieces[0]) if n else spark.createDataFrame(table)
    for p in pieces[1:]:
        df = df.union(spark.createDataFrame(p))
    return df


def single(policy: accountrules.Policy, table: Any) -> Any:
    result = policy.decide_many(table, as_of=AS_OF)
    return result, result.to_arrow(errors=True)


def assert_same_rows(expected: Any, got: Any) -> None:
    got = got.sort_by("row")
    assert got.column_names == expected.column_names
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        want, have = expected.column(name).to_pylist(), got.column(name).to_pylist()
        diff = [i for i in range(len(want)) if want[i] != have[i]]
        assert not diff, f"{name}: row {diff[0] + 1}: {want[diff[0]]!r} != {have[diff[0]]!r} ({len(diff)} rows differ)"


def test_example_portfolio_with_errors_row_for_row(spark: Any, express: accountrules.Policy) -> None:
    table = generate.example_table()
    bad = accountrules.load_policy(EXPRESS).decide_many(
        ROOT / "examples" / "portfolio" / "accounts_with_errors.csv", as_of=AS_OF)
    assert not bad.ok  # the file with three bad rows: errors must travel too
    for source in (table, _with_errors()):
        expected_result, expected = single(express, source)
        got = decide(express, frame(spark, source, 3), as_of=AS_OF).toArrow()
        assert_same_rows(expected, got)


def _with_errors() -> Any:
    import pyarrow.csv as pacsv

    path = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
    names = [n.lstrip("\ufeff") for n in pacsv.read_csv(path).column_names]
    opts = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True)
    return pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                          convert_options=opts)


def test_generated_100k_with_ties_unknowns_duplicates_and_bad_rows(spark: Any, express: accountrules.Policy) -> None:
    table = generate.portfolio(100_000)
    result, expected = single(express, table)
    errors = [e.message for e in result.errors]
    # the data really holds what the test claims: duplicates, bad values, unknowns and ties
    assert any(m.startswith("duplicate account id") for m in errors)
    assert any(e.field == "relationship.stage" for e in result.errors)
    assert len(errors) > 300
    profits = table.column("transactions.annual_profit").to_pylist()
    known = [p for p in profits if p is not None]
    assert len(known) < 0.96 * len(profits) and len(set(known)) < len(known) // 50
    df = frame(spark, table, 5)
    held = portfolio_pass(express, df, as_of=AS_OF)
    assert held.stats == result.stats  # the same sorted columns and size
    for key in result.stats.keys():
        assert held.stats.positive_prefix(key) == result.stats.positive_prefix(key)
    got = decide(express, df, as_of=AS_OF, portfolio=held).toArrow()
    assert_same_rows(expected, got)


def test_empty_partitions_and_partitions_of_only_bad_rows_lose_nothing(spark: Any, express: accountrules.Policy,
                                                                      tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    good = generate.example_table().slice(0, 40)
    bad = good.slice(0, 10).set_column(
        good.column_names.index("relationship.stage"), "relationship.stage", pa.array(["stabel"] * 10))
    table = pa.concat_tables([bad, good, bad.slice(0, 3)])
    result, expected = single(express, table)
    # 13 bad rows; the valid rows after them repeating their ids are fine: a bad row claims no id
    assert len(result.errors) == 13
    path = tmp_path / "accounts.parquet"
    pq.write_table(table, path, row_group_size=10)  # row groups of 10: the first holds only bad rows
    # splits smaller than a row group: Spark gives the splits holding no row group's start no rows
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(path.stat().st_size // 12))
    try:
        df = spark.read.parquet(str(path))
        sizes = df.rdd.mapPartitions(lambda rows: [sum(1 for _ in rows)]).collect()
        assert 0 in sizes and len(sizes) > 6  # empty partitions
        got = decide(express, df, as_of=AS_OF).toArrow()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert got.num_rows == table.num_rows  # rows in = decisions + errors out
    assert_same_rows(expected, got)
    first = got.sort_by("row").slice(0, 10)  # the partition of only bad rows gave its 10 errors
    assert first.column("error").null_count == 0


def test_bad_cells_in_columns_no_rule_reads(spark: Any, express: accountrules.Policy) -> None:
    # the decision pass reads only the columns the policy reads: the rows refused for a column it
    # does not read, alone or with others, keep the single machine's errors (pass 1 ships them)
    table = generate.example_table().slice(0, 60)
    cells = {"company.employees": {3: "many", 17: "-4", 40: "12"}, "relationship.since": {3: "2026-13-01", 25: "x"},
             "relationship.stage": {17: "stabel"}, "id": {30: table.column("id")[3].as_py()}}
    for name, patch in cells.items():
        values = table.column(name).to_pylist()
        for i, v in patch.items():
            values[i] = v
        table = table.set_column(table.column_names.index(name), name, pa.array(values, pa.string()))
    for engine in ("vector", "compiled"):
        result = express.decide_many(table, as_of=AS_OF, engine=engine)
        errors = {e.row: e for e in result.errors}
        assert {4, 18, 26} <= set(errors) and 31 not in errors  # a refused row claims no id
        assert errors[18].field == "company.employees" and "relationship.stage" in errors[18].message
        got = decide(express, frame(spark, table, 3), as_of=AS_OF, engine=engine).toArrow()
        assert_same_rows(result.to_arrow(errors=True), got)


def test_all_bad_and_empty_inputs(spark: Any, express: accountrules.Policy) -> None:
    table = generate.example_table().slice(0, 6)
    bad = table.set_column(table.column_names.index("relationship.stage"), "relationship.stage",
                           pa.array(["stabel"] * 6))
    _, expected = single(express, bad)
    got = decide(express, frame(spark, bad, 2), as_of=AS_OF).toArrow()
    assert got.column("error").null_count == 0
    assert_same_rows(expected, got)
    assert decide(express, frame(spark, table.slice(0, 0), 1), as_of=AS_OF).count() == 0


def test_unknown_column_fails_the_whole_input(spark: Any, express: accountrules.Policy) -> None:
    df = spark.createDataFrame(pa.table({"id": ["A"], "transactions.anual_profit": ["1"]}))
    with pytest.raises(UnknownColumnError, match="annual_profit"):
        decide(express, df, as_of=AS_OF)


def test_padded_column_names_read_as_a_csv_header_reads_them(spark: Any, express: accountrules.Policy) -> None:
    # a CRM export's " id " header names the id column in a CSV, a DataFrame, an Arrow table and on Spark
    table = generate.example_table().slice(0, 40)
    padded = table.rename_columns([f" {n} " for n in table.column_names])
    _, expected = single(express, table)
    assert_same_rows(expected, decide(express, frame(spark, padded, 2), as_of=AS_OF).toArrow())


@pytest.mark.parametrize("as_of", ["2026-06-30", dt.datetime(2026, 6, 30, 9, 30), dt.date(9999, 12, 31)])
def test_decision_day_is_checked_as_decide_many_checks_it(spark: Any, express: accountrules.Policy,
                                                          as_of: Any) -> None:
    # text, a time of day, a day whose due dates would overflow: refused before any Spark job runs
    df = frame(spark, generate.example_table().slice(0, 4), 1)
    with pytest.raises(AsOfError):
        express.decide_many(generate.example_table().slice(0, 4), as_of=as_of)
    with pytest.raises(AsOfError):
        decide(express, df, as_of=as_of)
    with pytest.raises(AsOfError):
        portfolio_pass(express, df, as_of=as_of)


def _cdnow() -> tuple[Any, ColumnMap]:
    rows = [line.split() for line in CDNOW.read_text().splitlines() if line.strip()]
    table = pa.table({"customer_id": [r[0] for r in rows], "date": [r[2] for r in rows],
                      "number_of_cds": [r[3] for r in rows], "dollar_value": [r[4] for r in rows]})
    return table, ColumnMap(account_id="customer_id", date="date", amount="dollar_value", quantity="number_of_cds",
                            date_format="%Y%m%d")


def assert_same_table(expected: Any, got: Any) -> None:
    assert [(f.name, f.type) for f in got.schema] == [(f.name, f.type) for f in expected.schema]
    assert got.num_rows == expected.num_rows
    for name in expected.column_names:
        assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name


@pytest.mark.parametrize(("as_of", "window", "occasion"), [
    (dt.date(1998, 7, 1), 365, "day"), (dt.date(1997, 12, 31), 90, "order"), (dt.date(1997, 6, 30), 60, "day")])
def test_cdnow_features_equal_single_process(spark: Any, as_of: dt.date, window: int, occasion: Any) -> None:
    table, cols = _cdnow()
    expected = single_features(table, as_of=as_of, window_days=window, columns=cols, occasion=occasion)
    got = derive_features(frame(spark, table, 3), as_of=as_of, window_days=window, columns=cols,
                          occasion=occasion).orderBy("id").toArrow()
    assert_same_table(expected, got)


def test_generated_log_with_cost_payments_and_returns(spark: Any) -> None:
    import numpy as np

    log = generate.order_log(20_000, 800, days=500)
    rng = np.random.default_rng(3)
    n = log.num_rows
    dates = log.column("date").to_numpy(zero_copy_only=False)
    due = dates + rng.integers(0, 40, n).astype("timedelta64[D]")
    paid = dates + rng.integers(0, 60, n).astype("timedelta64[D]")
    log = log.append_column("due", pa.array(due, pa.date32())).append_column(
        "paid", pa.array(paid, pa.date32(), mask=rng.random(n) < 0.1)).append_column(
        "returned", pa.array(rng.random(n) < 0.05))
    cols = ColumnMap(cost="cost", quantity="quantity", payment_due="due", payment_paid="paid", returned="returned")
    as_of = dt.date(2025, 3, 31)
    for occasion in ("day", "order"):
        expected = single_features(log, as_of=as_of, window_days=120, columns=cols, occasion=occasion)
        got = derive_features(frame(spark, log, 4), as_of=as_of, window_days=120, columns=cols,
                              occasion=occasion).orderBy("id").toArrow()
        assert_same_table(expected, got)


def _parts(directory: Path, suffix: str) -> Any:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    files = sorted(directory.glob(f"part-*{suffix}"))
    if suffix == ".parquet":
        return pa.concat_tables([pq.read_table(f) for f in files])
    opts = pacsv.ConvertOptions(strings_can_be_null=True, column_types={"row": pa.int64()})
    return pa.concat_tables([pacsv.read_csv(f, convert_options=opts) for f in files])


def test_cli_decide_and_features_on_spark(spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from accountrules.cli import main

    src = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
    out = tmp_path / "decisions.parquet"
    argv = ["decide", "--spark", "local[2]", str(EXPRESS), str(src), "-o", str(out), "--as-of", AS_OF.isoformat()]
    assert main(argv) == 1  # three rows are refused on purpose
    printed = capsys.readouterr().out
    assert "decided 297 of 300 accounts" in printed
    expected = accountrules.load_policy(EXPRESS).decide_many(src, as_of=AS_OF)
    got = _parts(out, ".parquet").sort_by("row")
    assert got.to_pylist() == expected.to_arrow().to_pylist()
    assert got.schema.field("as_of").type == pa.date32()  # the decision date, as the single machine writes it
    errors = _parts(tmp_path / "decisions.errors.csv", ".csv")
    assert [(r["row"], r["account_id"], r["field"], r["message"]) for r in errors.to_pylist()] == [
        (e.row, e.account_id, e.field, e.message) for e in expected.errors]

    text = tmp_path / "decisions.csv"  # CSV: the date as ISO text, third, as decide writes it on one machine
    argv = ["decide", "--spark", "local[2]", str(EXPRESS), str(src), "-o", str(text), "--as-of", "1998-06-30"]
    assert main(argv) == 1
    parts = sorted(text.glob("part-*.csv"))
    header = parts[0].read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("row,account_id,as_of,tier,")
    cells = [line.split(",")[2] for f in parts for line in f.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(cells) == 297 and set(cells) == {"1998-06-30"}

    feats = tmp_path / "features.parquet"
    argv = ["features", "--spark", "local[2]", str(CDNOW_HEADED), "--as-of", "1998-07-01", "-o", str(feats),
            "--id-col", "customer_id", "--amount-col", "dollar_value", "--quantity-col", "number_of_cds",
            "--date-format", "%Y%m%d"]
    assert main(argv) == 0
    cols = ColumnMap(account_id="customer_id", amount="dollar_value", quantity="number_of_cds", date_format="%Y%m%d")
    assert_same_table(single_features(CDNOW_HEADED, as_of=dt.date(1998, 7, 1), columns=cols), _parts(feats, ".parquet"))
