"""Write flat tables: CSV, JSONL, Parquet, one chunk at a time.

The writers know nothing of decisions: they take a header and columns (or Arrow
tables, or JSON lines), so batch results and derived features go through the same
code. Each can be fed chunk after chunk (``with CsvTableWriter(...) as w: w.write_columns(...)``)
and so writes a table of any length in bounded memory.

* CSV: :data:`SPREADSHEET` (UTF-8 with a byte-order mark so Excel shows Chinese text,
  CRLF) or :data:`PLAIN` (UTF-8, LF); cells as :func:`~accountrules.io.schema.csv_cell`.
* JSONL: one JSON text a line.
* Parquet: needs pyarrow (:class:`~accountrules.errors.MissingDependencyError` without it).

Every file is written atomically (:class:`StagedFile`): under a temporary name in its
own folder, fsynced, then renamed; a failure or an interruption never leaves a partial
file under the final name. CSV cells that a spreadsheet would run as formulas are
neutralised unless ``formulas=True`` (:func:`neutralise`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self

from accountrules.errors import AccountRulesError
from accountrules.i18n import N_, Message
from accountrules.io.csv_text import csv_text
from accountrules.io.optional import require
from accountrules.io.schema import csv_cell

PART_SUFFIX: Final = ".part"
"""A file still being written is ``.<name>.<random>.part`` in the folder of ``<name>``."""
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by spreadsheets (OWASP CSV injection)."""


class OutputPathError(AccountRulesError):
    """An output path that cannot be written (a folder, under a file, an input of the run...)."""


@dataclass(frozen=True, slots=True)
class CsvStyle:
    encoding: str
    line_end: str


SPREADSHEET: Final = CsvStyle("utf-8-sig", "\r\n")
PLAIN: Final = CsvStyle("utf-8", "\n")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b) or a.resolve() == b.resolve()
    except OSError:
        return False


def check_output(path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """``path`` if a file can be written there, else :class:`OutputPathError` saying why.

    Refused: an existing folder, a path under a file, a path naming one of ``inputs``
    (after resolving links: writing there would destroy what is being read). Checked
    before any work, so a run does not fail at its end for a path it could have refused.
    """
    out = Path(path)
    if is_stdout(path):
        return out
    if out.is_dir():
        raise OutputPathError(Message(N_("{out!r} is a folder: name a file"), out=str(out)))
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(Message(N_("cannot write {out!r}: {parent!r} is a file, not a folder"),
                                              out=str(out), parent=str(parent)))
            StagedFile(parent / out.name).discard()  # a folder no file can be created in (/proc, read-only)
            break
    for given in inputs:
        if _same_file(out, Path(given)):
            raise OutputPathError(Message(N_("{out!r} is an input of this run: writing it would destroy it"),
                                          out=str(out)))
    return out


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without directory handles (Windows): the rename is what we have
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder (EINVAL): the data itself is synced
        pass
    finally:
        os.close(fd)


def _create(folder: Path, name: str) -> Path:
    """A new empty ``.<name>.<random>.part`` in ``folder``. Not ``tempfile.mkstemp``: its files are
    0600, and the published output must get the permissions the umask gives any new file."""
    for _ in range(100):
        temp = folder / f".{name}.{secrets.token_hex(4)}{PART_SUFFIX}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return temp
    raise FileExistsError(f"no free temporary name for {name!r} in {str(folder)!r}")


class StagedFile:
    """A file written under a temporary name in its own folder and renamed to ``path`` by
    :meth:`publish`, so ``path`` is either absent, the previous file, or complete.

    :meth:`finish` flushes and fsyncs the data; :meth:`publish` renames and fsyncs the
    folder; :meth:`discard` removes the temporary file. A run killed before ``publish``
    leaves only ``.<name>.<random>.part``, which nothing can mistake for the output.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.temp = _create(folder, self.path.name)
        except OSError as e:
            raise OutputPathError(Message(N_("cannot write {path!r}: cannot create a file in {folder!r} ({e})"),
                                          path=str(self.path), folder=str(folder), e=e.strerror or e)) from None
        self.done = False

    def open_text(self, encoding: str, errors: str, newline: str) -> IO[str]:
        return self.temp.open("w", encoding=encoding, errors=errors, newline=newline)

    def sink(self) -> str:
        """What a binary writer (Parquet) opens."""
        return str(self.temp)

    def finish(self) -> None:
        """Put the written bytes on disk (the file must be closed by its writer first)."""
        with self.temp.open("rb+") as f:
            os.fsync(f.fileno())

    def publish(self) -> None:
        os.replace(self.temp, self.path)
        _fsync_dir(self.path.parent)
        self.done = True

    def discard(self) -> None:
        if not self.done:
            self.temp.unlink(missing_ok=True)
            self.done = True


def write_text_file(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """``text`` written to ``path`` as a :class:`StagedFile`: an HTML page is published whole or not at all,
    and an earlier file of that name stays as it was if writing fails."""
    staged = StagedFile(path)
    try:
        with staged.open_text(encoding, "strict", "") as f:
            f.write(text)
        staged.finish()
        staged.publish()
    finally:
        staged.discard()


STDOUT: Final = "-"
"""The output path that means standard output (as in most command-line tools)."""


def is_stdout(path: str | Path) -> bool:
    """``-`` (or ``/dev/stdout``): the data goes to standard output, not to a file."""
    return str(path) in (STDOUT, "/dev/stdout")


class StdoutFile:
    """Standard output in the place of a :class:`StagedFile`: written as it comes (a pipe cannot be
    renamed into place), flushed by :meth:`finish`, never closed. Text has no byte-order mark:
    the reader is a program."""

    path = Path(STDOUT)
    done = False

    def open_text(self, encoding: str, errors: str, newline: str) -> IO[str]:
        text = "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding
        return _Unclosed(sys.stdout.buffer, encoding=text, errors=errors, newline=newline)

    def sink(self) -> Any:
        return sys.stdout.buffer

    def finish(self) -> None:
        sys.stdout.buffer.flush()

    def publish(self) -> None:
        self.done = True

    def discard(self) -> None:
        self.done = True


class _Unclosed(io.TextIOWrapper):
    """A text layer over stdout's bytes that flushes but leaves stdout open when closed."""

    _released = False

    def close(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            self.flush()
        finally:
            try:
                self.detach()
            except (OSError, ValueError):
                pass  # the reader went away (a broken pipe): the caller already has that error


def staged(path: str | Path) -> StagedFile | StdoutFile:
    """Where a writer writes ``path``: standard output for ``-``, else a :class:`StagedFile`."""
    return StdoutFile() if is_stdout(path) else StagedFile(path)


class TableWriter:
    """Base of the writers: a context manager counting the rows written, writing to a
    :class:`StagedFile`. Leaving the ``with`` block normally publishes the file; leaving it
    with an exception discards it. ``finish()`` then ``publish()`` publish several files in
    an order the caller chooses."""

    rows: int = 0
    staged: StagedFile | StdoutFile

    def __enter__(self) -> Self:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if e is None:
            self.close()
        else:
            self.abort()

    def _close_file(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> None:
        """Close and fsync the temporary file (not yet under its name)."""
        if not self.staged.done:
            self._close_file()
            self.staged.finish()

    def publish(self) -> None:
        self.staged.publish()

    def close(self) -> None:
        """Finish and publish."""
        if not self.staged.done:
            self.finish()
            self.publish()

    def abort(self) -> None:
        """Drop what was written; a file already under ``path`` is left as it was."""
        try:
            self._close_file()
        finally:
            self.staged.discard()


def neutralise(cell: Any) -> Any:
    """OWASP's rule against CSV injection: a text cell a spreadsheet would take for a formula gets
    a leading single quote (``=1+2`` -> ``'=1+2``); anything else is left as it is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell


class CsvTableWriter(TableWriter):
    """A header, then rows of cells. ``formulas=False`` (the default) neutralises text cells a
    spreadsheet would run as formulas (:func:`neutralise`); ``True`` writes every cell as it is."""

    def __init__(self, path: str | Path, header: Sequence[str], style: CsvStyle = SPREADSHEET, *,
                 formulas: bool = False):
        self.staged = staged(path)
        # a lone surrogate cannot be UTF-8: written as \udXXX rather than failing the whole file
        self._f: IO[str] = self.staged.open_text(style.encoding, "backslashreplace", "")
        self._csv = csv.writer(self._f, lineterminator=style.line_end)
        # the csv module quotes a cell holding a line break only if the break is in the line
        # terminator: with LF lines a bare CR would be written as is and split the row on reading
        self._bare_cr = "\r" not in style.line_end
        self._quoted = csv.writer(self._f, lineterminator=style.line_end, quoting=csv.QUOTE_ALL)
        self._formulas = formulas
        self._line_end = style.line_end
        self._csv.writerow([neutralise(h) for h in header] if not formulas else header)
        self.rows = 0

    def write_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        cell = csv_cell
        plain = self._csv.writerow
        quoted = self._quoted.writerow if self._bare_cr else None
        safe = not self._formulas
        triggers = FORMULA_TRIGGERS
        n = 0
        for row in rows:
            cells = [cell(v) for v in row]
            if safe:
                cells = ["'" + c if c.__class__ is str and c.startswith(triggers) else c for c in cells]
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
        """A pyarrow Table or RecordBatch whose columns are in header order: its text built column by
        column in Arrow (:mod:`accountrules.io.csv_text`), the same bytes as row by row."""
        text = csv_text(table, self._line_end, formulas=self._formulas)
        if text is None:
            self.write_columns([col.to_pylist() for col in table.columns])
            return
        self._f.write(text)
        self.rows += table.num_rows

    def _close_file(self) -> None:
        self._f.close()


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JsonlWriter(TableWriter):
    """One JSON text a line (UTF-8, LF)."""

    def __init__(self, path: str | Path):
        self.staged = staged(path)
        self._f: IO[str] = self.staged.open_text("utf-8", "backslashreplace", "\n")
        self.rows = 0

    def write_line(self, text: str) -> None:
        """``text``: one JSON value already serialised, without a line break."""
        self._f.write(text + "\n")
        self.rows += 1

    def write_object(self, obj: Any) -> None:
        """``obj`` as JSON (non-ASCII kept, dates as ISO text)."""
        self.write_line(json.dumps(obj, ensure_ascii=False, default=_json_default))

    def _close_file(self) -> None:
        self._f.close()


class ParquetTableWriter(TableWriter):
    """Arrow tables of one schema appended as row groups."""

    def __init__(self, path: str | Path, schema: Any):
        pq = require("pyarrow.parquet", "writing Parquet")
        self.staged = staged(path)
        try:
            self._writer: Any = pq.ParquetWriter(self.staged.sink(), schema)
        except BaseException:
            self.staged.discard()
            raise
        self.rows = 0

    def write_arrow(self, table: Any) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def _close_file(self) -> None:
        self._writer.close()


def write_parquet_table(table: Any, path: str | Path) -> None:
    """One pyarrow Table as a Parquet file."""
    with ParquetTableWriter(path, table.schema) as w:
        w.write_arrow(table)


__all__ = [
    "FORMULA_TRIGGERS", "PART_SUFFIX", "PLAIN", "SPREADSHEET", "CsvStyle", "CsvTableWriter", "JsonlWriter",
    "STDOUT", "OutputPathError", "ParquetTableWriter", "StagedFile", "StdoutFile", "TableWriter", "check_output",
    "is_stdout", "neutralise", "staged", "write_parquet_table", "write_text_file",
]
