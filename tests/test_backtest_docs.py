"""docs/backtest.md's CDNOW figures come from benchmarks/backtest_cdnow.py, not from a keyboard.

The sample split is regenerated here and compared with the doc; the full log's split is slow
(``ACCOUNTRULES_SLOW=1``). The data is the copy vendored in tests/data/cdnow/ (tests/cdnow_data.py).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from bench_scripts import bench_script
from cdnow_data import cdnow_file

np: Any = pytest.importorskip("numpy")
pytest.importorskip("pyarrow")
pytest.importorskip("scipy")

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "backtest.md"


script = bench_script("backtest_cdnow")


def test_the_doc_has_one_generated_block_for_each_split() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert doc.count(script.START) == 1 and doc.count(script.END) == 1
    for split in script.SPLITS.values():
        part = script.section(doc, split)
        assert f"python benchmarks/backtest_cdnow.py --split {split.name}" in part
        for words in ("ROC AUC", "PR AUC", "precision", "recall", "lift", "calibration", "rules:",
                      "revenue at stake", "stability", "hiatus (recency)", "BG/NBD 1 - P(alive)"):
            assert words in part, (split.name, words)
        assert part.count("- The shipped churn score **") == 3


def test_replace_block_keeps_the_rest_of_the_doc() -> None:
    doc = f"intro\n{script.START}\nold\n{script.END}\nafter\n"
    new = f"{script.START}\nnew\n{script.END}"
    assert script.replace_block(doc, new) == f"intro\n{new}\nafter\n"
    with pytest.raises(SystemExit):
        script.replace_block("no block here", new)


def test_sample_calibration_data_is_the_literatures_summary() -> None:
    """The BG/NBD inputs the backtest derives from the raw sample at T are the literature's 39-week summary."""
    from accountrules.backtest.history import day_number, history_of
    from accountrules.backtest.log import read_log

    summary = cdnow_file("cdnow_customers_summary.csv")
    split = script.SPLITS["sample"]
    h = history_of(read_log(script.orders_of(split), script.COLUMNS))
    t = day_number(split.as_of)
    upto = h.between(None, t)
    first = h.first_day()
    by_id = {int(i): k for k, i in enumerate(h.ids)}
    with summary.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == h.n == 2357
    k = np.asarray([by_id[int(r["ID"])] for r in rows])
    x = (h.count(upto) - 1)[k]
    t_x = ((h.last_day(upto) - first) / 7.0)[k]
    age = ((t - first) / 7.0)[k]
    assert np.array_equal(x, [int(r["frequency"]) for r in rows])
    assert np.allclose(t_x, [float(r["recency"]) for r in rows], atol=0.005)
    assert np.allclose(age, [float(r["T"]) for r in rows], atol=0.005)


def test_the_sample_split_in_the_doc_is_what_the_script_prints() -> None:
    split = script.SPLITS["sample"]
    result = script.run_split(split)
    fresh = script.block({"sample": result}, {"sample": script.command(split, 1000)})
    assert script.section(fresh, split) == script.section(DOC.read_text(encoding="utf-8"), split), (
        "docs/backtest.md is stale: run python benchmarks/backtest_cdnow.py --write docs/backtest.md")
    params = result.bgnbd_params  # Fader, Hardie & Lee (2005) on this split
    assert [round(params[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("ACCOUNTRULES_SLOW") != "1", reason="slow: set ACCOUNTRULES_SLOW=1")
def test_the_full_split_in_the_doc_is_what_the_script_prints() -> None:
    split = script.SPLITS["full"]
    fresh = script.block({"full": script.run_split(split)}, {"full": script.command(split, 1000)})
    assert script.section(fresh, split) == script.section(DOC.read_text(encoding="utf-8"), split)


def test_the_script_refuses_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(script, "DATA", tmp_path)
    assert script.main(["--split", "sample"]) == 2
    assert str(tmp_path / "CDNOW_sample.txt") in capsys.readouterr().err
