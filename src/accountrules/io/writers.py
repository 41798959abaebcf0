"""Write flat tables: CSV, JSONL, Parquet, one chunk at a time.

The writers know nothing of decisions: they take a header and columns (or Arrow
tables, or JSON lines), so batch results and derived features go through the same
code. Each can be fed chunk after chunk (``with CsvTableWriter(...) as w: w.write_columns(...)``)
and so writes a table of any length in bounded memory.

* CSV: :data:`SPREADSHEET` (UTF-8 with a byte-order mark so Excel shows Chinese text,
  CRLF) or :data:`PLAIN` (UTF-8, LF); cells as :func:`~accountrules.io.schema.csv_cell`.
* JSONL: one JSON text a line.
* Parquet: needs pyarrow (:class:`~accountrules.errors.MissingDependencyError` without it).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self

from accountrules.io.optional import require
from accountrules.io.schema import csv_cell


@dataclass(frozen=True, slots=True)
class CsvStyle:
    encoding: str
    line_end: str


SPREADSHEET: Final = CsvStyle("utf-8-sig", "\r\n")
PLAIN: Final = CsvStyle("utf-8", "\n")


class TableWriter:
    """Base of the writers: a context manager counting the rows written."""

    rows: int = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class CsvTableWriter(TableWriter):
    """A header, then rows of cells."""

    def __init__(self, path: str | Path, header: Sequence[str], style: CsvStyle = SPREADSHEET):
        self._f: IO[str] = Path(path).open("w", encoding=style.encoding, newline="")
        self._csv = csv.writer(self._f, lineterminator=style.line_end)
        # the csv module quotes a cell holding a line break only if the break is in the line
        # terminator: with LF lines a bare CR would be written as is and split the row on reading
        self._bare_cr = "\r" not in style.line_end
        self._quoted = csv.writer(self._f, lineterminator=style.line_end, quoting=csv.QUOTE_ALL)
        self._csv.writerow(header)
        self.rows = 0

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        cell = csv_cell
        plain = self._csv.writerow
        quoted = self._quoted.writerow if self._bare_cr else None
        n = 0
        for row in rows:
            cells = [cell(v) for v in row]
            if quoted is not None and any(isinstance(c, str) and "\r" in c for c in cells):
                quoted(cells)
            else:
                plain(cells)
            n += 1
        self.rows += n

    def write_columns(self, columns: Sequence[Sequence[Any]]) -> None:
        """Columns of equal length, in header order."""
        self.write_rows(zip(*columns, strict=True))

    def write_arrow(self, table: Any) -> None:
        """A pyarrow Table or RecordBatch whose columns are in header order."""
        self.write_columns([col.to_pylist() for col in table.columns])

    def close(self) -> None:
        self._f.close()


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonlWriter(TableWriter):
    """One JSON text a line (UTF-8, LF)."""

    def __init__(self, path: str | Path):
        self._f: IO[str] = Path(path).open("w", encoding="utf-8", newline="\n")
        self.rows = 0

    def write_line(self, text: str) -> None:
        """``text``: one JSON value already serialised, without a line break."""
        self._f.write(text + "\n")
        self.rows += 1

    def write_object(self, obj: Any) -> None:
        """``obj`` as JSON (non-ASCII kept, dates as ISO text)."""
        self.write_line(json.dumps(obj, ensure_ascii=False, default=_json_default))

    def close(self) -> None:
        self._f.close()


class ParquetTableWriter(TableWriter):
    """Arrow tables of one schema appended as row groups."""

    def __init__(self, path: str | Path, schema: Any):
        pq = require("pyarrow.parquet", "writing Parquet")
        self._writer: Any = pq.ParquetWriter(str(path), schema)
        self.rows = 0

    def write_arrow(self, table: Any) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


def write_parquet_table(table: Any, path: str | Path) -> None:
    """One pyarrow Table as a Parquet file."""
    with ParquetTableWriter(path, table.schema) as w:
        w.write_arrow(table)


__all__ = [
    "PLAIN", "SPREADSHEET", "CsvStyle", "CsvTableWriter", "JsonlWriter", "ParquetTableWriter", "TableWriter",
    "write_parquet_table",
]
