"""Read a batch source in chunks: lists of accounts, DataFrames, Arrow tables, CSV, JSONL, Parquet.

A source yields :class:`RawChunk` objects: either *rows* (accounts, dicts, parsed
JSONL lines) or a flat *table* (a pyarrow RecordBatch or ``{column: values}``).
Files are read chunk by chunk (``pyarrow.csv.open_csv``, ``ParquetFile.iter_batches``,
JSONL line by line) and can be read again for a second pass, so a portfolio never has
to be held in memory as raw input.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

from accountrules.batch.columns import check_columns
from accountrules.batch.errors import BatchInputError
from accountrules.compile.plan import Plan
from accountrules.errors import EngineUnavailableError

DEFAULT_CHUNK_ROWS = 20_000
_CSV_BLOCK_BYTES = 4 << 20

CSV_SUFFIXES = (".csv", ".csv.gz")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(slots=True)
class RawChunk:
    kind: str  # "rows" | "table"
    data: Any  # list of objects | RecordBatch | {column: Array or list}
    n: int
    unreadable: dict[int, str] = field(default_factory=dict)  # local index -> message


class Source:
    """A re-readable (``restartable``) or one-shot sequence of chunks."""

    name: str | None = None
    restartable: bool = True
    total: int | None = None

    def chunks(self) -> Iterator[RawChunk]:  # pragma: no cover - abstract
        raise NotImplementedError


def _arrow() -> Any:
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise EngineUnavailableError(
            f"reading tables and files needs pyarrow: pip install 'accountrules[arrow]' ({e})"
        ) from e
    return pyarrow


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    for s in (*CSV_SUFFIXES, *JSONL_SUFFIXES, *PARQUET_SUFFIXES):
        if name.endswith(s):
            return s
    return path.suffix.lower()


def open_source(source: Any, plan: Plan, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Source:
    """Recognise ``source`` and check a flat one's columns (an unknown column fails the whole input)."""
    if isinstance(source, Source):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        suffix = suffix_of(path)
        if not path.is_file():
            raise BatchInputError("no such file", source=str(path))
        if suffix in CSV_SUFFIXES:
            return _CsvSource(path, plan, chunk_rows)
        if suffix in JSONL_SUFFIXES:
            return _JsonlSource(path, chunk_rows)
        if suffix in PARQUET_SUFFIXES:
            return _ParquetSource(path, plan, chunk_rows)
        raise BatchInputError(
            f"cannot tell the format from the suffix {suffix!r}: use .csv, .jsonl/.ndjson or .parquet/.pq",
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


class _JsonlSource(Source):
    def __init__(self, path: Path, chunk_rows: int):
        self.name = str(path)
        self._path = path
        self._chunk = chunk_rows

    def _open(self) -> IO[str]:
        if self._path.name.lower().endswith(".gz"):
            return io.TextIOWrapper(gzip.open(self._path, "rb"), encoding="utf-8-sig")
        return self._path.open(encoding="utf-8-sig")

    def chunks(self) -> Iterator[RawChunk]:
        rows: list[Any] = []
        bad: dict[int, str] = {}
        try:
            with self._open() as f:
                for line in f:
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        bad[len(rows)] = f"not a JSON object: {e}"
                        obj = None
                    else:
                        if not isinstance(obj, dict):
                            bad[len(rows)] = f"expected a JSON object, got {type(obj).__name__}"
                            obj = None
                    rows.append(obj)
                    if len(rows) >= self._chunk:
                        yield RawChunk("rows", rows, len(rows), bad)
                        rows, bad = [], {}
        except UnicodeDecodeError as e:
            raise BatchInputError(f"not UTF-8 text ({e}); save the file as UTF-8", source=self.name) from None
        if rows:
            yield RawChunk("rows", rows, len(rows), bad)


# -- CSV ----------------------------------------------------------------------------------------------


class _Ragged(Exception):
    pass


class _CsvSource(Source):
    """CSV with a header of field paths; every cell is read as text and validated like JSON input.

    Fast path: ``pyarrow.csv.open_csv`` block by block. A row with too many or too few
    cells makes pyarrow skip it without saying where it was, so on the first such row the
    reader continues with Python's ``csv`` module from the first row not yet delivered,
    and reports each ragged row as an unreadable row in its place.
    """

    def __init__(self, path: Path, plan: Plan, chunk_rows: int):
        self.name = str(path)
        self._path = path
        self._chunk = chunk_rows
        with self._text() as f:
            try:
                header = next(csv.reader(f), None)
            except (UnicodeDecodeError, csv.Error) as e:
                raise BatchInputError(f"cannot read the header ({e}); save the file as UTF-8 CSV",
                                      source=self.name) from None
        if not header:
            raise BatchInputError("empty file: expected a header row of field paths", source=self.name)
        self.columns = check_columns([h.strip() for h in header], plan, self.name)

    def _gz(self) -> bool:
        return self._path.name.lower().endswith(".gz")

    def _text(self) -> IO[str]:
        if self._gz():
            return io.TextIOWrapper(gzip.open(self._path, "rb"), encoding="utf-8-sig", newline="")
        return self._path.open(encoding="utf-8-sig", newline="")

    def chunks(self) -> Iterator[RawChunk]:
        pa = _arrow()
        import pyarrow.csv as pacsv

        ragged: list[str] = []

        def handler(row: Any) -> str:
            ragged.append(row.text)
            return "skip"

        names = self.columns
        done = 0
        try:
            stream = pa.input_stream(str(self._path), compression="gzip" if self._gz() else None)
            with stream:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=_CSV_BLOCK_BYTES,
                                                   use_threads=False),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
                    convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                         null_values=[""], strings_can_be_null=True,
                                                         quoted_strings_can_be_null=True),
                )
                for batch in reader:
                    if ragged:
                        raise _Ragged
                    for off in range(0, batch.num_rows, self._chunk):
                        part = batch.slice(off, self._chunk)
                        yield RawChunk("table", part, part.num_rows)
                    done += batch.num_rows
                if ragged:
                    raise _Ragged
        except _Ragged:
            yield from self._python_chunks(skip=done)
        except (pa.ArrowInvalid, UnicodeDecodeError) as e:
            raise BatchInputError(f"cannot read CSV ({e}); save the file as UTF-8 CSV", source=self.name) from None

    def _python_chunks(self, skip: int) -> Iterator[RawChunk]:
        pa = _arrow()
        names = self.columns
        width = len(names)
        with self._text() as f:
            records = (r for r in csv.reader(f) if r)
            next(records, None)  # header
            for _ in islice(records, skip):
                pass
            while True:
                block = list(islice(records, self._chunk))
                if not block:
                    return
                cols: list[list[str | None]] = [[] for _ in names]
                bad: dict[int, str] = {}
                for j, rec in enumerate(block):
                    if len(rec) != width:
                        bad[j] = f"expected {width} cells, found {len(rec)}"
                        rec = [""] * width
                    for c, v in zip(cols, rec, strict=True):
                        c.append(v if v != "" else None)
                data = {n: pa.array(c, type=pa.string()) for n, c in zip(names, cols, strict=True)}
                yield RawChunk("table", data, len(block), bad)


# -- Parquet, Arrow, pandas -------------------------------------------------------------------------


class _ParquetSource(Source):
    def __init__(self, path: Path, plan: Plan, chunk_rows: int):
        _arrow()
        import pyarrow.parquet as pq

        self.name = str(path)
        self._path = path
        self._chunk = chunk_rows
        try:
            f = pq.ParquetFile(str(path))
        except Exception as e:  # pyarrow raises ArrowInvalid / OSError for a file that is not Parquet
            raise BatchInputError(f"cannot read Parquet ({e})", source=self.name) from None
        self.columns = check_columns(f.schema_arrow.names, plan, self.name)
        self.total = f.metadata.num_rows

    def chunks(self) -> Iterator[RawChunk]:
        import pyarrow.parquet as pq

        f = pq.ParquetFile(str(self._path))
        for batch in f.iter_batches(batch_size=self._chunk):
            yield RawChunk("table", batch, batch.num_rows)


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
        pa = _arrow()
        df = self._df
        for off in range(0, len(df), self._chunk):
            part = df.iloc[off: off + self._chunk]
            data: dict[str, Any] = {}
            for name, (_, series) in zip(self._names, part.items(), strict=True):
                try:
                    data[name] = pa.array(series, from_pandas=True)
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    data[name] = series.tolist()  # mixed Python objects: validated cell by cell
            yield RawChunk("table", data, len(part))


__all__ = ["DEFAULT_CHUNK_ROWS", "RawChunk", "Source", "open_source", "suffix_of"]
