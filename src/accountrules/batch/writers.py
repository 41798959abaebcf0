"""Write batch results: flat CSV (opens in a spreadsheet), JSONL (full Decisions), Parquet (flat).

Every writer takes a :class:`BatchResult` or is fed the chunks of
:func:`~accountrules.batch.iter_batches` one by one (``with CsvWriter(path) as w:
w.write(chunk)``), so a portfolio is written without being held whole. The files are
written by :mod:`accountrules.io.writers`; the columns are those of
:mod:`accountrules.io.schema`.

* CSV: UTF-8 with a byte-order mark (so Excel shows Chinese text), one row per decided
  account, the columns of :meth:`BatchResult.to_records`; ``actions`` joined with ``;``;
  blank = none. ``explain=True`` adds ``explain_en`` and ``explain_zh``.
* JSONL: one Decision as JSON per line (with its trace when the batch was decided with
  ``trace=True``).
* Parquet: the flat columns with ``actions`` as ``list<string>`` (plus explanations
  when asked).
* Errors: CSV of ``row, account_id, field, message``.

Files are written atomically (see :mod:`accountrules.io.writers`) and CSV text cells
that a spreadsheet would run as formulas get a leading ``'`` unless ``formulas=True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from accountrules.batch.errors import RowError
from accountrules.batch.result import BatchResult
from accountrules.io import schema
from accountrules.io.formats import OUTPUT
from accountrules.io.optional import pyarrow
from accountrules.io.writers import SPREADSHEET, CsvTableWriter, ParquetTableWriter, TableWriter
from accountrules.io.writers import JsonlWriter as _JsonLines
from accountrules.model.decision import Decision
from accountrules.model.explain import render_each

if TYPE_CHECKING:
    from accountrules.policy import Policy

FORMATS = OUTPUT.names
ERROR_COLUMNS = schema.ERROR_FILE_COLUMNS


def format_of(path: str | Path) -> str | None:
    """The output format ``path``'s suffix names (``None`` when it names none)."""
    return OUTPUT.of(path)


def _explanations(result: BatchResult) -> tuple[list[str], list[str]]:
    en: list[str] = []
    zh: list[str] = []
    for d in result:
        if isinstance(d, Decision):
            text_en, text_zh = render_each(d, ("en", "zh"))  # d.explain of each, sharing what is not language
            en.append(text_en)
            zh.append(text_zh)
    return en, zh


def _flat_table(result: BatchResult, explain: bool) -> Any:
    """The decided rows as one Arrow table (:meth:`BatchResult.to_arrow`, the explanations appended)."""
    pa = pyarrow("writing a flat table")
    table = result.to_arrow()
    if explain:
        for name, values in zip(schema.EXPLAIN_COLUMNS, _explanations(result), strict=True):
            table = table.append_column(name, pa.array(values, pa.string()))
    return table


def _arrow_or_none(result: BatchResult, explain: bool) -> Any:
    """:func:`_flat_table`, or None when there is no pyarrow or a cell cannot be Arrow text (a lone
    surrogate in an id given as Python text): the caller writes Python values instead."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    try:
        return _flat_table(result, explain)
    except (pa.ArrowException, UnicodeError):
        return None


class _Writer:
    """A batch writer over one table writer: ``with`` publishes the file on success and discards
    it on an exception; ``finish()`` / ``publish()`` / ``abort()`` let a caller order several."""

    rows: int
    _out: TableWriter

    def __enter__(self) -> Self:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if e is None:
            self.close()
        else:
            self.abort()

    @property
    def path(self) -> Path:
        return self._out.staged.path

    def write(self, result: BatchResult) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:
        self._out.finish()

    def publish(self) -> None:
        self._out.publish()

    def close(self) -> None:
        self._out.close()

    def abort(self) -> None:
        self._out.abort()


class CsvWriter(_Writer):
    """``formulas=False``: text cells a spreadsheet would run as formulas get a leading ``'``."""

    def __init__(self, path: str | Path, policy: Policy, *, explain: bool = False, formulas: bool = False):
        header = schema.output_columns(policy.plan) + (list(schema.EXPLAIN_COLUMNS) if explain else [])
        self._out = CsvTableWriter(path, header, SPREADSHEET, formulas=formulas)
        self._csv = self._out
        self._explain = explain
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        table = _arrow_or_none(result, self._explain)
        if table is not None:  # the text is built column by column in Arrow, byte for byte the same
            self._csv.write_arrow(table)
        else:
            values = list(result.columns().values())
            if self._explain:
                values += list(_explanations(result))
            self._csv.write_columns(values)
        self.rows = self._out.rows


class JsonlWriter(_Writer):
    def __init__(self, path: str | Path):
        self._out = self._lines = _JsonLines(path)
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        for d in result:
            if isinstance(d, Decision):
                self._lines.write_line(d.model_dump_json())
        self.rows = self._out.rows


class ParquetWriter(_Writer):
    def __init__(self, path: str | Path, policy: Policy, *, explain: bool = False):
        self._explain = explain
        names = schema.output_columns(policy.plan) + (list(schema.EXPLAIN_COLUMNS) if explain else [])
        self._out = self._pq = ParquetTableWriter(path, schema.arrow_schema(names))
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        self._pq.write_arrow(_flat_table(result, self._explain))
        self.rows = self._out.rows


class ErrorsWriter(_Writer):
    """``row, account_id, field, message`` per failed row (UTF-8 with BOM, like the decisions CSV)."""

    def __init__(self, path: str | Path, *, formulas: bool = False):
        self._out = self._csv = CsvTableWriter(path, schema.ERROR_FILE_COLUMNS, SPREADSHEET, formulas=formulas)
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        self.write_errors(result.errors)

    def write_errors(self, errors: Iterable[RowError]) -> None:
        self._csv.write_rows((e.row, e.account_id, e.field, e.message) for e in errors)
        self.rows = self._out.rows


def open_writer(path: str | Path, fmt: str, policy: Policy, *, explain: bool = False,
                formulas: bool = False) -> _Writer:
    """A writer for the chunks of one batch decided with ``policy`` (``formulas``: CSV only)."""
    OUTPUT.check(fmt)
    if fmt == "csv":
        return CsvWriter(path, policy, explain=explain, formulas=formulas)
    if fmt == "jsonl":
        return JsonlWriter(path)
    return ParquetWriter(path, policy, explain=explain)


def write_csv(result: BatchResult, path: str | Path, *, explain: bool = False) -> None:
    with CsvWriter(path, result.policy, explain=explain) as w:
        w.write(result)


def write_jsonl(result: BatchResult, path: str | Path) -> None:
    with JsonlWriter(path) as w:
        w.write(result)


def write_parquet(result: BatchResult, path: str | Path, *, explain: bool = False) -> None:
    with ParquetWriter(path, result.policy, explain=explain) as w:
        w.write(result)


def write_errors(errors: Iterable[RowError], path: str | Path) -> None:
    with ErrorsWriter(path) as w:
        w.write_errors(errors)


def write(result: BatchResult, path: str | Path, fmt: str | None = None, *, explain: bool = False) -> None:
    """Write ``result`` as CSV, JSONL or Parquet (``fmt`` or the suffix of ``path``)."""
    fmt = fmt or format_of(path)
    if fmt is None:
        raise ValueError(f"cannot tell the format of {str(path)!r}: use .csv, .jsonl or .parquet, or fmt=")
    with open_writer(path, fmt, result.policy, explain=explain) as w:
        w.write(result)


__all__ = [
    "ERROR_COLUMNS", "FORMATS", "CsvWriter", "ErrorsWriter", "JsonlWriter", "ParquetWriter", "format_of",
    "open_writer", "write", "write_csv", "write_errors", "write_jsonl", "write_parquet",
]
