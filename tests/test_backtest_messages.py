"""``accountrules backtest`` refusals of an order log: one line, exit 2, saying what to do, and in
Chinese with ``--lang zh`` (they were English there, and a CDNOW log read without its date format was
told only "the order log has no row with a valid date")."""

from __future__ import annotations

from pathlib import Path

import pytest

from accountrules.cli import main

pa = pytest.importorskip("pyarrow")
pytest.importorskip("scipy")
pq = pytest.importorskip("pyarrow.parquet")

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cdnow" / "orders_sample.txt"
COLS = ["--as-of", "1997-09-30", "--horizon", "26w", "--id-col", "customer_id", "--amount-col", "dollar_value"]


def refusal(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and err.startswith("accountrules backtest: ")
    return err


def test_cdnow_dates_without_their_format_name_the_format_and_the_first_date(
        capsys: pytest.CaptureFixture[str]) -> None:
    err = refusal(capsys, "backtest", "express", SAMPLE, *COLS)
    assert "'%Y-%m-%d'" in err and "'19970101'" in err and "--date-format %Y%m%d" in err
    zh = refusal(capsys, "--lang", "zh", "backtest", "express", SAMPLE, *COLS)
    assert "'19970101'" in zh and "--date-format" in zh and "日期格式" in zh and "the order log" not in zh


def test_integer_dates_and_float_ids_are_refused_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ints = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"customer_id": ["1", "2"], "date": [19970101, 19971001],
                             "dollar_value": [1.0, 2.0]}), ints)
    zh = refusal(capsys, "--lang", "zh", "backtest", "express", ints, *COLS)
    assert "整数形式的日期需要日期格式" in zh and "integer dates" not in zh
    floats = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"customer_id": [1.0, 2.0], "date": ["1997-01-01", "1997-10-01"],
                             "dollar_value": [1.0, 2.0]}), floats)
    en = refusal(capsys, "backtest", "express", floats, *COLS)
    assert "floating-point" in en
    zh = refusal(capsys, "--lang", "zh", "backtest", "express", floats, *COLS)
    assert "floating-point" not in zh and "浮点" in zh


def test_a_log_of_bad_rows_only_is_refused_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "bad.csv"
    log.write_text("customer_id,date,dollar_value\n1,1997-01-01,12k\n2,1997-10-01,-3\n", encoding="utf-8")
    en = refusal(capsys, "backtest", "express", log, *COLS)
    assert "no usable order left: 2 rows read" in en
    zh = refusal(capsys, "--lang", "zh", "backtest", "express", log, *COLS)
    assert "no usable order" not in zh and "2" in zh


@pytest.mark.parametrize(("sweep", "english"), [
    ("params.nope=1:2:1", "the policy has no parameter 'nope'"),
    ("params.risk_high_recency_days=1:2000:1", "has 2000 values; at most 200"),
    ("params.risk_high_recency_days=a:b:c", "START, STOP and STEP must be numbers"),
    ("params.risk_high_recency_days=9:1:1", "STEP must be positive"),
    ("foo", "not a sweep: 'foo'"),
])
def test_sweep_refusals_are_translated(sweep: str, english: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backtest", "express", SAMPLE, *COLS, "--date-format", "%Y%m%d", "--sweep", sweep]
    assert english in refusal(capsys, *argv)
    zh = refusal(capsys, "--lang", "zh", *argv)
    assert english not in zh and ("扫描" in zh or "参数" in zh)
