"""Stream a table file chunk by chunk: CSV, JSONL, Parquet.

Each reader yields :class:`RawChunk` objects of at most ``chunk_rows`` rows, so a file
of any length is read in bounded memory, and can be read again for a second pass.
CSV and Parquet go through pyarrow (``pyarrow.csv.open_csv``,
``ParquetFile.iter_batches``); JSONL is read line by line with the standard library and
needs no extra. A line or row that cannot be read is never dropped: it keeps its place
in the chunk and its message is in :attr:`RawChunk.unreadable`.

What a row means (field paths, validation) is the caller's business; a file that cannot
be read at all raises :class:`TableInputError`.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final

from accountrules.i18n import N_, Message
from accountrules.io.optional import pyarrow, require
from accountrules.io.text import (
    DAMAGED,
    NotUtf8Error,
    TableInputError,
    check_not_utf8_bom,
    compression_of,
    damaged,
    is_utf8,
    not_utf8,
    open_text,
)

CSV_BLOCK_BYTES: Final = 1 << 20
"""Bytes of CSV text pyarrow parses at a time. Its streaming reader reads up to 32 blocks ahead in
the background, so this bounds the memory a streamed file holds (32 MB of read-ahead, where 4 MB
blocks held up to 128 MB: a file's whole text up to that size). A block must hold a whole row:
1 MB holds a cell of :data:`MAX_CELL_CHARS` characters of up to 4 UTF-8 bytes each."""
MAX_CELL_CHARS: Final = 131_072
"""A CSV cell longer than this is a row error (Python's ``csv`` default field limit, on both CSV paths)."""
MAX_JSON_DEPTH: Final = 32
"""A JSONL line nested deeper than this is a row error (an account nests three levels)."""
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BLANK_CHARS: Final = " \t"
"""A CSV line of one cell holding only these (quoted or not) is a blank line: an editing artefact, skipped
and not counted like an empty line, as pandas skips it."""


@dataclass(slots=True)
class RawChunk:
    """Consecutive rows of a source, not yet validated.

    ``kind`` ``"rows"``: ``data`` is a list of objects (dicts, Accounts; ``None`` for an
    unreadable line). ``kind`` ``"table"``: ``data`` is a pyarrow RecordBatch or
    ``{column: pyarrow Array or list}``. ``unreadable`` maps a 0-based index in the chunk
    to why that row could not be read.
    """

    kind: str
    data: Any
    n: int
    unreadable: dict[int, str] = field(default_factory=dict)


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for k, v in pairs:
        if k in obj:  # json.loads would keep the last value silently
            raise _DuplicateKey(k)
        obj[k] = v
    return obj


def _too_deep(line: str) -> bool:
    # counting brackets is a C loop: the exact scan (strings removed) runs only on suspicious lines
    if line.count("[") + line.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for ch in _JSON_STRING.sub("", line):
        if ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def json_object(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(object, None)`` for a line holding a JSON object, else ``(None, why not)``.

    Never raises on the line's content: a key twice in one object, nesting deeper than
    :data:`MAX_JSON_DEPTH`, an integer beyond Python's digit limit are reasons, like bad syntax.
    """
    if _too_deep(line):
        return None, f"not an account: JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        obj = json.loads(line, object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        return None, f"key {e.key!r} appears twice in one JSON object"
    except json.JSONDecodeError as e:
        return None, f"not a JSON object: {e}"
    except (ValueError, RecursionError) as e:  # int beyond sys.get_int_max_str_digits(), deep nesting
        return None, f"not a JSON object: {str(e).split(';')[0]}"
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}"
    return obj, None


# -- JSONL --------------------------------------------------------------------------------------------


def iter_jsonl(path: Path, chunk_rows: int, encoding: str = "utf-8-sig") -> Iterator[RawChunk]:
    """Chunks of ``"rows"``: one parsed object per non-blank line (``None`` where it is not one)."""
    check_not_utf8_bom(path, encoding)
    rows: list[Any] = []
    bad: dict[int, str] = {}
    try:
        with open_text(path, encoding=encoding) as f:
            for line in f:
                if not line.strip():
                    continue
                obj, problem = json_object(line)
                if problem is not None:
                    bad[len(rows)] = problem
                rows.append(obj)
                if len(rows) >= chunk_rows:
                    yield RawChunk("rows", rows, len(rows), bad)
                    rows, bad = [], {}
    except UnicodeDecodeError as e:
        raise not_utf8(path, encoding, e) from None
    except DAMAGED as e:
        raise damaged(path, e) from None
    if rows:
        yield RawChunk("rows", rows, len(rows), bad)


# -- CSV ----------------------------------------------------------------------------------------------


def read_csv_header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    """The cells of the first row, stripped (``TableInputError`` for an empty or unreadable file, or one
    that starts with a UTF-8 byte-order mark when ``encoding`` is another). Blank lines above it are
    skipped, as pandas skips them."""
    return read_csv_start(path, encoding)[0]


def read_csv_start(path: Path, encoding: str = "utf-8-sig") -> tuple[list[str], int]:
    """:func:`read_csv_header`, and the lines up to the header's end: give them to :func:`iter_csv` as
    ``header_lines``, so the header is not read twice."""
    header, lines = csv_header(path, encoding)
    if not header:
        raise TableInputError(Message(N_("empty file: expected a header row of field paths")), source=str(path))
    return header_names(header), lines


def csv_header(path: Path, encoding: str = "utf-8-sig") -> tuple[list[str] | None, int]:
    """The cells of the first record that is no blank line (as written, ``None`` for a file of blank lines),
    and the lines read up to its end: what pyarrow's ``skip_rows`` skips to the data (it counts lines, blank
    ones included). The file is opened as :func:`open_text` opens it (decompressed by its suffix)."""
    check_not_utf8_bom(path, encoding)
    with open_text(path, newline="", encoding=encoding) as f:
        reader = csv.reader(f)
        try:
            for rec in reader:
                if not _blank_record(rec):
                    return rec, reader.line_num
        except UnicodeDecodeError as e:
            raise not_utf8(path, encoding, e) from None
        except csv.Error as e:
            raise TableInputError(Message(N_("cannot read the header ({e}); save the file as UTF-8 CSV"), e=e),
                                  source=str(path)) from None
        except DAMAGED as e:
            raise damaged(path, e) from None
    return None, 0


def header_names(names: Iterable[Any]) -> list[str]:
    """Column names as a header's are read: as text, surrounding blanks stripped, so ``" id "`` names the
    id column in a CSV file, a DataFrame, an Arrow table, a Parquet file and on Spark alike."""
    return [str(n).strip() for n in names]


class _Fallback(Exception):
    pass


_LONG = f"cell longer than {MAX_CELL_CHARS:,} characters"
_JOINED = "cell holds whole CSV rows after a line break: an unclosed quote joined the lines after it into this row"


def _joined_rows(width: int) -> str:
    """A regex finding a cell that holds a line break followed by a line with a row's worth of
    separators: what an unclosed quote leaves. A multi-line address or note is still a cell."""
    # commas excluded from the runs: one way to match, no backtracking blow-up in Python's re
    return f"[\\r\\n][^\\r\\n,]*(?:,[^\\r\\n,]*){{{min(max(width - 1, 1), 500)}}}"


def _may_hold_breaks(path: Path, encoding: str) -> bool:
    """Whether a cell of the file may hold a line break. Only a quoted cell can, so a plain UTF-8 file
    without a quote character holds none: one memchr pass over its bytes (which the reader then
    finds in the OS cache) spares a search of every cell and lets pyarrow parse lines plainly."""
    if compression_of(path) is not None or arrow_encoding(encoding) != "utf8":
        return True
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            if b'"' in block:
                return True
    return False


def cell_text(col: Any) -> bytes | None:
    """The bytes of a string column's cells end to end (and whatever a null slot may span), or
    None for another type. Read off its offsets and data buffers: a copy, not a kernel per cell."""
    pa = pyarrow("reading CSV")
    if not pa.types.is_string(col.type):
        return None
    _, offsets, data = col.buffers()
    start, end = (struct.unpack_from("=i", offsets, 4 * (col.offset + k))[0] for k in (0, len(col)))
    return b"" if data is None or end == start else data.slice(start, end - start).to_pybytes()


def _batch_problems(batch: Any, joined: str | None) -> dict[int, str]:
    """Rows of an Arrow batch holding a cell the Python path would refuse (too long, joined rows);
    ``joined`` None: no cell holds a line break, so none holds joined rows."""
    pc = require("pyarrow.compute", "reading CSV")
    bad: dict[int, str] = {}
    for col in batch.columns:
        if col.null_count == len(col):
            continue
        # a column's text whole (what CSV gives: strings) clears most columns at once: no cell is
        # longer than all of it, and a memchr over it finds no line break in any cell. The exact
        # tests run only on a column that fails this, so a clean file pays almost nothing
        text = cell_text(col)
        # pyarrow is not asked to check each cell's UTF-8: here a column's text that is ASCII is
        # UTF-8 by one scan, and other text is decoded once; bytes that are not UTF-8 go to the Python
        # path, which says so for the file, as when pyarrow refused them
        if text is not None and not text.isascii():
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                raise _Fallback from None
        long = text is None or len(text) > MAX_CELL_CHARS
        if long and (pc.max(pc.binary_length(col)).as_py() or 0) > MAX_CELL_CHARS:
            _flag(bad, pc.greater(pc.utf8_length(col), MAX_CELL_CHARS), _LONG)
        # LF only: rows end in LF or CRLF (a CR-only file is read by the exact regex of the Python path
        # only after a fallback)
        if joined is None or (text is not None and b"\n" not in text):
            continue
        breaks = pc.match_substring(col, "\n")
        if pc.any(breaks).as_py():
            _flag(bad, pc.and_(breaks, pc.match_substring_regex(col, joined)), _JOINED)
    return bad


def _flag(bad: dict[int, str], mask: Any, problem: str) -> None:
    pc = require("pyarrow.compute", "reading CSV")
    for i in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
        bad.setdefault(i, problem)


def iter_csv(path: Path, names: Sequence[str], chunk_rows: int, encoding: str = "utf-8-sig", *,
             header_lines: int | None = None) -> Iterator[RawChunk]:
    """Chunks of ``"table"``: every cell as text (blank = null), the header row skipped (``header_lines``:
    the lines up to its end, as :func:`read_csv_start` gives them; read here when not given).

    Fast path: ``pyarrow.csv.open_csv`` block by block. A row with too many or too few
    cells makes pyarrow skip it without saying where it was, and a cell longer than a
    block stops it, so on the first such row the reader continues with Python's ``csv``
    module from the first row not yet delivered, and reports each bad row as an
    unreadable row in its place. On both paths a cell longer than :data:`MAX_CELL_CHARS`
    or holding whole rows after a line break makes its row unreadable (that is what an
    unclosed quote leaves: it must not swallow the rows after it silently).
    """
    pa = pyarrow("reading CSV")
    pacsv = require("pyarrow.csv", "reading CSV")
    ragged: list[str] = []

    def handler(row: Any) -> str:
        # a line of spaces is a ragged row of one cell to pyarrow (its only call on a clean file's path)
        if row.actual_columns != 1 or not is_blank_line(row.text):
            ragged.append(row.text)
        return "skip"

    joined = _joined_rows(len(names)) if _may_hold_breaks(path, encoding) else None
    if header_lines is None:
        header_lines = csv_header(path, encoding)[1]
    above = max(header_lines, 1)  # the header's lines, and any blank lines above it
    done = 0
    try:
        stream = pa.input_stream(str(path), compression=compression_of(path))
        with stream:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=list(names), skip_rows=above, block_size=CSV_BLOCK_BYTES,
                                               use_threads=False, encoding=arrow_encoding(encoding)),
                parse_options=pacsv.ParseOptions(newlines_in_values=joined is not None, invalid_row_handler=handler),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     null_values=[""], strings_can_be_null=True,
                                                     quoted_strings_can_be_null=True, check_utf8=False),
            )
            # blocks are joined into chunks of chunk_rows (a block is about 1 MB of text): few, full
            # chunks for what follows, whatever the block size
            pending: list[Any] = []  # read, not yet handed out: less than a chunk
            bad: dict[int, str] = {}  # by row of the pending rows
            held = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                if ragged:
                    raise _Fallback
                if len(names) == 1:  # a line of spaces is a whole row of a one-column file
                    batch = _without_blank_rows(batch)
                bad.update({held + i: m for i, m in _batch_problems(batch, joined).items()})
                pending.append(batch)
                held += batch.num_rows
                while held >= chunk_rows:
                    part, pending, bad = _split(pa, pending, bad, chunk_rows)
                    held -= part.n
                    yield part
                    done += part.n
            if ragged:
                raise _Fallback
            if held:
                yield _split(pa, pending, bad, held)[0]
    except (_Fallback, pa.ArrowInvalid):  # open_csv reads the first block: it may fail there too
        yield from _python_csv(path, names, chunk_rows, skip=done, encoding=encoding)
    except DAMAGED as e:  # pyarrow's "Truncated compressed stream", a bad gzip header
        raise damaged(path, e) from None


def _split(pa: Any, pending: list[Any], bad: dict[int, str], n: int) -> tuple[RawChunk, list[Any], dict[int, str]]:
    """The first ``n`` pending rows as a chunk (the batches joined when there are several), and what is left."""
    joined = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
    part = joined.slice(0, n)
    rest = [joined.slice(n)] if joined.num_rows > n else []
    return (RawChunk("table", part, n, {i: m for i, m in bad.items() if i < n}), rest,
            {i - n: m for i, m in bad.items() if i >= n})


def is_blank_line(text: str) -> bool:
    """Whether a line (as pyarrow gives a bad row's text) is one cell of :data:`_BLANK_CHARS`, quoted or not:
    a blank line, which every CSV reader skips (an ``invalid_row_handler`` of pyarrow's reads asks this)."""
    if len(text) > 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return _blank_cell(text)


def _blank_record(rec: list[str]) -> bool:
    """Whether a record as Python's ``csv`` reads it is a blank line: no cell, or one of blanks."""
    return not rec or (len(rec) == 1 and _blank_cell(rec[0]))


def _blank_cell(cell: str) -> bool:
    return cell != "" and not cell.strip(_BLANK_CHARS)


def _without_blank_rows(batch: Any) -> Any:
    """A one-column batch without its cells of :data:`_BLANK_CHARS` (the lines of spaces of its file)."""
    pc = require("pyarrow.compute", "reading CSV")
    blank = pc.fill_null(pc.match_substring_regex(batch.column(0), "^[ \t]+$"), False)
    return batch.filter(pc.invert(blank)) if pc.any(blank).as_py() else batch


def arrow_encoding(encoding: str) -> str:
    """The name pyarrow's CSV reader takes for ``encoding``: ``utf8`` for UTF-8 (read natively, a
    byte-order mark included); any other codec goes through Python's, by its canonical name."""
    return "utf8" if is_utf8(encoding) else codecs.lookup(encoding).name


def _records(f: IO[str]) -> Iterator[list[str] | str]:
    """Non-empty records of a CSV text, or the reason one could not be read (the reader goes on
    with the next line). A line of spaces is skipped as an empty one is, as on pyarrow's path."""
    reader = csv.reader(f)
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield _LONG if "field limit" in str(e) else f"cannot split the row into cells: {e}"
            continue
        if not _blank_record(rec):
            yield rec


def _python_csv(path: Path, names: Sequence[str], chunk_rows: int, skip: int,
                encoding: str = "utf-8-sig") -> Iterator[RawChunk]:
    pa = pyarrow("reading CSV")
    width = len(names)
    joined = re.compile(_joined_rows(width))
    try:
        with open_text(path, newline="", encoding=encoding) as f:
            records = _records(f)
            next(records, None)  # header
            for _ in islice(records, skip):
                pass
            while True:
                block = list(islice(records, chunk_rows))
                if not block:
                    return
                cols: list[list[str | None]] = [[] for _ in names]
                bad: dict[int, str] = {}
                for j, rec in enumerate(block):
                    if isinstance(rec, str):
                        bad[j], rec = rec, [""] * width
                    elif len(rec) != width:
                        bad[j], rec = f"expected {width} cells, found {len(rec)}", [""] * width
                    else:
                        if any(joined.search(c) for c in rec):
                            bad[j], rec = _JOINED, [""] * width
                    for c, v in zip(cols, rec, strict=True):
                        c.append(v if v != "" else None)
                data = {n: pa.array(c, type=pa.string()) for n, c in zip(names, cols, strict=True)}
                yield RawChunk("table", data, len(block), bad)
    except UnicodeDecodeError as e:
        raise not_utf8(path, encoding, e) from None
    except DAMAGED as e:
        raise damaged(path, e) from None


# -- pandas -------------------------------------------------------------------------------------------


def pandas_array(series: Any) -> Any | None:
    """A pandas Series as a pyarrow Array (nulls from NaN/NA/NaT), or ``None`` when its values
    share no Arrow type (a column of mixed Python objects: the caller reads it value by value)."""
    pa = pyarrow("reading a DataFrame")
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None  # OverflowError: a Python int past 64 bits in an object column


# -- Parquet ------------------------------------------------------------------------------------------


def _parquet_error(path: Path, e: BaseException) -> TableInputError:
    """A Parquet file that is none, or whose pages stop making sense past its footer."""
    return TableInputError(Message(N_("cannot read Parquet ({e})"), e=e), source=str(path))


def parquet_layout(path: Path) -> tuple[list[str], int]:
    """``(column names, rows)`` of a Parquet file, from its footer."""
    pq = require("pyarrow.parquet", "reading Parquet")
    try:
        f = pq.ParquetFile(str(path))
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for a file that is not Parquet
        raise _parquet_error(path, e) from None
    return list(f.schema_arrow.names), int(f.metadata.num_rows)


def iter_parquet(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    """Chunks of ``"table"``: RecordBatches as stored (types kept)."""
    pa = pyarrow("reading Parquet")
    pq = require("pyarrow.parquet", "reading Parquet")
    f = pq.ParquetFile(str(path))
    try:
        for batch in f.iter_batches(batch_size=chunk_rows):
            yield RawChunk("table", batch, batch.num_rows)
    except (pa.ArrowException, OSError) as e:  # a damaged page past a sound footer ("Corrupt snappy ...")
        raise _parquet_error(path, e) from None


__all__ = [
    "CSV_BLOCK_BYTES", "MAX_CELL_CHARS", "MAX_JSON_DEPTH", "arrow_encoding",
    "NotUtf8Error", "RawChunk", "TableInputError", "cell_text", "compression_of", "csv_header", "damaged",
    "header_names", "is_blank_line", "iter_csv", "iter_jsonl", "iter_parquet", "json_object", "open_text",
    "pandas_array", "parquet_layout", "read_csv_header", "read_csv_start",
]
