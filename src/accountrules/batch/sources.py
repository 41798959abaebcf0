"""Read a batch source in chunks: lists of accounts, DataFrames, Arrow tables, CSV, JSONL, Parquet.

A source yields :class:`RawChunk` objects: either *rows* (accounts, dicts, parsed
JSONL lines) or a flat *table* (a pyarrow RecordBatch or ``{column: values}``).
Files are read chunk by chunk by :mod:`accountrules.io.readers` and can be read again
for a second pass, so a portfolio never has to be held in memory as raw input. This
module recognises a source and checks a flat one's columns against the policy.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from accountrules.batch.columns import check_columns
from accountrules.batch.dict_rows import dict_rows_table
from accountrules.batch.errors import BatchInputError, NotUtf8InputError
from accountrules.compile.plan import Plan
from accountrules.i18n import N_, Message
from accountrules.io.columns import ColumnMapping, ColumnMappingError, is_ignored
from accountrules.io.formats import BATCH_INPUT
from accountrules.io.optional import imported, pyarrow
from accountrules.io.readers import (
    NotUtf8Error,
    RawChunk,
    TableInputError,
    header_names,
    iter_csv,
    iter_jsonl,
    iter_parquet,
    pandas_array,
    parquet_layout,
    read_csv_start,
)

DEFAULT_CHUNK_ROWS = 20_000
"""Rows validated and decided at a time by ``decide_many`` (whose results are held whole anyway)."""
STREAM_CHUNK_ROWS = 10_000
"""Rows at a time when a batch is streamed (``iter_batches``, ``Policy.iter_decide``, ``accountrules
decide``): the working set of a chunk (text cells, validated columns, the evaluator's temporaries) is
what a streamed file holds besides the statistics, so it is kept smaller; per-chunk costs are
already small against 10,000 rows (docs/performance.md, "Streaming command RSS")."""


class Source:
    """A re-readable (``restartable``) or one-shot sequence of chunks."""

    name: str | None = None
    restartable: bool = True
    total: int | None = None

    def chunks(self) -> Iterator[RawChunk]:  # pragma: no cover - abstract
        raise NotImplementedError


def _as_batch_error(e: TableInputError) -> BatchInputError:
    if isinstance(e, NotUtf8Error):
        return NotUtf8InputError(e.message, source=e.source, guess=e.guess)
    return BatchInputError(e.message, source=e.source)


def open_source(source: Any, plan: Plan, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                columns: ColumnMapping | None = None) -> Source:
    """Recognise ``source`` and check a flat one's columns (an unknown column fails the whole input,
    unless ``columns`` maps it to a field or ignores it; ``columns`` also gives the text encoding)."""
    if columns is not None and not isinstance(columns, ColumnMapping):
        raise ColumnMappingError(N_("columns must be a ColumnMapping (ColumnMapping(rename={{...}})), not {kind}"),
                                 kind=type(columns).__name__)
    if isinstance(source, Source):
        return source
    mapping = columns if columns is not None and not columns.is_plain else None
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        fmt = BATCH_INPUT.of(path)
        if not path.is_file():
            raise BatchInputError(Message(N_("no such file")), source=str(path))
        try:
            if fmt == "csv":
                return _CsvSource(path, plan, chunk_rows, mapping)
            if fmt == "jsonl":
                return _JsonlSource(path, chunk_rows, mapping)
            if fmt == "parquet":
                return _ParquetSource(path, plan, chunk_rows, mapping)
        except TableInputError as e:
            raise _as_batch_error(e) from None
        raise BatchInputError(
            Message(N_("cannot tell the format from the suffix {path!r}: use .csv, .jsonl/.ndjson or .parquet/.pq"),
                    path=BATCH_INPUT.last_suffix(path)),
            source=str(path),
        )
    # an object of a type of a package the application imported; not sys.modules.get: a package that
    # another thread is still importing is there half initialised (its types not defined yet)
    pd = imported("pandas")
    if pd is not None and isinstance(source, pd.DataFrame):
        return _PandasSource(source, plan, chunk_rows, mapping)
    pa = imported("pyarrow")
    if pa is not None:
        if isinstance(source, pa.Table | pa.RecordBatch):
            return _ArrowSource(source, plan, chunk_rows, mapping)
        if isinstance(source, pa.RecordBatchReader):
            return _ArrowReaderSource(source, plan, mapping)
    if isinstance(source, bytes | str) or not isinstance(source, Iterable):
        raise BatchInputError(
            Message(N_("cannot decide a {name}: pass accounts (Account objects or dicts), a pandas DataFrame, a "
                       "pyarrow Table, or a path to a .csv, .jsonl or .parquet file"), name=type(source).__name__)
        )
    if hasattr(source, "keys") and hasattr(source, "__getitem__"):
        raise BatchInputError(Message(N_("got one mapping: pass a list of accounts (decide() decides one account)")))
    return _RowsSource(source, chunk_rows, mapping, plan)


def _select(raw: RawChunk, names: Sequence[str]) -> RawChunk:
    """``raw`` with its columns named ``names`` (in order), ignored ones left out."""
    keep = [i for i, n in enumerate(names) if not is_ignored(n)]
    data = raw.data
    if isinstance(data, dict):
        cols = list(data.values())
        out: Any = {names[i]: cols[i] for i in keep}
    else:  # a pyarrow RecordBatch
        pa = pyarrow("reading a table")
        out = pa.RecordBatch.from_arrays([data.column(i) for i in keep], names=[names[i] for i in keep])
    return RawChunk(raw.kind, out, raw.n, raw.unreadable)


# -- rows ---------------------------------------------------------------------------------------------


class _RowsSource(Source):
    """Accounts, or dicts whose top-level keys ``mapping`` renames (nested dicts keep their keys).

    With ``plan``, a chunk of plain dicts goes to the flat path as an Arrow table when that reads
    every value as the row path would (:mod:`accountrules.batch.dict_rows`); ``plan`` None: always
    row by row."""

    def __init__(self, rows: Iterable[Any], chunk_rows: int, mapping: ColumnMapping | None = None,
                 plan: Plan | None = None):
        self._rows = rows
        self._chunk = chunk_rows
        self._plan = plan
        self._rename = dict(mapping.rename) if mapping is not None else {}
        self.restartable = isinstance(rows, Sequence)
        self.total = len(rows) if isinstance(rows, Sequence) else None

    def chunks(self) -> Iterator[RawChunk]:
        it = iter(self._rows)
        while True:
            part = list(islice(it, self._chunk))
            if not part:
                return
            clash: dict[int, str] = {}
            if self._rename:
                part = renamed_rows(part, self._rename, clash)
            table = dict_rows_table(part, self._plan) if self._plan is not None and not clash else None
            yield RawChunk("rows", part, len(part), clash) if table is None else \
                RawChunk("table", table, len(part))


def renamed_rows(rows: list[Any], rename: dict[str, str], clash: dict[int, str]) -> list[Any]:
    """``rows`` with the top-level keys of each dict renamed (anything else as it is); a row where a
    renamed key meets a key the row also has is None, and why is in ``clash[j]``: as for a file's
    columns, neither value is dropped silently."""
    out: list[Any] = []
    for j, row in enumerate(rows):
        if isinstance(row, dict):
            new = {rename.get(k, k): v for k, v in row.items()}
            if len(new) < len(row):
                col = next(k for k in row if k in rename and rename[k] in row)
                clash[j] = Message(N_("column {column!r} is mapped to {field!r}, which another column already gives"),
                                   column=col, field=rename[col])
                out.append(None)
                continue
            row = new
        out.append(row)
    return out


class _FileSource(Source):
    """A file read again on every pass; a whole-file failure surfaces as a :class:`BatchInputError`."""

    def __init__(self, path: Path, chunk_rows: int, mapping: ColumnMapping | None = None):
        self.name = str(path)
        self._path = path
        self._chunk = chunk_rows
        self._encoding = mapping.python_encoding if mapping is not None else "utf-8-sig"

    def _read(self) -> Iterator[RawChunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def chunks(self) -> Iterator[RawChunk]:
        try:
            yield from self._read()
        except TableInputError as e:
            raise _as_batch_error(e) from None


class _JsonlSource(_FileSource):
    """JSONL: one account a line; a mapping renames the top-level keys of each, as it does a dict's."""

    def __init__(self, path: Path, chunk_rows: int, mapping: ColumnMapping | None = None):
        super().__init__(path, chunk_rows, mapping)
        self._rename = dict(mapping.rename) if mapping is not None else {}

    def _read(self) -> Iterator[RawChunk]:
        chunks = iter_jsonl(self._path, self._chunk, self._encoding)
        return (self._renamed(c) for c in chunks) if self._rename else chunks

    def _renamed(self, raw: RawChunk) -> RawChunk:
        unreadable = dict(raw.unreadable or {})
        rows = renamed_rows(raw.data, self._rename, unreadable)
        return RawChunk(raw.kind, rows, raw.n, unreadable)


class _CsvSource(_FileSource):
    """CSV with a header of field paths (or of columns a mapping renames to them); every cell is
    read as text and validated like JSON input."""

    def __init__(self, path: Path, plan: Plan, chunk_rows: int, mapping: ColumnMapping | None = None):
        super().__init__(path, chunk_rows, mapping)
        header, self._header_lines = read_csv_start(path, self._encoding)
        self.columns = check_columns(header, plan, self.name, mapping)
        self._drop = any(is_ignored(n) for n in self.columns)

    def _read(self) -> Iterator[RawChunk]:
        chunks = iter_csv(self._path, self.columns, self._chunk, self._encoding, header_lines=self._header_lines)
        return (_select(c, self.columns) for c in chunks) if self._drop else chunks


# -- Parquet, Arrow, pandas -------------------------------------------------------------------------


class _ParquetSource(_FileSource):
    def __init__(self, path: Path, plan: Plan, chunk_rows: int, mapping: ColumnMapping | None = None):
        super().__init__(path, chunk_rows, mapping)
        names, self.total = parquet_layout(path)
        self.columns = check_columns(header_names(names), plan, self.name, mapping)
        self._mapped = self.columns != names

    def _read(self) -> Iterator[RawChunk]:
        chunks = iter_parquet(self._path, self._chunk)
        return (_select(c, self.columns) for c in chunks) if self._mapped else chunks


class _ArrowSource(Source):
    def __init__(self, table: Any, plan: Plan, chunk_rows: int, mapping: ColumnMapping | None = None):
        names = list(table.schema.names)
        self._names = check_columns(header_names(names), plan, mapping=mapping)
        self._mapped = self._names != names
        self._table = table
        self._chunk = chunk_rows
        self.total = table.num_rows

    def chunks(self) -> Iterator[RawChunk]:
        batches = self._table.to_batches(max_chunksize=self._chunk) if hasattr(self._table, "to_batches") \
            else [self._table]
        for b in batches:
            for off in range(0, b.num_rows, self._chunk):
                part = b.slice(off, self._chunk)
                raw = RawChunk("table", part, part.num_rows)
                yield _select(raw, self._names) if self._mapped else raw


class _ArrowReaderSource(Source):
    restartable = False

    def __init__(self, reader: Any, plan: Plan, mapping: ColumnMapping | None = None):
        names = list(reader.schema.names)
        self._names = check_columns(header_names(names), plan, mapping=mapping)
        self._mapped = self._names != names
        self._reader = reader

    def chunks(self) -> Iterator[RawChunk]:
        for b in self._reader:
            raw = RawChunk("table", b, b.num_rows)
            yield _select(raw, self._names) if self._mapped else raw


class _PandasSource(Source):
    def __init__(self, df: Any, plan: Plan, chunk_rows: int, mapping: ColumnMapping | None = None):
        self._names = check_columns(header_names(df.columns), plan, mapping=mapping)
        self._df = df
        self._chunk = chunk_rows
        self.total = len(df)

    def chunks(self) -> Iterator[RawChunk]:
        df = self._df
        for off in range(0, len(df), self._chunk):
            part = df.iloc[off: off + self._chunk]
            data: dict[str, Any] = {}
            for name, (_, series) in zip(self._names, part.items(), strict=True):
                if is_ignored(name):
                    continue
                arr = pandas_array(series)
                data[name] = arr if arr is not None else series.tolist()  # mixed objects: validated cell by cell
            yield RawChunk("table", data, len(part))


__all__ = ["DEFAULT_CHUNK_ROWS", "STREAM_CHUNK_ROWS", "RawChunk", "Source", "open_source"]
