"""A decisions file carries the date it was decided as of (``as_of``), and ``report --decisions`` draws it
from there: "Decided on" and the due dates of actions count from the file's date, not from today."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from accountrules.cli import main
from accountrules.policy import load_policy
from report_html import parse

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
DECIDED = dt.date(1998, 6, 30)


@pytest.fixture(scope="module")
def express():  # type: ignore[no-untyped-def]
    return load_policy(EXPRESS)


def _decide(tmp: Path, name: str = "decisions.csv") -> Path:
    out = tmp / name
    assert main(["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", DECIDED.isoformat(), "-q"]) in (0, 1)
    return out


def _decided_on(html: str) -> str:
    m = re.search(r"Decided on: ([0-9-]+)", html)
    assert m is not None
    return m.group(1)


def _timeline(html: str) -> dict[str, int]:
    rows = {c.key: c.rows[1:] for c in parse(html).charts}["timeline"]
    return {r[0]: int(r[1].replace(",", "")) for r in rows}


def test_report_takes_the_decision_date_from_the_file(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The defect: without --as-of the page said "Decided on: <today>" and counted due dates from today."""
    out = _decide(tmp_path)
    later = DECIDED + dt.timedelta(days=20)
    page = tmp_path / "r.html"
    assert main(["report", str(EXPRESS), "--decisions", str(out), "-o", str(page), "--today", later.isoformat(),
                 "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    assert _decided_on(html) == DECIDED.isoformat()
    # the same page as when the date is given: the due dates count from 1998-06-30, 20 days before the report date
    given = tmp_path / "given.html"
    assert main(["report", str(EXPRESS), "--decisions", str(out), "-o", str(given), "--today", later.isoformat(),
                 "--as-of", DECIDED.isoformat(), "-q"]) == 0
    assert _timeline(html) == _timeline(given.read_text(encoding="utf-8"))
    assert _timeline(html).get("Overdue", 0) > 0


# -- every flat output carries the date -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_flat_results_carry_the_decision_date(express, engine: str) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    result = express.decide_many(str(ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"), as_of=DECIDED,
                                 engine=engine, trace=False)
    assert result.error_count > 0
    for errors in (False, True):
        table = result.to_arrow(errors=errors)
        assert table.column_names[:3] == ["row", "account_id", "as_of"]
        assert table.schema.field("as_of").type == pa.date32()
        # refused rows too (errors=True): the day their batch was run as of
        assert table.column("as_of").to_pylist() == [DECIDED] * table.num_rows
        cols = result.columns(errors=errors)
        assert list(cols)[:3] == ["row", "account_id", "as_of"] and cols["as_of"] == [DECIDED] * len(cols["row"])
        assert all(r["as_of"] == DECIDED for r in result.to_records(errors=errors))
    # asked by name, or left out when not asked for (row and account_id always come)
    assert list(result.columns(names=["as_of", "tier"])) == ["row", "account_id", "as_of", "tier"]
    assert "as_of" not in result.columns(names=["tier"])
    df = result.to_pandas()
    assert list(df.columns[:3]) == ["row", "account_id", "as_of"]
    assert set(df["as_of"]) == {DECIDED} and isinstance(df["as_of"].iloc[0], dt.date)


def test_a_batch_of_chunks_has_one_constant_arrow_column(express) -> None:  # type: ignore[no-untyped-def]
    """Built in Arrow per chunk (4 bytes a row), not a Python date per row: and the same for chunks joined."""
    from accountrules.batch.engine import iter_batches
    from accountrules.batch.result import BatchResult

    parts = list(iter_batches(express, str(ACCOUNTS), as_of=DECIDED, engine="vector", chunk_rows=7))
    assert len(parts) > 1
    table = BatchResult.concat(parts).to_arrow()
    assert table.column("as_of").null_count == 0 and table.column("as_of").unique().to_pylist() == [DECIDED]
    assert table.column("as_of").nbytes <= 4 * table.num_rows + 64 * table.column("as_of").num_chunks


def test_decide_writes_the_date_in_every_format(tmp_path: Path) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_out = _decide(tmp_path, "d.csv")
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("row,account_id,as_of,tier,")
    assert all(line.split(",")[2] == "1998-06-30" for line in lines[1:])
    parquet = pq.read_table(_decide(tmp_path, "d.parquet"))
    assert parquet.column_names[:3] == ["row", "account_id", "as_of"]
    assert parquet.schema.field("as_of").type == pa.date32()
    assert parquet.column("as_of").unique().to_pylist() == [DECIDED]
    jsonl = _decide(tmp_path, "d.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["as_of"] for line in jsonl} == {"1998-06-30"}  # whole Decisions hold their date
    # refused rows: the errors file keeps its four columns (the date is the decisions file's)
    errors = (tmp_path / "d.errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert errors[0] == "row,account_id,field,message"


def test_the_row_by_row_csv_writer_shows_the_date_as_iso(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The CSV writer's path without Arrow (``write_columns``) writes the same cell as the Arrow one."""
    from accountrules.batch.writers import CsvWriter
    from accountrules.io.writers import CsvTableWriter

    result = express.decide_many(str(ACCOUNTS), as_of=DECIDED)
    arrow = tmp_path / "arrow.csv"
    with CsvWriter(arrow, express) as w:
        w.write(result)
    plain = tmp_path / "plain.csv"
    cols = result.columns()
    with CsvTableWriter(plain, list(cols)) as t:
        t.write_columns(list(cols.values()))
    assert plain.read_bytes() == arrow.read_bytes()


# -- report --decisions: the file's date -----------------------------------------------------------------


def _rewrite_dates(path: Path, dates: dict[int, str], drop: bool = False) -> None:
    """Edit a decisions CSV as a person would: a row's as_of cell (by its line, 1 = first data line),
    or the column left out altogether."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    at = rows[0].index("as_of")
    for i, value in dates.items():
        rows[i][at] = value
    if drop:
        rows = [r[:at] + r[at + 1:] for r in rows]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)


def test_report_from_decisions_api_reads_the_date(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from accountrules.report import report_from_decisions

    out = _decide(tmp_path)
    html = report_from_decisions(express, out, lang="en")
    assert _decided_on(html) == DECIDED.isoformat()
    assert f"Report date: {DECIDED.isoformat()}" in html  # --today defaults to the decision date, the file's
    same = report_from_decisions(express, out, as_of=DECIDED, lang="en")  # the same date given: the same page
    assert _decided_on(same) == DECIDED.isoformat()
    # a Parquet decisions file holds it as a date32 column
    parquet = _decide(tmp_path, "d.parquet")
    assert _decided_on(report_from_decisions(express, parquet, lang="en")) == DECIDED.isoformat()


def test_a_different_as_of_is_refused_naming_both_dates(express, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from accountrules.report import DecisionDateError, report_from_decisions

    out = _decide(tmp_path)
    with pytest.raises(DecisionDateError, match="1998-06-30.*2026-06-30") as e:
        report_from_decisions(express, out, as_of=dt.date(2026, 6, 30), lang="en")
    assert e.value.source == str(out)
    page = tmp_path / "r.html"
    assert main(["report", str(EXPRESS), "--decisions", str(out), "-o", str(page), "--as-of", "2026-06-30",
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("accountrules report: error: ") and str(out) in err
    assert "made as of 1998-06-30 (its as_of column), not 2026-06-30" in err and not page.exists()
    assert main(["--lang", "zh", "report", str(EXPRESS), "--decisions", str(out), "-o", str(page),
                 "--as-of", "2026-06-30", "-q"]) == 2
    zh = capsys.readouterr().err
    assert "1998-06-30" in zh and "2026-06-30" in zh and "决策日期" in zh


def test_a_file_of_several_dates_is_refused_naming_two_rows(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from accountrules.report import DecisionDateError, report_from_decisions

    out = _decide(tmp_path)
    _rewrite_dates(out, {5: "1998-07-31"})
    with pytest.raises(DecisionDateError, match=r"row 1 as of 1998-06-30, row 5 as of 1998-07-31"):
        report_from_decisions(express, out, lang="en")
    _rewrite_dates(out, {5: ""})
    with pytest.raises(DecisionDateError, match=r"row 5 has no as_of date, and row 1 was decided as of 1998-06-30"):
        report_from_decisions(express, out, lang="en")
    _rewrite_dates(out, {5: "30/06/1998"})
    with pytest.raises(DecisionDateError, match=r"row 5: as_of '30/06/1998' is not a date"):
        report_from_decisions(express, out, lang="en")


def test_a_file_without_the_column_keeps_the_date_given_or_today(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Decisions files written before the column (or by hand): --as-of dates them, else today, as before."""
    from accountrules.report import report_from_decisions

    out = _decide(tmp_path)
    _rewrite_dates(out, {}, drop=True)
    assert "as_of" not in out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert _decided_on(report_from_decisions(express, out, as_of=DECIDED, lang="en")) == DECIDED.isoformat()
    assert _decided_on(report_from_decisions(express, out, lang="en")) == dt.date.today().isoformat()
    # blank throughout says nothing either
    out = _decide(tmp_path, "blank.csv")
    lines = len(out.read_text(encoding="utf-8-sig").splitlines())
    _rewrite_dates(out, dict.fromkeys(range(1, lines), ""))
    assert _decided_on(report_from_decisions(express, out, as_of=DECIDED, lang="en")) == DECIDED.isoformat()


def test_hand_made_parquet_dates_read_by_their_day_and_other_types_refused(express, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A decisions table saved by pandas holds datetime64 (a timestamp): its day is the date. A column of
    numbers (19980630) is no date, refused by its type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from accountrules.report import DecisionDateError, report_from_decisions

    table = pq.read_table(_decide(tmp_path, "d.parquet"))
    at = table.column_names.index("as_of")
    n = table.num_rows
    stamped = table.set_column(at, "as_of", pa.array([dt.datetime(1998, 6, 30)] * n, pa.timestamp("us")))
    pq.write_table(stamped, tmp_path / "stamped.parquet")
    assert _decided_on(report_from_decisions(express, tmp_path / "stamped.parquet", lang="en")) == "1998-06-30"
    numbers = table.set_column(at, "as_of", pa.array([19980630] * n, pa.int64()))
    pq.write_table(numbers, tmp_path / "numbers.parquet")
    with pytest.raises(DecisionDateError, match="its as_of column holds int64, not dates"):
        report_from_decisions(express, tmp_path / "numbers.parquet", lang="en")
