"""``accountrules backtest`` outputs as an analyst names them: ``--outcomes`` follows its suffix (a
``.parquet`` name gets Parquet, not CSV under that name), and the rule placeholders of the text and the
HTML page are in the chosen language."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from accountrules.cli import main

pa = pytest.importorskip("pyarrow")
pytest.importorskip("scipy")
pq = pytest.importorskip("pyarrow.parquet")

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cdnow" / "orders_sample.txt"
BASE = ["backtest", "express", str(SAMPLE), "--as-of", "1997-09-30", "--horizon", "26w", "--id-col", "customer_id",
        "--amount-col", "dollar_value", "--date-format", "%Y%m%d", "--resamples", "20"]


def test_outcomes_named_parquet_are_parquet_with_the_csv_rows(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    as_csv, as_parquet = tmp_path / "o.csv", tmp_path / "o.parquet"
    assert main([*BASE, "--outcomes", str(as_csv), "-q"]) == 0
    assert main([*BASE, "--outcomes", str(as_parquet), "-q"]) == 0
    capsys.readouterr()
    table = pq.read_table(as_parquet)  # before: CSV text under a .parquet name, which no Parquet reader opens
    with as_csv.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert table.num_rows == len(rows) == 200
    assert table.column_names == list(rows[0])
    assert table.column("account_id").to_pylist() == [r["account_id"] for r in rows]


def test_outcomes_in_a_format_it_cannot_write_are_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "o.jsonl"
    code = main([*BASE, "--outcomes", str(target), "--lang", "zh"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and not target.exists()
    assert len(err.strip().splitlines()) == 1 and err.startswith("accountrules backtest: ")
    assert "o.jsonl" in err and ".parquet" in err and "错误" in err


def test_rule_placeholders_are_translated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "r.html"
    assert main([*BASE, "--lang", "zh", "--report", str(html)]) == 0
    zh = capsys.readouterr().out
    page = html.read_text(encoding="utf-8")
    for text in (zh, page):  # the express policy decides no tier and moves no stage on an order log
        assert "(default)" not in text and "(no move)" not in text
        assert "(默认)" in text and "(阶段未变)" in text
    assert main(BASE) == 0
    en = capsys.readouterr().out
    assert "(default)" in en and "(no move)" in en
