"""Derive account fields (``transactions.*``, ``credit.*``) from a raw order log.

Why pyarrow: one dependency (the ``arrow`` extra) gives CSV/JSONL/Parquet I/O and vectorised
group-by kernels (``pyarrow.compute``); pandas is not needed, only accepted as an input.

Input
-----
One row is one order line. What counts as one *purchase* is ``occasion``: ``"day"`` (the
default) merges an account's rows of one calendar day into one purchase occasion, as RFM and
BTYD practice count frequency (a customer who buys twice on a day made one trip, and CDNOW-style
logs split one basket over several rows); ``"order"`` counts every row. ``count``,
``frequency``, ``avg_order_value`` and ``max_order_value`` follow the choice (a day's purchase is
the sum of its rows); the sums (revenue, profit), returns, overdue payments and units do not
depend on it. ``orders`` is a path, a
``pyarrow.Table`` or a pandas ``DataFrame``. A path's format comes from its suffix (a trailing
``.gz``/``.bz2``/``.zst``/``.lz4`` is looked through) unless ``format=`` names it:
``.csv`` -> ``"csv"``; ``.txt``/``.dat`` -> ``"whitespace"`` (header row, fields split on runs
of blanks, like CDNOW); ``.parquet``/``.pq`` -> ``"parquet"``; ``.jsonl``/``.ndjson``/``.json``
-> ``"jsonl"`` (one object a line). Columns are named by a :class:`ColumnMap`; text files are read
as text, so zero-padded ids stay text. Dates are ``date``/timestamp values, integers or text in
``ColumnMap.date_format``, or ISO ``YYYY-MM-DD`` text when no format is given. Bad input (a
missing mapped column, a missing id/date/amount, an unparseable date or number) raises
:class:`~accountrules.errors.AccountValidationError` naming the column and the first bad row
(1-based data row: the header and blank lines are not counted).

Windows and rules
-----------------
Orders dated after ``as_of`` are ignored (they are still validated). Intervals are open at the
start and closed at the end, ``W = window_days``:

* window: ``(as_of - W, as_of]``; previous window: ``(as_of - 2W, as_of - W]``;
  last 365 days: ``(as_of - 365, as_of]``.
* Accounts: every account with at least one order on or before ``as_of``; an account whose
  orders are all after ``as_of`` is not in the output. The log is taken to hold each
  account's whole history (first order = start of the relationship).

Derived fields (money in the input's currency; floats rounded to 6 decimals):

* ``transactions.window_days`` -- ``W``.
* ``transactions.count`` -- purchases (occasions or rows, see ``occasion``) in the window (0 if none).
* ``transactions.frequency`` -- purchases per 30 days in the window: ``count * 30 / W``.
* ``transactions.first_order_date`` / ``last_order_date`` -- over all orders up to ``as_of``.
* ``transactions.tenure_days`` -- ``as_of - first_order_date``; ``recency_days`` --
  ``as_of - last_order_date`` (days).
* ``transactions.avg_order_value`` / ``max_order_value`` -- mean / largest purchase amount in the
  window (a day's total with ``occasion="day"``); None if no order in the window.
* ``transactions.revenue`` -- sum of amounts in the window (0.0 if none). Amounts are taken
  as given: returns are reported separately, not netted off.
* ``transactions.revenue_previous`` -- sum in the previous window, known only if the account
  existed for the whole previous window, i.e. ``first_order_date <= as_of - 2W``: then it is
  the sum (0.0 if it bought nothing then); otherwise None (a partial window would make growth
  meaningless).
* ``transactions.annual_revenue`` -- sum over the last 365 days (0.0 if none).
* ``transactions.annual_profit`` -- ``sum(amount - cost)`` over the last 365 days; None without
  a cost column, or if an order of those 365 days has no cost.
* ``transactions.growth_rate`` -- ``revenue / revenue_previous - 1``; None when
  ``revenue_previous`` is None or 0.
* ``transactions.profit_margin`` -- ``annual_profit / annual_revenue``; None when either is None
  or ``annual_revenue`` is 0.
* ``transactions.returns_count`` / ``returns_amount`` -- with a ``returned`` column, over the
  window. A boolean column (or text true/false/yes/no/y/n/t/f) flags returned orders: count
  them, sum their amounts. A numeric column is the returned amount: count orders with a
  positive one, sum it. A missing value means not returned. None without the column.
* ``credit.overdue_payments`` -- with ``payment_due`` and ``payment_paid`` columns: orders in the
  window paid after their due date, or unpaid with a due date before ``as_of``. A payment
  dated after ``as_of`` counts as unpaid (it was not known then); an order without a due date
  is never overdue. None without both columns.
* ``credit.avg_collection_days`` -- with ``payment_paid``: mean of ``paid - order date`` over
  orders in the window paid by ``as_of`` (prepayment counts as 0 days); None if there are none.
* ``extra.units`` -- only when a ``quantity`` column is mapped: sum of quantities in the window
  (None if an order in the window has no quantity). Read it in a policy after declaring
  ``fields: {units: number}``.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from accountrules.features.orders import Arrow, ColumnMap, InputFormat, arrow, load_orders, normalise
from accountrules.io.recorded_day import AS_OF_KEY
from accountrules.io.tables import Progress

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    import pyarrow  # type: ignore[import-untyped, import-not-found, unused-ignore]

__all__ = [
    "ColumnMap",
    "feature_windows",
    "InputFormat",
    "Occasion",
    "Orders",
    "accounts_from_table",
    "derive_accounts",
    "derive_features",
]

Occasion: TypeAlias = Literal["day", "order"]
OCCASIONS: Final[tuple[Occasion, ...]] = ("day", "order")

log = logging.getLogger(__name__)

Orders: TypeAlias = "str | os.PathLike[str] | pyarrow.Table | pandas.DataFrame"

_DIGITS: Final = 6  # derived floats are rounded to this many decimals
_YEAR_DAYS: Final = 365


# --------------------------------------------------------------------------------------------
# public API


def feature_windows(as_of: date, window_days: int, occasion: str) -> tuple[date, date, date]:
    """The arguments of a feature derivation checked, and the first days (exclusive) of its windows:
    the current window, the previous one of the same length, and the trailing year."""
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days must be a positive integer, got {window_days!r}")
    if occasion not in OCCASIONS:
        raise ValueError(f"occasion must be 'day' or 'order', got {occasion!r}")
    try:
        return (as_of - timedelta(days=window_days), as_of - timedelta(days=2 * window_days),
                as_of - timedelta(days=_YEAR_DAYS))
    except OverflowError:
        raise ValueError(f"window_days={window_days} reaches before year 1") from None


def derive_features(
    orders: Orders,
    *,
    as_of: date,
    window_days: int = 365,
    columns: ColumnMap | None = None,
    format: InputFormat | None = None,
    occasion: Occasion = "day",
    progress: Progress | None = None,
) -> pyarrow.Table:
    """One row per account, sorted by id: ``id`` plus dotted field columns.

    ``progress(phase, done, total)``, if given, is told of the phases: ``"reading"`` (rows of a
    file read, see :func:`accountrules.io.tables.read_table`), then ``"grouping"`` (order rows
    grouped by account: 0 before, all after; it is one vectorised pass).

    ``occasion``: what one purchase is - ``"day"`` (default; an account's rows of one day are one
    purchase, as RFM/BTYD count frequency) or ``"order"`` (every row).

    The fields, windows and rules (e.g. when ``revenue_previous`` is known) are documented in
    the module docstring of :mod:`accountrules.features.derive`.

    The table's schema metadata records ``accountrules.as_of`` (``decide_many`` given no ``as_of`` decides
    as of it), ``accountrules.window_days``,
    ``accountrules.orders`` (rows read) and ``accountrules.orders_after_as_of`` (rows ignored).
    """
    win_start, prev_start, year_start = feature_windows(as_of, window_days, occasion)
    cols = columns if columns is not None else ColumnMap()
    ar = arrow()
    raw = load_orders(ar, orders, cols, format, progress)
    table = normalise(ar, raw, cols)
    n_read = table.num_rows
    if progress is not None:
        progress("grouping", 0, n_read)
    pa, pc = ar.pa, ar.pc
    table = table.filter(pc.less_equal(table["date"], pa.scalar(as_of, pa.date32())))
    n_late = n_read - table.num_rows
    log.debug("order log: %d rows, %d after as_of %s ignored", n_read, n_late, as_of)
    out = _aggregate(ar, table, cols, as_of, window_days, win_start, prev_start, year_start, occasion)
    if progress is not None:
        progress("grouping", n_read, n_read)
    meta = {
        AS_OF_KEY: as_of.isoformat(),  # a batch given no as_of decides as of this day
        "accountrules.window_days": str(window_days),
        "accountrules.occasion": occasion,
        "accountrules.orders": str(n_read),
        "accountrules.orders_after_as_of": str(n_late),
    }
    return out.replace_schema_metadata(meta)


def derive_accounts(
    orders: Orders,
    *,
    as_of: date,
    window_days: int = 365,
    columns: ColumnMap | None = None,
    format: InputFormat | None = None,
    occasion: Occasion = "day",
) -> list[dict[str, Any]]:
    """Like :func:`derive_features`, as nested dicts ``Account.model_validate`` accepts."""
    table = derive_features(orders, as_of=as_of, window_days=window_days, columns=columns, format=format,
                            occasion=occasion)
    return accounts_from_table(table)


def accounts_from_table(table: pyarrow.Table) -> list[dict[str, Any]]:
    """Nest a :func:`derive_features` table: ``transactions.count`` -> ``{"transactions": {"count"}}``."""
    accounts: list[dict[str, Any]] = []
    for row in table.to_pylist():
        account: dict[str, Any] = {}
        for key, value in row.items():
            group, dot, field = key.partition(".")
            if dot:
                account.setdefault(group, {})[field] = value
            else:
                account[key] = value
        accounts.append(account)
    return accounts


# --------------------------------------------------------------------------------------------
# aggregation


def _aggregate(
    ar: Arrow,
    t: Any,
    cols: ColumnMap,
    as_of: date,
    window_days: int,
    win_start: date,
    prev_start: date,
    year_start: date,
    occasion: Occasion,
) -> Any:
    pa, pc = ar.pa, ar.pc
    d32 = pa.date32()
    day = t["date"]
    in_win = pc.greater(day, pa.scalar(win_start, d32))
    in_prev = pc.and_(pc.greater(day, pa.scalar(prev_start, d32)), pc.invert(in_win))
    in_year = pc.greater(day, pa.scalar(year_start, d32))
    amount = t["amount"]

    def only(cond: Any, values: Any) -> Any:
        return pc.if_else(cond, values, pa.scalar(None, values.type))

    def as_int(cond: Any) -> Any:
        return pc.fill_null(cond, False).cast(pa.int64())

    work: dict[str, Any] = {
        "id": t["id"],
        "date": day,
        "w_amount": only(in_win, amount),
        "p_amount": only(in_prev, amount),
        "y_amount": only(in_year, amount),
    }
    total = pc.ScalarAggregateOptions(min_count=0)  # sum of nothing = 0
    valid = pc.CountOptions(mode="only_valid")
    aggs: list[tuple[Any, ...]] = [
        ("date", "min"),
        ("date", "max"),
        ("w_amount", "count", valid),
        ("w_amount", "sum", total),
        ("w_amount", "mean"),
        ("w_amount", "max"),
        ("p_amount", "sum", total),
        ("y_amount", "sum", total),
    ]
    if cols.cost is not None:
        work["y_profit"] = only(in_year, pc.subtract(amount, t["cost"]))
        work["y_nocost"] = as_int(pc.and_(in_year, pc.is_null(t["cost"])))
        aggs += [("y_profit", "sum", total), ("y_nocost", "sum")]
    if cols.returned is not None:
        work["w_ret"] = as_int(pc.and_(in_win, t["ret_flag"]))
        work["w_ret_amount"] = only(in_win, t["ret_amount"])
        aggs += [("w_ret", "sum"), ("w_ret_amount", "sum", total)]
    if cols.payment_paid is not None:
        # a payment after as_of was not known at as_of
        paid = only(pc.less_equal(t["paid"], pa.scalar(as_of, d32)), t["paid"])
        days = pc.max_element_wise(pc.days_between(day, paid), 0, skip_nulls=False)
        days = days.cast(pa.float64())
        work["w_collect"] = only(in_win, days)
        aggs.append(("w_collect", "mean"))
        if cols.payment_due is not None:
            due = t["due"]
            late = pc.greater(paid, due)
            unpaid_overdue = pc.and_(pc.is_null(paid), pc.less(due, pa.scalar(as_of, d32)))
            overdue = pc.and_(in_win, pc.or_(pc.fill_null(late, False), pc.fill_null(unpaid_overdue, False)))
            work["w_overdue"] = as_int(overdue)
            aggs.append(("w_overdue", "sum"))
    if cols.quantity is not None:
        work["w_units"] = only(in_win, t["quantity"])
        work["w_nounits"] = as_int(pc.and_(in_win, pc.is_null(t["quantity"])))
        aggs += [("w_units", "sum", total), ("w_nounits", "sum")]

    g = pa.table(work).group_by("id", use_threads=False).aggregate(aggs)
    g = g.take(pc.sort_indices(g["id"]))
    n = g.num_rows
    as_of_s = pa.scalar(as_of, d32)

    count, mean_buy, max_buy = g["w_amount_count"], g["w_amount_mean"], g["w_amount_max"]
    if occasion == "day":
        count, mean_buy, max_buy = _by_day(ar, work["id"], day, work["w_amount"])
    revenue = g["w_amount_sum"]
    first, last = g["date_min"], g["date_max"]
    prev_known = pc.less_equal(first, pa.scalar(prev_start, d32))
    revenue_prev = only(prev_known, g["p_amount_sum"])
    growth_ok = pc.and_(prev_known, pc.not_equal(g["p_amount_sum"], 0.0))
    growth = only(growth_ok, pc.subtract(pc.divide(revenue, g["p_amount_sum"]), 1.0))
    annual = g["y_amount_sum"]

    def nulls(typ: Any) -> Any:
        return pa.nulls(n, typ)

    if cols.cost is not None:
        profit = only(pc.equal(g["y_nocost_sum"], 0), g["y_profit_sum"])
        margin = only(pc.not_equal(annual, 0.0), pc.divide(profit, annual))
    else:
        profit = margin = nulls(pa.float64())
    if cols.returned is not None:
        returns_count, returns_amount = g["w_ret_sum"], g["w_ret_amount_sum"]
    else:
        returns_count, returns_amount = nulls(pa.int64()), nulls(pa.float64())
    overdue_n = g["w_overdue_sum"] if "w_overdue_sum" in g.column_names else nulls(pa.int64())
    collect = g["w_collect_mean"] if "w_collect_mean" in g.column_names else nulls(pa.float64())

    scale = float(10**_DIGITS)

    def money(x: Any) -> Any:
        # round(x * 10**d) / 10**d: pc.round(x, d) multiplies by 10**-d, which is inexact and
        # leaves 151.39000000000001. Adding 0.0 turns -0.0 into 0.0.
        scaled = pc.round(pc.multiply(x.cast(pa.float64()), scale))
        return pc.add(pc.divide(scaled, scale), 0.0)

    columns: dict[str, Any] = {
        "id": g["id"],
        "transactions.window_days": pa.array([window_days] * n, pa.int64()),
        "transactions.count": count.cast(pa.int64()),
        "transactions.frequency": money(
            pc.divide(pc.multiply(count.cast(pa.float64()), 30.0), float(window_days))
        ),
        "transactions.first_order_date": first,
        "transactions.last_order_date": last,
        "transactions.tenure_days": pc.days_between(first, as_of_s),
        "transactions.recency_days": pc.days_between(last, as_of_s),
        "transactions.avg_order_value": money(mean_buy),
        "transactions.max_order_value": money(max_buy),
        "transactions.revenue": money(revenue),
        "transactions.revenue_previous": money(revenue_prev),
        "transactions.annual_revenue": money(annual),
        "transactions.annual_profit": money(profit),
        "transactions.profit_margin": money(margin),
        "transactions.growth_rate": money(growth),
        "transactions.returns_count": returns_count.cast(pa.int64()),
        "transactions.returns_amount": money(returns_amount),
        "credit.overdue_payments": overdue_n.cast(pa.int64()),
        "credit.avg_collection_days": money(collect),
    }
    if cols.quantity is not None:
        columns["extra.units"] = money(only(pc.equal(g["w_nounits_sum"], 0), g["w_units_sum"]))
    return pa.table(columns)


def _by_day(ar: Arrow, ids: Any, day: Any, w_amount: Any) -> tuple[Any, Any, Any]:
    """Purchase occasions in the window per account, sorted by id: (count, mean, max) of the day totals."""
    pa, pc = ar.pa, ar.pc
    one = pc.ScalarAggregateOptions(min_count=1)  # a day with no row in the window has no total
    days = pa.table({"id": ids, "date": day, "amt": w_amount}).group_by(
        ["id", "date"], use_threads=False).aggregate([("amt", "sum", one)])
    per = days.group_by("id", use_threads=False).aggregate(
        [("amt_sum", "count", pc.CountOptions(mode="only_valid")), ("amt_sum", "mean"), ("amt_sum", "max")])
    per = per.take(pc.sort_indices(per["id"]))
    return per["amt_sum_count"], per["amt_sum_mean"], per["amt_sum_max"]
