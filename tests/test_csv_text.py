"""CSV output built column by column in Arrow is byte for byte what the ``csv`` module writes row by row.

``accountrules decide -o decisions.csv`` writes each decided chunk with :mod:`accountrules.io.csv_text`
(issue 8: "decided and written as columns"); the row-by-row writer stays for what it cannot promise.
Both must give the same bytes for every cell a flat result can hold: text with delimiters, quotes,
line breaks and formula triggers (OWASP CSV injection, issue 10), lists of action codes, floats
(Python's ``repr``), integers, dates, booleans and blanks, in both CSV styles.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountrules.io.csv_text import csv_text
from accountrules.io.writers import PLAIN, SPREADSHEET, CsvStyle, CsvTableWriter

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

_text = st.text(alphabet=st.sampled_from(list("ab,\"'\r\n\t=+-@ 中;x0")), max_size=6)
_cells: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    "text": (pa.string(), st.one_of(st.none(), _text)),
    "list": (pa.list_(pa.string()), st.one_of(st.none(), st.lists(_text.filter(bool), max_size=3))),
    "float": (pa.float64(), st.one_of(st.none(), st.floats(),
                                      st.sampled_from([0.0, -0.0, 1.0, 5.0, -3.5, 1e16, 1e-5]))),
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
    "date": (pa.date32(), st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))),
}


@st.composite
def _tables(draw: st.DrawFn) -> pa.Table:
    kinds = draw(st.lists(st.sampled_from(list(_cells)), min_size=2, max_size=6))
    n = draw(st.integers(0, 12))
    arrays = {}
    for i, kind in enumerate(kinds):
        t, cell = _cells[kind]
        arrays[f"c{i}"] = pa.array([draw(cell) for _ in range(n)], t)
    return pa.table(arrays)


def _written(path: Path, table: pa.Table, style: CsvStyle, formulas: bool, arrow: bool) -> bytes:
    with CsvTableWriter(path, table.column_names, style, formulas=formulas) as w:
        if arrow:
            w.write_arrow(table)
        else:
            w.write_columns([col.to_pylist() for col in table.columns])
    return path.read_bytes()


@pytest.mark.parametrize("style", [SPREADSHEET, PLAIN], ids=["spreadsheet", "plain"])
@pytest.mark.parametrize("formulas", [False, True])
@SETTINGS
@given(table=_tables())
def test_arrow_text_is_the_csv_module_text(tmp_path: Path, style: CsvStyle, formulas: bool, table: pa.Table) -> None:
    by_rows = _written(tmp_path / "rows.csv", table, style, formulas, arrow=False)
    by_columns = _written(tmp_path / "columns.csv", table, style, formulas, arrow=True)
    assert by_columns == by_rows
    # a long chunk of few distinct texts: each distinct text is checked once (the dictionary path)
    long = pa.concat_tables([table] * 40)
    by_rows = _written(tmp_path / "rows.csv", long, style, formulas, arrow=False)
    by_columns = _written(tmp_path / "columns.csv", long, style, formulas, arrow=True)
    assert by_columns == by_rows


def test_the_arrow_path_is_taken_and_neutralises() -> None:
    table = pa.table({"id": ["=1+2", "a,b", "-x", None], "score": [-1.0, 2.5, 1e-05, None],
                      "n": [-5, 0, 7, None], "actions": [["@x", "y"], [], None, ["q\"r"]]})
    assert csv_text(table, "\r\n") == (
        "'=1+2,-1.0,-5,'@x;y\r\n"
        '"a,b",2.5,0,\r\n'
        "'-x,1e-05,7,\r\n"
        ',,,"q""r"\r\n'
    )
    assert csv_text(table, "\r\n", formulas=True).startswith("=1+2,-1.0,-5,@x;y\r\n")


def test_a_bare_cr_with_lf_lines_is_left_to_the_csv_module() -> None:
    # the csv module quotes every cell of such a row: the Arrow path does not imitate that, it declines
    table = pa.table({"a": ["x\ry"], "b": [1]})
    assert csv_text(table, "\n") is None
    assert csv_text(table, "\r\n") == '"x\ry",1\r\n'
