"""The order log of a backtest: read once, every row checked, bad rows counted by reason.

:func:`accountrules.features.derive_features` stops at the first bad row, which suits a nightly
feature run. A backtest instead reports what it left out: a row with no id, a date that does not
parse, an amount that is not a number or is negative is excluded with its reason, and so is every
account that has such a row (its history is not trustworthy, so its features and its outcome would
both be wrong). An order after a declared end of the log is excluded too, but its account stays:
the log is cut there, as an observation window is (the accounts still ordering after the cut are the
active ones; dropping them would inflate the churn the backtest measures). Nothing is dropped
without being counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from accountrules.errors import AccountRulesError
from accountrules.features import ColumnMap, InputFormat
from accountrules.features.orders import Arrow, arrow, load_orders
from accountrules.i18n import N_, Message
from accountrules.io.tables import Progress

__all__ = [
    "ACCOUNT_REASONS",
    "ROW_REASONS",
    "BacktestInputError",
    "OrderLog",
    "check_dates",
    "read_log",
]

# why a row is excluded, in the order they are tested (a row counts once, under the first)
ROW_REASONS: Final = ("missing_id", "bad_date", "bad_amount", "negative_amount", "after_log_end")
# why an account is not in the backtest
ACCOUNT_REASONS: Final = ("bad_rows", "first_order_after_as_of")

_NUMBER: Final = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


class BacktestInputError(AccountRulesError, ValueError):
    """The log or the dates cannot give a backtest (T outside the log, a horizon past its end,
    no account left). One line; the CLI exits 2, in its language when the message is a
    :class:`~accountrules.i18n.Message`."""


@dataclass(frozen=True)
class OrderLog:
    """Clean orders (``columns`` names them; ids are text, dates ``date32``, amounts float) of the
    accounts whose every row passed, plus what was excluded."""

    table: Any
    columns: ColumnMap
    rows_read: int
    accounts_read: int
    start: date
    end: date
    end_declared: bool
    excluded_rows: dict[str, int]
    excluded_accounts: int
    first_bad_rows: dict[str, int]  # reason -> 1-based data row of its first occurrence

    @property
    def ids(self) -> Any:
        return self.table[self.columns.account_id]

    @property
    def dates(self) -> Any:
        return self.table[self.columns.date]

    @property
    def amounts(self) -> Any:
        return self.table[self.columns.amount]


def read_log(
    orders: str | os.PathLike[str] | Any,
    columns: ColumnMap | None = None,
    *,
    format: InputFormat | None = None,
    log_end: date | None = None,
    progress: Progress | None = None,
) -> OrderLog:
    """Read ``orders`` (a path, a pyarrow Table or a pandas DataFrame) and check every row.

    ``log_end``: the last day the log is complete to; orders after it are cut off (counted as
    ``after_log_end``; a typo'd year, a feed from the future, or the part of a log a backtest
    should not see) and their accounts kept with their orders up to it. Without it the log ends
    on its last valid order.
    """
    cols = columns if columns is not None else ColumnMap()
    ar = arrow()
    pa, pc = ar.pa, ar.pc
    raw = load_orders(ar, orders, cols, format, progress)
    n = raw.num_rows
    ids = _ids(ar, raw[cols.account_id])
    dates = _dates(ar, raw[cols.date], cols.date_format)
    amounts = _amounts(ar, raw[cols.amount])
    reason = pa.array([None] * n, pa.string()) if n else pa.array([], pa.string())
    tests = [
        ("missing_id", pc.is_null(ids)),
        ("bad_date", pc.is_null(dates)),
        ("bad_amount", pc.is_null(amounts)),
        ("negative_amount", pc.fill_null(pc.less(amounts, 0.0), False)),
    ]
    valid_dates = pc.drop_null(dates)
    if log_end is None:
        if len(valid_dates) == 0:
            raise BacktestInputError(_no_valid_date(ar, raw[cols.date], cols.date_format))
        end = pc.max(valid_dates).as_py()
        declared = False
    else:
        end, declared = log_end, True
        tests.append(("after_log_end", pc.fill_null(pc.greater(dates, pa.scalar(end, pa.date32())), False)))
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for name, mask in tests:
        fresh = pc.and_(pc.fill_null(mask, False), pc.is_null(reason))
        hits = pc.sum(fresh.cast(pa.int64())).as_py() or 0
        counts[name] = hits
        if hits:
            first[name] = pc.index(fresh, True).as_py() + 1
            reason = pc.if_else(fresh, pa.scalar(name), reason)
    bad_row = pc.is_valid(reason)
    # a row past the declared end is cut off, not a flaw in its account's history
    broken = pc.fill_null(pc.and_(bad_row, pc.not_equal(reason, "after_log_end")), False)
    bad_ids = pc.unique(pc.drop_null(pc.filter(ids, broken)))
    keep = pc.and_(pc.invert(bad_row), pc.invert(pc.is_in(ids, value_set=bad_ids)))
    clean_cols = {name: raw[name] for name in raw.column_names}
    clean_cols[cols.account_id] = ids
    clean_cols[cols.date] = dates
    clean_cols[cols.amount] = amounts
    table = pa.table(clean_cols).filter(keep)
    accounts_read = len(pc.unique(pc.drop_null(ids)))
    if table.num_rows == 0:
        why = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        raise BacktestInputError(Message(N_("no usable order left: {rows} rows read, {why}"), rows=n, why=why)
                                 if n else Message(N_("the order log is empty")))
    start = pc.min(table[cols.date]).as_py()
    return OrderLog(table=table, columns=cols, rows_read=n, accounts_read=accounts_read, start=start, end=end,
                    end_declared=declared, excluded_rows={k: v for k, v in counts.items() if v},
                    excluded_accounts=len(bad_ids), first_bad_rows=first)


def check_dates(log: OrderLog, as_of: date, horizon_days: int, *, clip: bool = False) -> int:
    """The horizon in days, checked: T inside the log and T + horizon no later than its end, or
    :class:`BacktestInputError`. With ``clip``, a horizon that runs past the log's end is cut there
    (the result shows the days actually observed) instead of refused."""
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise BacktestInputError(f"the horizon must be a positive number of days, got {horizon_days!r}")
    if as_of < log.start:
        raise BacktestInputError(f"as_of {as_of} is before the log's first order ({log.start})")
    if as_of >= log.end:
        raise BacktestInputError(f"as_of {as_of} is not before the log's end ({log.end}): nothing to observe after it")
    stop = as_of + timedelta(days=horizon_days)
    if stop > log.end and clip:
        return (log.end - as_of).days
    if stop > log.end:
        raise BacktestInputError(
            f"as_of {as_of} + horizon {horizon_days} days = {stop} is after the log's end ({log.end}): "
            "the outcome would count silence we did not observe as churn (cut it there with clip=True / "
            "--clip-horizon)")
    return horizon_days


# --------------------------------------------------------------------------------------------
# per-row parsing: a value that does not parse becomes null (counted), it does not stop the read


def _text(ar: Arrow, arr: Any) -> Any:
    pa, pc = ar.pa, ar.pc
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _no_valid_date(ar: Arrow, arr: Any, fmt: str | None) -> Message:
    """Why no date was read: with the first value and the format tried, since the usual cause is a
    log whose dates are written otherwise (CDNOW's 19970101 read as ISO) rather than a log of bad rows."""
    given = ar.pc.drop_null(_text(ar, arr)) if not ar.pa.types.is_date(arr.type) else []
    if len(given) == 0:
        return Message(N_("the order log has no row with a valid date"))
    return Message(N_("no date of the order log reads with the format {format!r} (the first is {value!r}): "
                      "name the dates' format, e.g. --date-format %Y%m%d (date_format='%Y%m%d')"),
                   format=fmt if fmt is not None else "%Y-%m-%d", value=given[0].as_py())


def _ids(ar: Arrow, arr: Any) -> Any:
    pa = ar.pa
    if pa.types.is_floating(arr.type):
        raise BacktestInputError(Message(N_("account ids must be text or integers, not floating-point numbers")))
    return _text(ar, arr)


def _dates(ar: Arrow, arr: Any, fmt: str | None) -> Any:
    pa, pc = ar.pa, ar.pc
    t = arr.type
    if pa.types.is_date(t) or pa.types.is_null(t):
        return arr.cast(pa.date32())
    if pa.types.is_timestamp(t):
        return (pc.local_timestamp(arr) if t.tz is not None else arr).cast(pa.date32())
    if pa.types.is_integer(t) and fmt is None:
        raise BacktestInputError(Message(N_("integer dates need a date format, e.g. date_format='%Y%m%d'")))
    text = _text(ar, arr)
    form = fmt if fmt is not None else "%Y-%m-%d"
    stamps = pc.strptime(text, format=form, unit="s", error_is_null=True)
    # Arrow's strptime rolls impossible days over (02-30 -> 03-02); a parsed date that does not
    # format back to its text is checked again by Python (which refuses it, or accepts an
    # unpadded spelling of a real date)
    back = pc.strftime(stamps, format=form)
    odd = pc.indices_nonzero(pc.fill_null(pc.not_equal(back, text), False)).to_pylist()
    if odd:
        mask = [False] * len(text)
        for i in odd:
            try:
                datetime.strptime(text[i].as_py(), form)
            except ValueError:
                mask[i] = True
        stamps = pc.if_else(pa.array(mask), pa.scalar(None, stamps.type), stamps)
    return stamps.cast(pa.date32())


def _amounts(ar: Arrow, arr: Any) -> Any:
    pa, pc = ar.pa, ar.pc
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        numbers = arr.cast(pa.float64())
    else:
        text = _text(ar, arr)
        ok = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
        numbers = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.float64())
    return pc.if_else(pc.fill_null(pc.is_finite(numbers), False), numbers, pa.scalar(None, pa.float64()))
