"""Write batch results: flat CSV (opens in a spreadsheet), JSONL (full Decisions), Parquet (flat).

Every writer takes a :class:`BatchResult` or is fed the chunks of
:func:`~accountrules.batch.iter_batches` one by one (``with CsvWriter(path) as w:
w.write(chunk)``), so a portfolio is written without being held whole.

* CSV: UTF-8 with a byte-order mark (so Excel shows Chinese text), one row per decided
  account, the columns of :meth:`BatchResult.to_records`; ``actions`` joined with ``;``;
  blank = none. ``explain=True`` adds ``explain_en`` and ``explain_zh``.
* JSONL: one Decision as JSON per line (with its trace when the batch was decided with
  ``trace=True``).
* Parquet: the flat columns with ``actions`` as ``list<string>`` (plus explanations
  when asked).
* Errors: CSV of ``row, account_id, field, message``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from accountrules.batch.columns import output_columns
from accountrules.batch.errors import RowError
from accountrules.batch.result import BatchResult
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.model.decision import Decision

if TYPE_CHECKING:
    from accountrules.policy import Policy

FORMATS = ("csv", "jsonl", "parquet")
ERROR_COLUMNS = ("row", "account_id", "field", "message")


def format_of(path: str | Path) -> str | None:
    name = str(path).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    return None


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, tuple | list):
        return ";".join(v)
    return v


def _explanations(result: BatchResult) -> tuple[list[str], list[str]]:
    en: list[str] = []
    zh: list[str] = []
    for d in result:
        if isinstance(d, Decision):
            en.append(d.explain("en"))
            zh.append(d.explain("zh"))
    return en, zh


class _Writer:
    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def write(self, result: BatchResult) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class CsvWriter(_Writer):
    def __init__(self, path: str | Path, policy: Policy, *, explain: bool = False):
        self._f: IO[str] = Path(path).open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._f, lineterminator="\r\n")
        self._explain = explain
        self._csv.writerow(output_columns(policy.plan) + (["explain_en", "explain_zh"] if explain else []))
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        values = list(result.columns().values())
        if self._explain:
            values += list(_explanations(result))
        for row in zip(*values, strict=True):
            self._csv.writerow([_cell(v) for v in row])
        self.rows += len(values[0])

    def close(self) -> None:
        self._f.close()


class JsonlWriter(_Writer):
    def __init__(self, path: str | Path):
        self._f: IO[str] = Path(path).open("w", encoding="utf-8", newline="\n")
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        for d in result:
            if isinstance(d, Decision):
                self._f.write(d.model_dump_json() + "\n")
                self.rows += 1

    def close(self) -> None:
        self._f.close()


class ParquetWriter(_Writer):
    def __init__(self, path: str | Path, policy: Policy, *, explain: bool = False):
        import pyarrow.parquet as pq

        self._explain = explain
        empty = BatchResult([], policy=policy, stats=PortfolioStats({}, 0), as_of=dt.date.today())
        self._writer: Any = pq.ParquetWriter(str(path), self._table(empty).schema)
        self.rows = 0

    def _table(self, result: BatchResult) -> Any:
        import pyarrow as pa

        table = result.to_arrow()
        if self._explain:
            en, zh = _explanations(result)
            table = table.append_column("explain_en", pa.array(en, pa.string()))
            table = table.append_column("explain_zh", pa.array(zh, pa.string()))
        return table

    def write(self, result: BatchResult) -> None:
        table = self._table(result)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()


class ErrorsWriter(_Writer):
    """``row, account_id, field, message`` per failed row (UTF-8 with BOM, like the decisions CSV)."""

    def __init__(self, path: str | Path):
        self._f: IO[str] = Path(path).open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._f, lineterminator="\r\n")
        self._csv.writerow(ERROR_COLUMNS)
        self.rows = 0

    def write(self, result: BatchResult) -> None:
        self.write_errors(result.errors)

    def write_errors(self, errors: Iterable[RowError]) -> None:
        for e in errors:
            self._csv.writerow([e.row, _cell(e.account_id), _cell(e.field), e.message])
            self.rows += 1

    def close(self) -> None:
        self._f.close()


def open_writer(path: str | Path, fmt: str, policy: Policy, *, explain: bool = False) -> _Writer:
    """A writer for the chunks of one batch decided with ``policy``."""
    if fmt == "csv":
        return CsvWriter(path, policy, explain=explain)
    if fmt == "jsonl":
        return JsonlWriter(path)
    if fmt == "parquet":
        return ParquetWriter(path, policy, explain=explain)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


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
    w = ErrorsWriter(path)
    try:
        w.write_errors(errors)
    finally:
        w.close()


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
