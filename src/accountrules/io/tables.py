"""Read a whole file into one pyarrow Table of chosen columns: CSV, whitespace text, JSONL, Parquet.

For inputs that are aggregated as a whole (an order log for ``derive_features``),
where the rows are grouped and no row stands for one output. CSV goes through the
streaming reader of :mod:`accountrules.io.readers` (every cell as text, only the asked-for
columns kept); whitespace text and JSONL are read as bytes and parsed by Arrow; Parquet
reads only the asked-for columns. Zero-padded ids stay text and the caller names a bad
value by its row. A compression suffix (``.gz``, ``.bz2``, ``.zst``, ``.lz4``) is looked
through. The caller checks the columns found (``require``) before anything is
converted; a file that cannot be read raises
:class:`~accountrules.errors.AccountValidationError` naming the file and, where there
is one, the 1-based data row (header and blank lines not counted).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from accountrules.errors import AccountValidationError
from accountrules.i18n import N_, Message
from accountrules.io.optional import pyarrow, require
from accountrules.io.readers import iter_csv, json_object, read_csv_start
from accountrules.io.text import NotUtf8Error, TableInputError, compression_of, not_utf8

log = logging.getLogger(__name__)

_BLANKS_TO_SPACE: Final = bytes.maketrans(b"\t\f\v", b"   ")
_CHUNK_ROWS: Final = 1 << 17

Require = Callable[[Collection[str]], None]
"""Raises when the columns found lack one the caller needs."""

Progress = Callable[[str, int, "int | None"], None]
"""``progress("reading", rows read, rows in total or None)``, as :func:`accountrules.batch.iter_batches` takes."""

_SAMPLE_BYTES: Final = 1 << 16  # the head of a CSV whose line lengths estimate its row count


def read_table(path: Path, kind: str, needed: Sequence[str], require_columns: Require,
               progress: Progress | None = None) -> Any:
    """The ``needed`` columns of the ``kind`` file at ``path`` (``csv``, ``whitespace``, ``jsonl``, ``parquet``).

    ``progress("reading", rows, total)`` is called as rows are read: per block of a CSV (its total
    estimated from the line lengths of its first 64 KB and its size; None when compressed) or a
    Parquet file (its total from the file's metadata); once at the end for whitespace text and JSONL,
    which are parsed in one call."""
    if not path.is_file():
        raise FileNotFoundError(f"order log not found: {path}")
    log.debug("reading %s as %s", path, kind)
    wanted = list(dict.fromkeys(needed))
    require_columns = _once_each(path, wanted, require_columns)
    pa = pyarrow(f"reading {kind}")
    if kind == "csv":
        return _stream_csv(path, wanted, require_columns, progress)
    try:
        if kind == "parquet":
            pq = require("pyarrow.parquet", "reading Parquet")
            require_columns(pq.read_schema(path).names)
            if progress is None:
                return pq.read_table(path, columns=wanted)
            return _stream_parquet(pq, path, wanted, progress)
        with pa.input_stream(str(path)) as stream:  # decompresses by suffix
            data: bytes = stream.read()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:  # OSError: a cut-off .gz, a bad page
        raise _file_error(path, Message(N_("not a readable {kind} file: {exc}"), kind=kind, exc=exc)) from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if kind == "whitespace":
        spaced = _single_spaced(data)  # then Arrow's CSV reader can split it
        try:
            table = _read_spaced(spaced, path, wanted, require_columns)
        except AccountValidationError:
            table = _read_whitespace(data, path, wanted, require_columns)  # names the bad row
    else:
        table = _read_jsonl(data, path, wanted, require_columns)
    if progress is not None:
        progress("reading", table.num_rows, table.num_rows)
    return table


def _once_each(path: Path, wanted: list[str], require_columns: Require) -> Require:
    """``require_columns``, refusing first a needed column the file names twice: which of the two is
    meant cannot be told (Arrow's readers raised a bare KeyError)."""
    def check(found: Collection[str]) -> None:
        names = list(found)
        for name in wanted:
            if names.count(name) > 1:
                raise _file_error(path, Message(N_("column {column!r} appears twice"), column=name))
        require_columns(found)
    return check


def _stream_parquet(pq: Any, path: Path, wanted: list[str], progress: Progress) -> Any:
    """A Parquet file by record batches, reporting rows read against the row count of its metadata
    (the columns in ``wanted``'s order, as ``pq.read_table`` gives them)."""
    pa = pyarrow("reading Parquet")
    with pq.ParquetFile(path) as f:
        total = f.metadata.num_rows
        batches: list[Any] = []
        done = 0
        progress("reading", 0, total)
        for batch in f.iter_batches(batch_size=_CHUNK_ROWS, columns=wanted):
            batches.append(batch)
            done += batch.num_rows
            progress("reading", done, total)
    if not batches:
        return pq.read_table(path, columns=wanted)
    return pa.Table.from_batches(batches).select(wanted)


def estimated_rows(path: Path) -> int | None:
    """About how many data rows an uncompressed text file holds: its size over the mean line length of its
    first 64 KB (header not counted); None when compressed or empty. For a progress bar's ETA, not a count."""
    if compression_of(path) is not None:
        return None
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(_SAMPLE_BYTES)
    except OSError:
        return None
    lines = head.count(b"\n")
    if not head or lines == 0:
        return None
    if len(head) == size:  # the whole file: count, do not estimate
        return max(lines - 1 + (not head.endswith(b"\n")), 0)
    return max(round(size * lines / len(head)) - 1, 1)


def _single_spaced(data: bytes) -> bytes:
    """Runs of blanks -> one space, none at the start or end of a line (bytes ops: fast)."""
    text = data.translate(_BLANKS_TO_SPACE)
    while b"  " in text:
        text = text.replace(b"  ", b" ")
    text = text.replace(b"\n ", b"\n").replace(b" \r", b"\r").replace(b" \n", b"\n")
    return text[1:] if text.startswith(b" ") else text


def _file_error(path: Path, message: str, row: int | None = None) -> AccountValidationError:
    return AccountValidationError([(str(path), message)], row=row)


def _resave(path: Path, guess: str | None) -> AccountValidationError:
    """A log that is not UTF-8: logs are read as UTF-8 only (no encoding option), so re-saving is the fix."""
    if guess:
        return _file_error(path, Message(N_("file is not UTF-8; it looks like {guess}: re-save it as UTF-8"),
                                         guess=guess))
    return _file_error(path, Message(N_("file is not UTF-8: re-save it as UTF-8")))


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(path, Message(N_("not UTF-8 text ({reason} at byte {byte})"),
                                        reason=exc.reason, byte=exc.start)) from None


def _read_whitespace(data: bytes, path: Path, wanted: list[str], require_columns: Require) -> Any:
    """Pure-Python reader: slower, used to report the row Arrow's reader failed on."""
    pa = pyarrow("reading whitespace text")
    header: list[str] | None = None
    rows: list[list[str]] = []
    for line in _decode(data, path).splitlines():
        fields = line.split()
        if not fields:
            continue
        if header is None:
            header = fields
            continue
        if len(fields) != len(header):
            raise _file_error(
                path, Message(N_("expected {header} fields, found {fields}: {line!r}"),
                              header=len(header), fields=len(fields), line=line.strip()), row=len(rows) + 1
            )
        rows.append(fields)
    if header is None:
        raise _file_error(path, Message(N_("empty file: no header row")))
    require_columns(header)
    position = {name: i for i, name in enumerate(header)}
    return pa.table({name: pa.array([r[position[name]] for r in rows], pa.string()) for name in wanted})


def _stream_csv(path: Path, wanted: list[str], require_columns: Require, progress: Progress | None) -> Any:
    """CSV through the batch reader, block by block: every cell as text, only ``wanted`` kept.

    A row with too many or too few cells is named by its 1-based data row.
    """
    pa = pyarrow("reading CSV")
    try:
        header, lines = read_csv_start(path)
        require_columns(header)
        parts: list[Any] = []
        done = 0
        total = estimated_rows(path) if progress is not None else None
        for chunk in iter_csv(path, header, _CHUNK_ROWS, header_lines=lines):
            if chunk.unreadable:
                j = min(chunk.unreadable)
                raise _file_error(path, chunk.unreadable[j], row=done + j + 1)
            data = chunk.data
            parts.append(pa.table({n: data[n] if isinstance(data, dict) else data.column(n) for n in wanted}))
            done += chunk.n
            if progress is not None:
                progress("reading", done, total)
    except NotUtf8Error as exc:
        raise _resave(path, exc.guess) from None
    except TableInputError as exc:
        raise _file_error(path, exc.message) from None
    if not parts:
        return pa.table({n: pa.array([], pa.string()) for n in wanted})
    return pa.concat_tables(parts)


def _valid_utf8(pa: Any, table: Any, path: Path) -> Any:
    """``table``, once its text is checked: Arrow's CSV and JSON readers keep invalid UTF-8 in strings,
    and its kernels fail on it later, far from the file."""
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        found = not_utf8(path, "utf-8", UnicodeDecodeError("utf-8", b"", 0, 1, "invalid UTF-8 text"))
        raise _resave(path, getattr(found, "guess", None)) from None
    return table


def _read_spaced(data: bytes, path: Path, wanted: list[str], require_columns: Require) -> Any:
    """Single-spaced text through Arrow's CSV reader (fast; the whole file is in memory already)."""
    pa = pyarrow("reading whitespace text")
    csv = require("pyarrow.csv", "reading whitespace text")
    parse = csv.ParseOptions(delimiter=" ", quote_char=False)
    convert = csv.ConvertOptions(
        column_types={name: pa.string() for name in wanted},  # parse ourselves, name bad rows
        strings_can_be_null=True,
        null_values=[""],
    )
    try:
        table = csv.read_csv(pa.py_buffer(data), parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise _file_error(path, Message(N_("not a readable file: {exc}"), exc=exc)) from exc
    require_columns(table.column_names)
    return _valid_utf8(pa, pa.table({name: table[name] for name in wanted}), path)


def _read_jsonl(data: bytes, path: Path, wanted: list[str], require_columns: Require) -> Any:
    pa = pyarrow("reading JSONL")
    pjson = require("pyarrow.json", "reading JSONL")
    try:
        table = pjson.read_json(pa.py_buffer(data))
    except pa.ArrowInvalid:
        # mixed types in a column (or bad JSON): read as text to name the first bad row
        return _read_jsonl_as_text(data, path, wanted, require_columns)
    require_columns(table.column_names)
    return _valid_utf8(pa, pa.table({name: table[name] for name in wanted}), path)


def _read_jsonl_as_text(data: bytes, path: Path, wanted: list[str], require_columns: Require) -> Any:
    pa = pyarrow("reading JSONL")
    values: dict[str, list[str | None]] = {name: [] for name in wanted}
    seen: set[str] = set()
    row = 0
    for line in _decode(data, path).splitlines():
        if not line.strip():
            continue
        row += 1
        obj, problem = json_object(line)
        if obj is None:
            raise _file_error(path, problem or "not a JSON object", row=row)
        seen.update(obj)
        for name in wanted:
            value = obj.get(name)
            if isinstance(value, dict | list):
                raise AccountValidationError([(name, Message(N_("expected a scalar, got {value!r}"),
                                                             value=value))], row=row)
            values[name].append(scalar_text(value))
    require_columns(seen)
    return pa.table({name: pa.array(v, pa.string()) for name, v in values.items()})


def scalar_text(value: Any) -> str | None:
    """A scalar cell as text (``None`` for null, NaN, NA, NaT; ISO dates; ``true``/``false``)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


__all__ = ["Progress", "Require", "estimated_rows", "read_table", "scalar_text"]
