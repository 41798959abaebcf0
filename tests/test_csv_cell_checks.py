"""The CSV reader's checks of each cell (too long; whole rows after a line break) clear a column from
its text end to end (issue 8): that must flag exactly the rows the per-cell definition flags, whatever
the column holds (nulls, empty cells, a slice of a larger array, multi-byte text, another string type)."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.io import readers

LIMIT = 6  # a small cell limit, so that generated cells pass it


def _per_cell(columns: list[list[str | None]], joined: str | None) -> dict[int, str]:
    """The definition, cell by cell: per column, a cell over the limit, then one holding joined rows;
    a row keeps the first problem found."""
    bad: dict[int, str] = {}
    for col in columns:
        for i, v in enumerate(col):
            if v is not None and len(v) > LIMIT:
                bad.setdefault(i, readers._LONG)
        if joined is not None:
            for i, v in enumerate(col):
                if v is not None and "\n" in v and re.search(joined, v):
                    bad.setdefault(i, readers._JOINED)
    return bad


_cell = st.one_of(st.none(), st.text(alphabet="a,\n\r中", max_size=2 * LIMIT))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), rows=st.integers(1, 8), width=st.integers(1, 3), lead=st.integers(0, 3),
       kind=st.sampled_from([pa.string(), pa.large_string()]), breaks=st.booleans())
def test_whole_column_checks_flag_what_the_cells_do(data: Any, rows: int, width: int, lead: int, kind: Any,
                                                    breaks: bool) -> None:
    columns = [data.draw(st.lists(_cell, min_size=lead + rows, max_size=lead + rows)) for _ in range(width)]
    # a slice: the column's offsets start past the first cells, whose text must not count
    arrays = [pa.array(c, kind).slice(lead, rows) for c in columns]
    batch = pa.RecordBatch.from_arrays(arrays, names=[f"c{k}" for k in range(width)])
    joined = readers._joined_rows(width) if breaks else None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "MAX_CELL_CHARS", LIMIT)
        got = readers._batch_problems(batch, joined)
    assert got == _per_cell([c[lead:] for c in columns], joined)


def test_a_null_slot_spanning_text_flags_nothing() -> None:
    """Arrow lets a null slot span bytes; they may send a column to the exact tests, never flag a row."""
    text = b"ab\n,x,y" + b"z" * 10
    offsets = pa.array([0, 2, len(text)], pa.int32()).buffers()[1]
    validity = pa.array([True, False]).buffers()[1]
    col = pa.StringArray.from_buffers(2, offsets, pa.py_buffer(text), validity)
    batch = pa.RecordBatch.from_arrays([col], names=["c"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "MAX_CELL_CHARS", LIMIT)
        assert readers._batch_problems(batch, readers._joined_rows(3)) == {}
