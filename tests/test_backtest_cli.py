"""``accountrules backtest``: text (en/zh), JSON, outcomes CSV, HTML report, sweep, bad input (exit 2, one line)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from accountrules.cli import main

pytest.importorskip("pyarrow")
pytest.importorskip("scipy")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "cdnow" / "orders_sample.txt"
BASE = ["backtest", "express", str(SAMPLE), "--as-of", "1997-09-30", "--horizon", "26w", "--id-col", "customer_id",
        "--amount-col", "dollar_value", "--date-format", "%Y%m%d", "--resamples", "50"]


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_summary_in_english_and_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *BASE)
    assert code == 0, err
    for words in ("accounts in the backtest", "ROC AUC", "hiatus (recency)", "BG/NBD", "precision", "recall",
                  "lift", "calibration", "revenue at stake", "stability", "risk-high-recency"):
        assert words in out
    assert "beats" in out or "ties" in out or "loses to" in out
    code, zh, err = run(capsys, *BASE, "--lang", "zh")
    assert code == 0, err
    for words in ("参与回测的客户", "精确率", "召回率", "提升度", "政策评分与基准方法对比", "稳定性"):
        assert words in zh


def test_json_has_every_measure(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *BASE, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["as_of"] == "1997-09-30" and doc["horizon_days"] == 182
    ex = doc["exclusions"]
    assert ex["accounts_included"] + sum(ex["accounts_excluded"].values()) == ex["accounts_in_log"] == 200
    assert {s["name"] for s in doc["scores"]} == {"policy", "hiatus", "bgnbd", "bgnbd_quiet"}
    assert {c["baseline"] for c in doc["comparisons"]} == {"hiatus", "bgnbd", "bgnbd_quiet"}
    assert all(0.0 <= s["roc_auc"] <= 1.0 and s["roc_ci"][0] <= s["roc_auc"] <= s["roc_ci"][1]
               for s in doc["scores"])
    flags = {f["flag"] for f in doc["flags"]}
    assert {"risk:high", "risk:medium", "risk:low", "kind:any", "risk:high+medium"} <= flags
    assert {r["section"] for r in doc["rules"]} == {"churn", "tier", "stage"}
    assert doc["revenue"] and {s["what"] for s in doc["stability"]} == {"tier", "stage"}
    assert set(doc["bgnbd_params"]) == {"r", "alpha", "a", "b"}


def test_outcomes_csv_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_csv, html = tmp_path / "o.csv", tmp_path / "r.html"
    code, out, err = run(capsys, *BASE, "--outcomes", out_csv, "--report", html, "--lang", "zh")
    assert code == 0, err
    with out_csv.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    included = int(out.split("参与回测的客户 ")[1].split(" ")[0].replace(",", ""))
    assert len(rows) == included
    assert {"account_id", "churn_risk", "churn_score", "p_alive", "p_no_purchase", "churned", "value_decline",
            "tier_after", "stage_after"} <= set(rows[0])
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert page.count("<svg") >= 6 and 'data-chart="roc-policy"' in page and 'data-chart="calibration"' in page
    assert 'data-chart="lift"' in page and "回测" in page


def test_sweep_prints_every_value_and_applies_none(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *BASE, "--sweep", "params.risk_high_recency_days=30:90:30")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()[2:]]
    assert [(line[0], line[1]) for line in lines if line[1] == "risk:high"] == [
        ("30", "risk:high"), ("60", "risk:high"), ("90", "risk:high")]
    code, out, err = run(capsys, *BASE, "--format", "json", "--sweep", "params.risk_high_recency_days=30:90:30",
                         "--sweep", "params.risk_medium_recency_days=20:30:10")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["applied"] is None
    pairs = {(r["values"]["risk_high_recency_days"], r["values"]["risk_medium_recency_days"]) for r in doc["sweep"]}
    assert pairs == {(h, m) for h in (30.0, 60.0, 90.0) for m in (20.0, 30.0)}
    recall = [r["churned"]["recall"] for r in doc["sweep"] if r["flag"] == "risk:high"
              and r["values"]["risk_medium_recency_days"] == 20.0]
    assert recall == sorted(recall, reverse=True)  # a longer recency threshold flags fewer accounts


def _bad(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "orders.csv"
    p.write_text("account_id,date,amount\n" + text, encoding="utf-8")
    return p


@pytest.mark.parametrize(("argv", "message"), [
    (["--as-of", "1990-01-01"], "before the log's first order"),
    (["--as-of", "1998-06-30"], "not before the log's end"),
    (["--as-of", "1998-03-31"], "after the log's end"),
    (["--horizon", "6m"], "not a horizon"),
    (["--sweep", "params.nope=1:2:1"], "no parameter 'nope'"),
    (["--sweep", "params.risk_high_recency_days=1:2"], "not a sweep"),
])
def test_bad_dates_and_arguments_exit_2_with_one_line(argv: list[str], message: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    base = list(BASE)
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        if flag in base:
            base[base.index(flag) + 1] = value
        else:
            base += [flag, value]
    code, out, err = run(capsys, *base)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_bad_rows_are_counted_not_dropped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "".join(f"A{i},2024-01-{1 + i % 20:02d},{10 + i}\nA{i},2024-03-{1 + i % 25:02d},{5 + i}\n"
                   for i in range(30))
    rows += "B1,2024-02-30,5\nB2,2024-02-01,-3\nB3,2024-02-01,abc\nB4,2024-01-03,1\nB4,2025-01-01,1\n"
    path = _bad(tmp_path, rows)
    code, out, err = run(capsys, "backtest", "express", path, "--as-of", "2024-02-15", "--horizon", "30d",
                         "--log-end", "2024-06-30", "--format", "json", "--resamples", "20")
    assert code == 0, err
    doc = json.loads(out)
    ex: dict[str, Any] = doc["exclusions"]
    assert ex["rows_excluded"] == {"bad_date": 1, "bad_amount": 1, "negative_amount": 1, "after_log_end": 1}
    # B1-B3 have a broken row; B4's order after the log's end is cut off and B4 kept with its first order
    assert ex["accounts_excluded"]["bad_rows"] == 3
    assert ex["accounts_included"] == 31 and ex["accounts_in_log"] == 34
    # one order each before T: BG/NBD has nothing to fit, and the run says so instead of failing
    assert doc["bgnbd_params"] == {} and "repeat purchase" in doc["bgnbd_problem"]
    assert {s["name"] for s in doc["scores"]} == {"policy", "hiatus"}


def test_a_missing_column_or_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _bad(tmp_path, "A,2024-01-01,1\n")
    code, _, err = run(capsys, "backtest", "express", path, "--as-of", "2024-01-01", "--horizon", "1d",
                       "--amount-col", "value")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "value" in err
    code, _, err = run(capsys, "backtest", "express", tmp_path / "none.csv", "--as-of", "2024-01-01",
                       "--horizon", "1d")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not found" in err
    code, _, err = run(capsys, "backtest", "express", path, "--as-of", "2024-01-01", "--horizon", "1d",
                       "--outcomes", path)
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_sweep_with_files_writes_them_and_still_prints_only_the_sweep(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    html, out_csv = tmp_path / "r.html", tmp_path / "o.csv"
    code, out, err = run(capsys, *BASE, "--sweep", "params.risk_high_recency_days=30:60:30", "--report", html,
                         "--outcomes", out_csv)
    assert code == 0, err
    assert out.splitlines()[0].startswith("threshold sweep") and "ROC AUC" not in out
    page = html.read_text(encoding="utf-8")
    assert 'data-chart="sweep"' in page and 'data-chart="roc-policy"' in page
    assert out_csv.stat().st_size > 0
