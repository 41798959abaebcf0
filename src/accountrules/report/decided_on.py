"""The day a decisions file was decided as of: its ``as_of`` column (see :data:`accountrules.io.schema.AS_OF`).

A report counts every action's due date from the decision date, so a page drawn from a decisions file
takes that date from the file rather than from the day the report is made. The rules, as
``docs/report.md`` states them:

* every row holds one date: that is the decision date;
* rows of different dates, or some rows without one, are refused (:class:`DecisionDateError`, naming
  two rows): a page of one "Decided on" day cannot be right for both, and the due dates of one
  part would be counted from the wrong day;
* a date given by the caller (``as_of``, ``report --as-of``) must be the file's date: a different one
  is refused, naming both;
* a file without the column (written before decisions carried their date, or made by hand), or whose
  column is blank throughout, says nothing: the date given is used, else today.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from accountrules.i18n import N_, Message
from accountrules.io.optional import pyarrow
from accountrules.io.schema import AS_OF
from accountrules.io.text import TableInputError
from accountrules.model.account import ISO_DAY

__all__ = ["DecisionDateError", "decided_on"]


class DecisionDateError(TableInputError):
    """A decisions file whose ``as_of`` column cannot give the report its one decision date (not dates,
    several dates, blanks beside dates), or whose date differs from the one the caller gave."""


def decided_on(table: Any, path: str | Path, given: dt.date | None) -> dt.date | None:
    """The decision date of a decisions file read as ``table``: its ``as_of`` column's one date, else
    ``given`` (``None``: neither says; the caller picks today). See the module for the rules."""
    if AS_OF not in table.column_names:
        return given
    import pyarrow.compute as pc

    days = _dates(table, path)
    known = pc.unique(days.drop_null())
    if len(known) == 0:
        return given
    first_at = pc.indices_nonzero(days.is_valid())[0].as_py()
    day: dt.date = days[first_at].as_py()
    if len(known) > 1 or days.null_count:
        other_at = pc.indices_nonzero(pc.fill_null(pc.not_equal(days, _day(day)), True))[0].as_py()
        other = days[other_at].as_py()
        rows = {"row": _row(table, other_at), "first_row": _row(table, first_at), "first": day.isoformat()}
        if other is None:
            raise DecisionDateError(Message(N_("row {row} has no as_of date, and row {first_row} was decided as of "
                                               "{first}: a report is of one decision date; give every row its date"),
                                            **rows), source=str(path))
        raise DecisionDateError(Message(N_("it holds decisions of more than one date (row {first_row} as of {first}, "
                                           "row {row} as of {other}): a report is of one decision date; report "
                                           "each date's decisions on its own"), other=other.isoformat(), **rows),
                                source=str(path))
    if given is not None and given != day:
        raise DecisionDateError(Message(N_("its decisions were made as of {decided} (its as_of column), not {given}: "
                                           "leave out the decision date (--as-of) or give {decided}"),
                                        decided=day.isoformat(), given=given.isoformat()), source=str(path))
    return day


def _day(day: dt.date) -> Any:
    pa = pyarrow("the report")
    return pa.scalar(day, pa.date32())


def _row(table: Any, at: int) -> Any:
    """How a row is named: its ``row`` (the input row ``decide`` wrote), else its place in the file."""
    if "row" in table.column_names:
        value = table.column("row")[at].as_py()
        if value is not None:
            return value
    return at + 1


def _dates(table: Any, path: str | Path) -> Any:
    """The ``as_of`` column as one ``date32`` array. A CSV column of ISO dates is read as dates already;
    text is a column where some cell is not one (refused, naming its row), or a date written otherwise."""
    pa = pyarrow("the report")
    import pyarrow.compute as pc

    col = table.column(AS_OF).combine_chunks()
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_date32(t) or pa.types.is_null(t):
        return col.cast(pa.date32())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = pc.utf8_trim_whitespace(col.cast(pa.string()))
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        values = pc.unique(text.drop_null())
        parsed = [_parse(v, text, table, path) for v in values.to_pylist()]
        return pa.array(parsed, pa.date32()).take(pc.index_in(text, value_set=values))
    if pa.types.is_date64(t) or pa.types.is_timestamp(t):
        try:  # a Parquet file written by a tool with no date type (pandas' datetime64): each value's day
            return col.cast(pa.date32())
        except pa.ArrowInvalid:
            pass
    raise DecisionDateError(Message(N_("its as_of column holds {kind}, not dates (YYYY-MM-DD)"), kind=str(t)),
                            source=str(path))


def _parse(value: str, text: Any, table: Any, path: str | Path) -> dt.date:
    if ISO_DAY.fullmatch(value):  # what the model and --as-of read as a date: not 20260630, not a week date
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    import pyarrow.compute as pc

    at = pc.indices_nonzero(pc.fill_null(pc.equal(text, value), False))[0].as_py()
    raise DecisionDateError(Message(N_("row {row}: as_of {value!r} is not a date (YYYY-MM-DD)"),
                                    row=_row(table, at), value=value), source=str(path))
