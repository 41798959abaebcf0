"""Progress of ``features`` and ``backtest``: reading (rows against the file's row count), grouping,
writing and the backtest's steps reported as they happen, on stderr only, off with ``-q``, and the
results the same with or without it."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import accountrules.io.tables as tables
from accountrules.cli import main
from accountrules.features import ColumnMap, derive_features
from accountrules.io.tables import estimated_rows

pa: Any = pytest.importorskip("pyarrow")
pq: Any = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "cdnow" / "orders_sample.txt"
AS_OF = date(2026, 6, 30)


def _orders(path: Path, n: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    lines = ["account_id,date,amount"]
    for _ in range(n):
        day = AS_OF - timedelta(days=rng.randrange(0, 800))
        lines.append(f"A{rng.randrange(200):04d},{day.isoformat()},{rng.uniform(1, 900):.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        self.calls.append((phase, done, total))

    def of(self, phase: str) -> list[tuple[int, int | None]]:
        return [(d, t) for p, d, t in self.calls if p == phase]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_derive_features_reports_reading_then_grouping_and_gives_the_same_table(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "_CHUNK_ROWS", 1000)  # several blocks from a small file
    path = _orders(tmp_path / "orders.csv", 5000)
    if kind == "parquet":
        pq.write_table(pa.csv.read_csv(path), tmp_path / "orders.parquet", row_group_size=700)
        path = tmp_path / "orders.parquet"
    plain = derive_features(path, as_of=AS_OF, window_days=180)
    rec = Recorder()
    table = derive_features(path, as_of=AS_OF, window_days=180, progress=rec)
    assert table.equals(plain) and table.schema.metadata == plain.schema.metadata
    assert [p for p, _, _ in rec.calls] == sorted((p for p, _, _ in rec.calls), key=["reading", "grouping"].index)
    reading = rec.of("reading")
    assert len(reading) >= 5, reading  # block by block, not once at the end
    done = [d for d, _ in reading]
    assert done == sorted(done) and done[-1] == 5000
    totals = {t for _, t in reading}
    assert len(totals) == 1  # one total for the whole phase: the bar and its rate are not restarted
    total = totals.pop()
    assert total is not None
    if kind == "parquet":
        assert total == 5000  # the metadata's row count
    else:
        assert abs(total - 5000) < 5000 * 0.05  # estimated from the first 64 KB: an ETA, not a count
    assert rec.of("grouping") == [(0, 5000), (5000, 5000)]


def test_estimated_rows(tmp_path: Path) -> None:
    assert estimated_rows(_orders(tmp_path / "small.csv", 10)) == 10  # read whole: counted
    big = _orders(tmp_path / "big.csv", 20000)
    estimate = estimated_rows(big)
    assert estimate is not None and abs(estimate - 20000) < 20000 * 0.05
    gz = tmp_path / "o.csv.gz"
    gz.write_bytes(b"")
    assert estimated_rows(gz) is None  # compressed: its size says nothing about its rows
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert estimated_rows(empty) is None


def test_features_cli_draws_reading_grouping_writing_on_stderr_only(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "_CHUNK_ROWS", 1000)
    orders = _orders(tmp_path / "orders.csv", 3000)
    for out in ("f.csv", "f.jsonl", "f.parquet"):
        argv = ["features", str(orders), "--as-of", AS_OF.isoformat(), "-o", str(tmp_path / out)]
        assert main([*argv, "--progress"]) == 0
        drawn, err = capsys.readouterr()
        assert "features:" in drawn and "reading" not in drawn  # the summary on stdout, the bars not
        # each phase's bar with its total (the counts as they go are checked on the library above; the bar
        # redraws at most every 0.2 s and is wiped when done, so what a fast run leaves here is its first state)
        for words in ("reading:", "/2999 ", "grouping:", "/3000 ", "writing:", "/200 ", "rows/s"):
            assert words in err, (out, words, err)
        first = (tmp_path / out).read_bytes()
        assert main([*argv, "-q"]) == 0  # -q: no bar, no summary; the same file
        assert capsys.readouterr() == ("", "")
        assert (tmp_path / out).read_bytes() == first
    assert main(["features", str(orders), "--as-of", AS_OF.isoformat(), "-o", str(tmp_path / "g.csv")]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal: no bar
    assert main(["--lang", "zh", "features", str(orders), "--as-of", AS_OF.isoformat(), "-o",
                 str(tmp_path / "z.csv"), "--progress"]) == 0
    err = capsys.readouterr().err
    assert "读取" in err and "分组" in err and "写出" in err


def test_backtest_reports_reading_grouping_and_its_steps(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scipy")
    argv = ["backtest", "express", str(SAMPLE), "--as-of", "1997-09-30", "--horizon", "26w", "--id-col",
            "customer_id", "--amount-col", "dollar_value", "--date-format", "%Y%m%d", "--resamples", "20"]
    assert main([*argv, "--progress", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("{")
    for words in ("reading:", "grouping:", "backtesting:", "/8 ", "steps/s"):
        assert words in err, (words, err)
    assert main([*argv, "-q", "--format", "json"]) == 0
    quiet_out, quiet_err = capsys.readouterr()
    assert quiet_err == "" and quiet_out == out  # the same result with or without the bar


def test_backtest_library_steps_are_counted_to_their_total() -> None:
    pytest.importorskip("scipy")
    from accountrules.backtest import backtest

    rec = Recorder()
    cols = ColumnMap(account_id="customer_id", amount="dollar_value", date_format="%Y%m%d")
    backtest("express", SAMPLE, as_of=date(1997, 9, 30), horizon="26w", columns=cols, n_resamples=20,
             progress=rec)
    steps = rec.of("backtesting")
    assert steps[0] == (0, 8) and steps[-1] == (8, 8) and [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert rec.of("reading")[-1][0] == rec.of("grouping")[-1][0] > 0


def test_backtest_sweep_reports_the_settings_it_tries(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scipy")
    argv = ["backtest", "express", str(SAMPLE), "--as-of", "1997-09-30", "--horizon", "26w", "--id-col",
            "customer_id", "--amount-col", "dollar_value", "--date-format", "%Y%m%d",
            "--sweep", "params.risk_high_recency_days=30:90:30"]
    assert main([*argv, "--progress", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    for words in ("reading:", "grouping:", "sweeping:", "/3 ", "settings/s"):
        assert words in err, (words, err)
    assert main([*argv, "-q", "--format", "json"]) == 0
    quiet_out, quiet_err = capsys.readouterr()
    assert quiet_err == "" and quiet_out == out  # the same sweep with or without the bar
