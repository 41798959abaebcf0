"""Read a batch source in chunks: lists of accounts, DataFrames, Arrow tables, CSV, JSONL, Parquet.

A source yields :class:`RawChunk` objects: either *rows* (accounts, dicts, parsed
JSONL lines) or a flat *table* (a pyarrow RecordBatch or ``{column: values}``).
Files are read chunk by chunk by :mod:`accountrules.io.readers` and can be read again
for a second pass, so a portfolio never has to be held in memory as raw input. This
module recognises a source and checks a flat one's columns against the policy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from accountrules.batch.columns import check_columns
from accountrules.batch.errors import BatchInputError
from accountrules.compile.plan import Plan
from accountrules.io.formats import BATCH_INPUT
from accountrules.io.readers import (
    RawChunk,
    TableInputError,
    iter_csv,
    iter_jsonl,
    iter_parquet,
    pandas_array,
    parquet_layout,
    read_csv_header,
)

DEFAULT_CHUNK_ROWS = 20_000


class Source:
    """A re-readable (``restartable``) or one-shot sequence of chunks."""

    name: str | None = None
    restartable: bool = True
    total: int | None = None

    def chunks(self) -> Iterator[RawChunk]:  # pragma: no cover - abstract
        raise NotImplementedError


def _as_batch_error(e: TableInputError) -> BatchInputError:
    return BatchInputError(e.message, source=e.source)


def open_source(source: Any, plan: Plan, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """Recognise ``source`` and check a flat one's columns (an unknown column fails the whole input)."""
    if isinstance(source, Source):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        fmt = BATCH_INPUT.of(path)
        if not path.is_file():
            raise BatchInputError("no such file", source=str(path))
        try:
            if fmt == "csv":
                return _CsvSource(path, plan, chunk_rows)
            if fmt == "jsonl":
                return _JsonlSource(path, chunk_rows)
            if fmt == "parquet":
                return _ParquetSource(path, plan, chunk_rows)
        except TableInputError as e:
            raise _as_batch_error(e) from None
        raise BatchInputError(
            f"cannot tell the format from the suffix {BATCH_INPUT.last_suffix(path)!r}: use .csv, .jsonl/.ndjson "
            "or .parquet/.pq",
            source=str(path),
        )
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(source, pd.DataFrame):
        return _PandasSource(source, plan, chunk_rows)
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        if isinstance(source, pa.Table | pa.RecordBatch):
            return _ArrowSource(source, plan, chunk_rows)
        if isinstance(source, pa.RecordBatchReader):
            return _ArrowReaderSource(source, plan)
    if isinstance(source, bytes | str) or not isinstance(source, Iterable):
        raise BatchInputError(
            f"cannot decide a {type(source).__name__}: pass accounts (Account objects or dicts), a pandas "
            "DataFrame, a pyarrow Table, or a path to a .csv, .jsonl or .parquet file"
        )
    if hasattr(source, "keys") and hasattr(source, "__getitem__"):
        raise BatchInputError("got one mapping: pass a list of accounts (decide() decides one account)")
    return _RowsSource(source, chunk_rows)


# -- rows ---------------------------------------------------------------------------------------------


class _RowsSource(Source):
    def __init__(self, rows: Iterable[Any], chunk_rows: int):
        self._rows = rows
        self._chunk = chunk_rows
        self.restartable = isinstance(rows, Sequence)
        self.total = len(rows) if isinstance(rows, Sequence) else None

    def chunks(self) -> Iterator[RawChunk]:
        it = iter(self._rows)
        while True:
            part = list(islice(it, self._chunk))
            if not part:
                return
            yield RawChunk("rows", part, len(part))


class _FileSource(Source):
    """A file read again on every pass; a whole-file failure surfaces as a :class:`BatchInputError`."""

    def __init__(self, path: Path, chunk_rows: int):
        self.name = str(path)
        self._path = path
        self._chunk = chunk_rows

    def _read(self) -> Iterator[RawChunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def chunks(self) -> Iterator[RawChunk]:
        try:
            yield from self._read()
        except TableInputError as e:
            raise _as_batch_error(e) from None


class _JsonlSource(_FileSource):
    def _read(self) -> Iterator[RawChunk]:
        return iter_jsonl(self._path, self._chunk)


class _CsvSource(_FileSource):
    """CSV with a header of field paths; every cell is read as text and validated like JSON input."""

    def __init__(self, path: Path, plan: Plan, chunk_rows: int):
        super().__init__(path, chunk_rows)
        self.columns = check_columns(read_csv_header(path), plan, self.name)

    def _read(self) -> Iterator[RawChunk]:
        return iter_csv(self._path, self.columns, self._chunk)


# -- Parquet, Arrow, pandas -------------------------------------------------------------------------


class _ParquetSource(_FileSource):
    def __init__(self, path: Path, plan: Plan, chunk_rows: int):
        super().__init__(path, chunk_rows)
        names, self.total = parquet_layout(path)
        self.columns = check_columns(names, plan, self.name)

    def _read(self) -> Iterator[RawChunk]:
        return iter_parquet(self._path, self._chunk)


class _ArrowSource(Source):
    def __init__(self, table: Any, plan: Plan, chunk_rows: int):
        check_columns([str(n) for n in table.schema.names], plan)
        self._table = table
        self._chunk = chunk_rows
        self.total = table.num_rows

    def chunks(self) -> Iterator[RawChunk]:
        batches = self._table.to_batches(max_chunksize=self._chunk) if hasattr(self._table, "to_batches") \
            else [self._table]
        for b in batches:
            for off in range(0, b.num_rows, self._chunk):
                part = b.slice(off, self._chunk)
                yield RawChunk("table", part, part.num_rows)


class _ArrowReaderSource(Source):
    restartable = False

    def __init__(self, reader: Any, plan: Plan):
        check_columns([str(n) for n in reader.schema.names], plan)
        self._reader = reader

    def chunks(self) -> Iterator[RawChunk]:
        for b in self._reader:
            yield RawChunk("table", b, b.num_rows)


class _PandasSource(Source):
    def __init__(self, df: Any, plan: Plan, chunk_rows: int):
        self._names = check_columns([str(c) for c in df.columns], plan)
        self._df = df
        self._chunk = chunk_rows
        self.total = len(df)

    def chunks(self) -> Iterator[RawChunk]:
        df = self._df
        for off in range(0, len(df), self._chunk):
            part = df.iloc[off: off + self._chunk]
            data: dict[str, Any] = {}
            for name, (_, series) in zip(self._names, part.items(), strict=True):
                arr = pandas_array(series)
                data[name] = arr if arr is not None else series.tolist()  # mixed objects: validated cell by cell
            yield RawChunk("table", data, len(part))


__all__ = ["DEFAULT_CHUNK_ROWS", "RawChunk", "Source", "open_source"]
