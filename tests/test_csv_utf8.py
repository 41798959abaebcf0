"""A CSV file's cells are UTF-8 or the file is refused, wherever the bytes that are not sit.

Seed concept: the customer records a CRM exports (names of companies and contacts, often Chinese)
are read as they were written. pyarrow's reader is not asked to check each cell's UTF-8; the reader
checks the text of each column of each block once (``io/readers.py``, ``_batch_problems``). A file whose bytes are not
UTF-8 must still be refused as a whole, as it was when pyarrow refused them, wherever they sit: in
the first block, or in a row about two megabytes in (the file's last rows), after the reader has
already handed out chunks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

import accountrules
from accountrules.batch.errors import NotUtf8InputError
from accountrules.io.readers import CSV_BLOCK_BYTES

AS_OF = dt.date(2026, 6, 30)
ROWS = 60_000  # more than one 1 MB block and more than one 20,000-row chunk
NAMES = ["顺丰速运", "Café Müller GmbH", "plain name", "圆通 · 华东"]


@pytest.fixture(scope="module")
def policy() -> accountrules.Policy:
    return accountrules.load_policy("express")


def _rows() -> list[tuple[str, str, str]]:
    return [(f"KA{i:06d}", NAMES[i % len(NAMES)], f"{1000.0 + i * 7.5:.2f}") for i in range(ROWS)]


def _write(path: Path, rows: list[tuple[str, str, str]], bad_row: int | None = None) -> Path:
    lines = [b"id,name,transactions.annual_revenue"]
    for i, (aid, name, revenue) in enumerate(rows):
        cell = b"caf\xe9" if i == bad_row else name.encode("utf-8")  # \xe9: Latin-1, not UTF-8
        lines.append(b",".join([aid.encode(), cell, revenue.encode()]))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_utf8_text_reads_as_written(policy: accountrules.Policy, tmp_path: Path) -> None:
    rows = _rows()
    path = _write(tmp_path / "accounts.csv", rows)
    assert path.stat().st_size > CSV_BLOCK_BYTES  # read in more than one block
    table = pa.table({"id": [r[0] for r in rows], "name": [r[1] for r in rows],
                      "transactions.annual_revenue": [float(r[2]) for r in rows]})
    from_file = policy.decide_many(path, as_of=AS_OF, trace=False)
    from_table = policy.decide_many(table, as_of=AS_OF, trace=False)
    assert not from_file.errors
    assert from_file.to_arrow().equals(from_table.to_arrow())


@pytest.mark.parametrize("bad_row", [0, 3, ROWS - 5])
def test_bytes_that_are_not_utf8_refuse_the_file(policy: accountrules.Policy, tmp_path: Path, bad_row: int) -> None:
    path = _write(tmp_path / "accounts.csv", _rows(), bad_row)
    with pytest.raises(NotUtf8InputError, match="file is not UTF-8"):
        policy.decide_many(path, as_of=AS_OF, trace=False)
    # streamed: its statistics pass reads the file first, and the reader has handed it chunks before a late byte
    with pytest.raises(NotUtf8InputError, match="file is not UTF-8"):
        for _ in policy.iter_decide(path, as_of=AS_OF, trace=False):
            pass
