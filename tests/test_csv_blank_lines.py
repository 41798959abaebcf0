"""A CSV line of nothing but spaces and tabs is a blank line, skipped like an empty one.

An export edited by hand (or cut in a text editor) keeps lines such as ``"   "`` or ``"\\t"``
between its rows or at its end. pandas skips them (``skip_blank_lines``), as the readers
already skip an empty CSV line and a blank JSONL line. They are not accounts: they give no
decision and no error, and they do not count as rows, so a later row keeps the number it has
without them (docs/batch.md, "Row errors"). Every path must agree: ``decide_many`` on the
path, ``iter_decide``, ``accountrules decide``; pyarrow's block reader and the Python ``csv``
module the reader falls back to after a ragged row; a file with and without quote characters.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from accountrules.batch.errors import RowError
from accountrules.cli import main
from accountrules.io import readers
from accountrules.io.readers import iter_csv
from accountrules.policy import load_policy

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
AS_OF = dt.date(2026, 6, 30)

# (line, what it is): None = a blank line, skipped; else the account id of a row (or "!" for a row error)
LINES = [
    ("A1,Alpha", "A1"),
    ("   ", None),
    ("A2,Beta", "A2"),
    ("\t", None),
    ("A3,Gamma", "A3"),
    ("", None),
    (" \t ", None),
    ("A4,Delta,extra", "!"),  # a ragged row: the reader goes on with Python's csv module from here
    ("\t\t", None),
    ("A5,Epsilon", "A5"),
    ('"   "', None),  # quoted or not: the one-column case cannot tell them apart, so neither path does
    ('""', "!"),  # one empty cell is no blank line: a row with too few cells, as before
    ("A6,Zeta", "A6"),
]


def _write(path: Path, lines: list[str], end: str, *, trailing: str = "   ", quote: bool = False) -> Path:
    body = end.join(["id,name", *lines])
    if quote:
        body += f'{end}A9,"Quoted, name"'
    path.write_bytes((body + end + trailing).encode("utf-8"))  # ends in a blank line without a line end
    return path


def _expected(lines: list[tuple[str, str | None]], quote: bool) -> list[str]:
    ids = [what for _, what in lines if what is not None]
    return ids + (["A9"] if quote else [])


def _outcomes(items: list[object]) -> list[tuple[int, str]]:
    """(row, account id or "!") of each item, in order."""
    out = []
    for i, item in enumerate(items, 1):
        if isinstance(item, RowError):
            assert item.row == i
            out.append((item.row, "!"))
        else:
            out.append((i, item.account_id))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("end", ["\n", "\r\n"])
@pytest.mark.parametrize("quote", [False, True], ids=["plain-lines", "quoted"])
@pytest.mark.parametrize("ragged", [False, True], ids=["arrow-only", "python-fallback"])
def test_blank_lines_are_skipped_on_every_path(tmp_path: Path, end: str, quote: bool, ragged: bool,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    lines = [(line, what) for line, what in LINES if ragged or what != "!"]
    path = _write(tmp_path / "export.csv", [line for line, _ in lines], end, quote=quote)
    want = list(enumerate(_expected(lines, quote), 1))
    policy = load_policy(EXPRESS)
    assert _outcomes(list(policy.decide_many(str(path), as_of=AS_OF))) == want
    assert _outcomes(list(policy.iter_decide(str(path), as_of=AS_OF))) == want
    out, errors = tmp_path / "decisions.csv", tmp_path / "errors.csv"
    code = main(["decide", str(EXPRESS), str(path), "-o", str(out), "--errors", str(errors),
                 "--as-of", AS_OF.isoformat(), "-q"])
    capsys.readouterr()
    assert code == (1 if ragged else 0)
    with out.open(encoding="utf-8-sig", newline="") as f:
        decided = [(int(r["row"]), r["account_id"]) for r in csv.DictReader(f)]
    with errors.open(encoding="utf-8-sig", newline="") as f:
        refused = [(int(r["row"]), "!") for r in csv.DictReader(f)]
    assert sorted(decided + refused) == want


def test_reader_paths_agree_on_blank_lines(tmp_path: Path) -> None:
    """The chunks of pyarrow's reader and of the Python fallback: the same cells, the same bad rows."""
    path = _write(tmp_path / "export.csv", [line for line, what in LINES if what != "!"] + ["x"], "\n")
    names = ["id", "name"]

    def chunks() -> list[tuple[int, dict[str, list[str | None]], dict[int, str]]]:
        out = []
        for c in iter_csv(path, names, 4):
            data = c.data.to_pydict() if hasattr(c.data, "to_pydict") else {k: v.to_pylist() for k, v in c.data.items()}
            out.append((c.n, data, dict(c.unreadable)))
        return out

    arrow = chunks()
    python = list(readers._python_csv(path, names, 4, skip=0))
    assert [(c.n, {k: v.to_pylist() for k, v in c.data.items()}, c.unreadable) for c in python] == arrow
    assert sum(n for n, _, _ in arrow) == sum(what not in (None, "!") for _, what in LINES) + 1
    assert list(arrow[-1][2].values()) == ["expected 2 cells, found 1"]  # the last row, "x"


def test_a_one_column_file_skips_blank_lines_too(tmp_path: Path) -> None:
    """With one column a blank line is no ragged row for pyarrow: a cell of spaces, skipped all the same."""
    path = tmp_path / "ids.csv"
    path.write_bytes(b'id\nA1\n   \nA2\n\t\n\n"  "\nA3\n  ')
    policy = load_policy(EXPRESS)
    want = [(1, "A1"), (2, "A2"), (3, "A3")]
    assert _outcomes(list(policy.decide_many(str(path), as_of=AS_OF))) == want
    assert _outcomes(list(policy.iter_decide(str(path), as_of=AS_OF))) == want
    python = list(readers._python_csv(path, ["id"], 10, skip=0))
    assert [c.data["id"].to_pylist() for c in python] == [["A1", "A2", "A3"]]


@pytest.mark.parametrize("above", ["\n", "   \n", "\r\n\t\r\n", "\n\n\n"])
@pytest.mark.parametrize("quote", [False, True], ids=["plain-lines", "quoted"])
def test_blank_lines_above_the_header_are_skipped(tmp_path: Path, above: str, quote: bool,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """pandas reads the header below them; the reader said "empty file" (or an unknown column '')."""
    name = '"Alpha"' if quote else "Alpha"
    path = tmp_path / "export.csv"
    path.write_bytes(f"{above}id,name\nA1,{name}\n   \nA2,Beta\n".encode())
    policy = load_policy(EXPRESS)
    want = [(1, "A1"), (2, "A2")]
    assert _outcomes(list(policy.decide_many(str(path), as_of=AS_OF))) == want
    assert _outcomes(list(policy.iter_decide(str(path), as_of=AS_OF))) == want
    out = tmp_path / "decisions.csv"
    assert main(["decide", str(EXPRESS), str(path), "-o", str(out), "--as-of", AS_OF.isoformat(), "-q"]) == 0
    with out.open(encoding="utf-8-sig", newline="") as f:
        assert [(int(r["row"]), r["account_id"]) for r in csv.DictReader(f)] == want
    python = list(readers._python_csv(path, ["id", "name"], 10, skip=0))
    assert [c.data["id"].to_pylist() for c in python] == [["A1", "A2"]]
    # nothing but blank lines is an empty file, as before
    path.write_bytes(above.encode() + b"  \n")
    with pytest.raises(Exception, match="empty file"):
        policy.decide_many(str(path), as_of=AS_OF)
    capsys.readouterr()


def test_report_reads_accounts_with_blank_lines_as_decide_does(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``report --decisions FILE ACCOUNTS`` reads ACCOUNTS (for the amounts) by its own reader: a line of
    spaces there was "cannot read the file (CSV parse error: Expected 2 columns, got 1)"."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(b"  \nid,transactions.annual_revenue\nA1,1000\n   \nA2,2000\n\t\n")
    decisions, page = tmp_path / "d.csv", tmp_path / "r.html"
    argv = ["--as-of", AS_OF.isoformat(), "-q"]
    assert main(["decide", str(EXPRESS), str(accounts), "-o", str(decisions), *argv]) == 0
    assert main(["report", str(EXPRESS), "--decisions", str(decisions), str(accounts), "-o", str(page), *argv]) == 0
    assert capsys.readouterr().err == ""
    assert page.exists()


def test_features_skip_blank_lines_of_an_order_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An order log reads rows as the batch does: a line of spaces stopped ``features`` ("row 2: expected 3
    cells, found 1", exit 2)."""
    orders = tmp_path / "orders.csv"
    orders.write_bytes(b"\t\ncustomer_id,date,dollar_value\nC1,2026-01-05,10\n   \nC2,2026-02-01,20\n\t\n")
    out = tmp_path / "features.csv"
    code = main(["features", str(orders), "--id-col", "customer_id", "--amount-col", "dollar_value",
                 "--as-of", AS_OF.isoformat(), "-o", str(out), "-q"])
    assert (code, capsys.readouterr().err) == (0, "")
    with out.open(encoding="utf-8-sig", newline="") as f:
        assert sorted(r["id"] for r in csv.DictReader(f)) == ["C1", "C2"]
