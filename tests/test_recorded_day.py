"""A features table decides as of the day it was derived: ``accountrules features`` / ``derive_features``
record their ``as_of`` in the Arrow schema metadata, and a batch given no ``as_of`` takes it.

Before, ``accountrules features ... --as-of 1998-07-01 -o f.parquet`` then ``accountrules decide ... f.parquet``
without ``--as-of`` decided as of today: recency counted to 1998-07-01, due dates from today, and the
decisions file (and the report drawn from it) dated today. The seeds' care plans and executive visits
(the prevention measures) are due a number of days after the decision: that day must be the data's.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

import accountrules
from accountrules.batch import iter_batches
from accountrules.cli import main
from accountrules.io.recorded_day import AS_OF_KEY, recorded_day
from accountrules.testing.impact import decide_both, impact

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")
pytest.importorskip("numpy")

from accountrules.features import ColumnMap, derive_features  # noqa: E402 - needs pyarrow

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "examples" / "cdnow" / "orders_sample.txt"
COLUMNS = ColumnMap(account_id="customer_id", amount="dollar_value", date_format="%Y%m%d")
DAY = dt.date(1998, 7, 1)
EXPRESS = accountrules.load_policy("express")


@pytest.fixture(scope="module")
def features() -> object:
    return derive_features(LOG, as_of=DAY, columns=COLUMNS)


@pytest.fixture()
def parquet(tmp_path: Path, features: object) -> Path:
    path = tmp_path / "features.parquet"
    pq.write_table(features, path)
    return path


def test_features_record_their_day(features: object, parquet: Path) -> None:
    assert recorded_day(features) == DAY
    assert recorded_day(parquet) == recorded_day(str(parquet)) == DAY
    assert recorded_day(str(parquet).replace("features.parquet", "absent.parquet")) is None  # the read says why
    assert recorded_day(ROOT / "examples" / "portfolio" / "accounts.csv") is None
    assert recorded_day([{"id": "A"}]) is None


def test_a_batch_given_no_day_decides_as_of_the_features_day(features: object, parquet: Path) -> None:
    for source in (features, parquet, str(parquet)):
        result = EXPRESS.decide_many(source)
        assert result.as_of == DAY
        assert set(result.to_arrow().column("as_of").to_pylist()) == {DAY}
    streamed = list(iter_batches(EXPRESS, str(parquet), chunk_rows=64))
    assert {part.as_of for part in streamed} == {DAY}
    # a day given wins: the caller decides as of it
    assert EXPRESS.decide_many(features, as_of=dt.date(1998, 7, 5)).as_of == dt.date(1998, 7, 5)


def test_a_decision_of_the_features_equals_one_given_the_day(features: object) -> None:
    # the recorded day is used as a given one would be: same decisions, due dates included
    implicit = EXPRESS.decide_many(features)
    explicit = EXPRESS.decide_many(features, as_of=DAY)
    assert implicit.to_arrow().equals(explicit.to_arrow())
    assert implicit[0].model_dump_json() == explicit[0].model_dump_json()


def test_an_unreadable_recorded_day_is_ignored_and_said(features: object, caplog: pytest.LogCaptureFixture) -> None:
    odd = features.replace_schema_metadata({AS_OF_KEY: "July 1st"})  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="accountrules.io.recorded_day"):
        assert recorded_day(odd) is None
    assert "not an ISO date" in caplog.text
    assert EXPRESS.decide_many(odd).as_of == dt.date.today()


def test_diff_compares_both_versions_as_of_the_features_day(parquet: Path) -> None:
    report = impact(EXPRESS, EXPRESS, str(parquet))
    assert report.changes == []
    before, _ = decide_both(EXPRESS, EXPRESS, str(parquet))
    assert before.as_of == DAY


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_from_features_to_decisions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feats = tmp_path / "f.parquet"
    code, _, err = _run(capsys, "features", LOG, "--as-of", DAY.isoformat(), "-o", feats, "--id-col", "customer_id",
                        "--amount-col", "dollar_value", "--date-format", "%Y%m%d")
    assert code == 0, err
    out_csv = tmp_path / "d.csv"
    code, out, err = _run(capsys, "decide", "express", feats, "-o", out_csv)
    assert code == 0 and err == "", err
    assert "as of 1998-07-01" in out
    assert set(pacsv.read_csv(out_csv).column("as_of").to_pylist()) == {DAY}
    # another --as-of is taken, and said: recency counts to one day, due dates from the other
    code, out, err = _run(capsys, "--lang", "zh", "decide", "express", feats, "-o", out_csv, "--as-of", "1998-07-05")
    assert code == 0 and "警告" in err and "1998-07-01" in err and "1998-07-05" in err, err
    assert set(pacsv.read_csv(out_csv).column("as_of").to_pylist()) == {dt.date(1998, 7, 5)}
    code, out, err = _run(capsys, "-q", "decide", "express", feats, "-o", out_csv, "--as-of", "1998-07-05")
    assert code == 0 and err == ""
    # the report drawn from those decisions is dated by them
    page = tmp_path / "r.html"
    code, _, err = _run(capsys, "report", "express", feats, "-o", page)
    assert code == 0, err
    assert "1998-07-01" in page.read_text(encoding="utf-8")
