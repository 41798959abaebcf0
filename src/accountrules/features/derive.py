"""Derive account fields (``transactions.*``, ``credit.*``) from a raw order log.

Why pyarrow: one dependency (the ``arrow`` extra) gives CSV/JSONL/Parquet I/O and vectorised
group-by kernels (``pyarrow.compute``); pandas is not needed, only accepted as an input.

Input
-----
One row is one order (rows are never merged, even on the same day). ``orders`` is a path, a
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
* ``transactions.count`` -- orders in the window (0 if none).
* ``transactions.frequency`` -- orders per 30 days in the window: ``count * 30 / W``.
* ``transactions.first_order_date`` / ``last_order_date`` -- over all orders up to ``as_of``.
* ``transactions.tenure_days`` -- ``as_of - first_order_date``; ``recency_days`` --
  ``as_of - last_order_date`` (days).
* ``transactions.avg_order_value`` / ``max_order_value`` -- mean / largest order amount in the
  window; None if no order in the window.
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
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from accountrules.errors import AccountValidationError
from accountrules.io.formats import ORDER_LOG
from accountrules.io.optional import require
from accountrules.io.tables import read_table, scalar_text

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, import-not-found, unused-ignore]
    import pyarrow  # type: ignore[import-untyped, import-not-found, unused-ignore]

__all__ = [
    "ColumnMap",
    "InputFormat",
    "Orders",
    "accounts_from_table",
    "derive_accounts",
    "derive_features",
]

log = logging.getLogger(__name__)

InputFormat: TypeAlias = Literal["csv", "whitespace", "parquet", "jsonl"]
Orders: TypeAlias = "str | os.PathLike[str] | pyarrow.Table | pandas.DataFrame"

INPUT_FORMATS: Final[tuple[str, ...]] = ORDER_LOG.names
_DIGITS: Final = 6  # derived floats are rounded to this many decimals
_YEAR_DAYS: Final = 365
_TRUE_WORDS: Final = ("true", "yes", "y", "t")
_FALSE_WORDS: Final = ("false", "no", "n", "f")


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Which input column holds what. ``None`` = the log has no such column.

    ``account_id``, ``date`` and ``amount`` are required to be present in the input.
    ``returned`` is a flag (bool) or a returned amount (number). ``date_format`` is a
    ``strptime`` format (e.g. ``"%Y%m%d"``) for dates stored as text or integers; it applies to
    ``date``, ``payment_due`` and ``payment_paid``.
    """

    account_id: str = "account_id"
    date: str = "date"
    amount: str = "amount"
    cost: str | None = None
    quantity: str | None = None
    returned: str | None = None
    payment_due: str | None = None
    payment_paid: str | None = None
    date_format: str | None = None

    def __post_init__(self) -> None:
        for role, name in self.mapped():
            if not isinstance(name, str) or not name:
                raise ValueError(f"ColumnMap.{role} must be a non-empty column name, got {name!r}")
        if self.date_format is not None and not self.date_format:
            raise ValueError("ColumnMap.date_format must be a non-empty strptime format or None")

    def mapped(self) -> list[tuple[str, str]]:
        """``(role, column name)`` for every mapped column, required ones first."""
        roles = (
            "account_id",
            "date",
            "amount",
            "cost",
            "quantity",
            "returned",
            "payment_due",
            "payment_paid",
        )
        out: list[tuple[str, str]] = []
        for role in roles:
            name = getattr(self, role)
            if name is not None:
                out.append((role, name))
        return out


@dataclass(frozen=True, slots=True)
class _Arrow:
    pa: ModuleType
    pc: ModuleType


def _arrow() -> _Arrow:
    purpose = "deriving features from an order log"
    return _Arrow(require("pyarrow", purpose), require("pyarrow.compute", purpose))


# --------------------------------------------------------------------------------------------
# public API


def derive_features(
    orders: Orders,
    *,
    as_of: date,
    window_days: int = 365,
    columns: ColumnMap | None = None,
    format: InputFormat | None = None,
) -> pyarrow.Table:
    """One row per account, sorted by id: ``id`` plus dotted field columns.

    The fields, windows and rules (e.g. when ``revenue_previous`` is known) are documented in
    the module docstring of :mod:`accountrules.features.derive`.

    The table's schema metadata records ``accountrules.as_of``, ``accountrules.window_days``,
    ``accountrules.orders`` (rows read) and ``accountrules.orders_after_as_of`` (rows ignored).
    """
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < 1:
        raise ValueError(f"window_days must be a positive integer, got {window_days!r}")
    try:
        win_start = as_of - timedelta(days=window_days)
        prev_start = as_of - timedelta(days=2 * window_days)
        year_start = as_of - timedelta(days=_YEAR_DAYS)
    except OverflowError:
        raise ValueError(f"window_days={window_days} reaches before year 1") from None
    cols = columns if columns is not None else ColumnMap()
    ar = _arrow()
    raw = _load(ar, orders, cols, format)
    table = _normalise(ar, raw, cols)
    n_read = table.num_rows
    pa, pc = ar.pa, ar.pc
    table = table.filter(pc.less_equal(table["date"], pa.scalar(as_of, pa.date32())))
    n_late = n_read - table.num_rows
    log.debug("order log: %d rows, %d after as_of %s ignored", n_read, n_late, as_of)
    out = _aggregate(ar, table, cols, as_of, window_days, win_start, prev_start, year_start)
    meta = {
        "accountrules.as_of": as_of.isoformat(),
        "accountrules.window_days": str(window_days),
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
) -> list[dict[str, Any]]:
    """Like :func:`derive_features`, as nested dicts ``Account.model_validate`` accepts."""
    table = derive_features(orders, as_of=as_of, window_days=window_days, columns=columns, format=format)
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
# loading


def _load(ar: _Arrow, orders: Any, cols: ColumnMap, fmt: InputFormat | None) -> Any:
    """The mapped columns of ``orders`` as a pyarrow Table (types as found)."""
    pa = ar.pa
    needed = [name for _, name in cols.mapped()]
    if isinstance(orders, pa.RecordBatch):
        orders = pa.Table.from_batches([orders])
    if isinstance(orders, pa.Table):
        _require(cols, orders.column_names)
        return pa.table({name: orders[name] for name in dict.fromkeys(needed)})
    if _is_pandas(orders):
        return _from_pandas(ar, orders, cols, needed)
    if isinstance(orders, str | os.PathLike):
        return _read_path(Path(orders), cols, needed, fmt)
    if hasattr(orders, "__arrow_c_stream__"):  # polars, duckdb, ... (Arrow PyCapsule interface)
        return _load(ar, pa.table(orders), cols, fmt)
    raise TypeError(
        f"orders must be a path, a pyarrow Table or a pandas DataFrame, not {type(orders).__name__}"
    )


def _is_pandas(obj: object) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas" and hasattr(obj, "columns")


def _from_pandas(ar: _Arrow, df: Any, cols: ColumnMap, needed: list[str]) -> Any:
    pa = ar.pa
    _require(cols, [str(c) for c in df.columns])
    arrays: dict[str, Any] = {}
    for name in dict.fromkeys(needed):
        series = df[name]
        try:
            arrays[name] = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed object column: read it as text so the bad value can be named by row
            arrays[name] = pa.array([scalar_text(v) for v in series.tolist()], pa.string())
    return pa.table(arrays)


def _read_path(path: Path, cols: ColumnMap, needed: list[str], fmt: InputFormat | None) -> Any:
    kind = ORDER_LOG.of(path, fmt)
    if kind is None:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix; pass format= one of "
            f"{', '.join(INPUT_FORMATS)}"
        )
    return read_table(path, kind, needed, lambda present: _require(cols, present))


def _require(cols: ColumnMap, present: Collection[str]) -> None:
    have = set(present)
    missing = [
        (name, f"missing column (ColumnMap.{role})") for role, name in cols.mapped() if name not in have
    ]
    if missing:
        shown = ", ".join(sorted(have)[:20])
        raise AccountValidationError([*missing, ("columns found", shown or "none")])


# --------------------------------------------------------------------------------------------
# normalising: one canonical, typed table


def _normalise(ar: _Arrow, raw: Any, cols: ColumnMap) -> Any:
    """Columns ``id date amount`` + ``cost quantity ret_flag ret_amount due paid`` if mapped."""
    pa = ar.pa
    ids = _to_id(ar, raw[cols.account_id], cols.account_id)
    out: dict[str, Any] = {"id": ids}
    out["date"] = _to_date(ar, raw[cols.date], cols.date, cols.date_format, ids, required=True)
    amount = _to_number(ar, raw[cols.amount], cols.amount, ids, required=True)
    out["amount"] = amount
    if cols.cost is not None:
        out["cost"] = _to_number(ar, raw[cols.cost], cols.cost, ids, required=False)
    if cols.quantity is not None:
        out["quantity"] = _to_number(ar, raw[cols.quantity], cols.quantity, ids, required=False)
    if cols.returned is not None:
        out["ret_flag"], out["ret_amount"] = _to_returned(ar, raw[cols.returned], cols.returned, amount, ids)
    if cols.payment_due is not None:
        out["due"] = _to_date(
            ar, raw[cols.payment_due], cols.payment_due, cols.date_format, ids, required=False
        )
    if cols.payment_paid is not None:
        out["paid"] = _to_date(
            ar, raw[cols.payment_paid], cols.payment_paid, cols.date_format, ids, required=False
        )
    return pa.table(out)


def _row_error(column: str, message: str, index: int, ids: Any | None) -> AccountValidationError:
    account = None
    if ids is not None:
        account = ids[index].as_py()
    return AccountValidationError([(column, message)], account_id=account, row=index + 1)


def _first_true(ar: _Arrow, mask: Any) -> int:
    index: int = ar.pc.index(ar.pc.fill_null(mask, False), True).as_py()
    return index


def _check_present(ar: _Arrow, arr: Any, column: str, ids: Any | None) -> None:
    if arr.null_count:
        i = _first_true(ar, ar.pc.is_null(arr))
        raise _row_error(column, "missing value", i, ids)


def _as_text(ar: _Arrow, arr: Any) -> Any:
    """Text as ``string``, trimmed, empty -> null."""
    pa, pc = ar.pa, ar.pc
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _decoded(ar: _Arrow, arr: Any) -> Any:
    t = arr.type
    if ar.pa.types.is_dictionary(t):
        return arr.cast(t.value_type)
    return arr


def _is_text(ar: _Arrow, t: Any) -> bool:
    types = ar.pa.types
    return bool(types.is_string(t) or types.is_large_string(t) or types.is_string_view(t))


def _to_id(ar: _Arrow, arr: Any, column: str) -> Any:
    pa = ar.pa
    arr = _decoded(ar, arr)
    if _is_text(ar, arr.type):
        ids = _as_text(ar, arr)
    elif pa.types.is_integer(arr.type) or pa.types.is_null(arr.type):
        ids = arr.cast(pa.string())
    else:
        raise AccountValidationError([(column, f"account ids must be text or integers, not {arr.type}")])
    _check_present(ar, ids, column, None)
    return ids


def _first_cast_failure(ar: _Arrow, arr: Any, convert: Callable[[Any], Any]) -> int:
    """Index of the first element ``convert`` rejects (bisection over slices)."""
    lo, hi = 0, len(arr)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            convert(arr.slice(lo, mid - lo))
        except (ar.pa.ArrowInvalid, ar.pa.ArrowTypeError):
            hi = mid
        else:
            lo = mid
    return lo


def _to_number(ar: _Arrow, arr: Any, column: str, ids: Any, *, required: bool) -> Any:
    pa, pc = ar.pa, ar.pc
    arr = _decoded(ar, arr)
    t = arr.type
    if _is_text(ar, t):
        text = _as_text(ar, arr)
        try:
            numbers = text.cast(pa.float64())
        except pa.ArrowInvalid:
            i = _first_cast_failure(ar, text, lambda s: s.cast(pa.float64()))
            raise _row_error(column, f"cannot parse {text[i].as_py()!r} as a number", i, ids) from None
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        numbers = arr.cast(pa.float64())
    else:
        raise AccountValidationError([(column, f"expected numbers, found a {t} column")])
    bad = pc.invert(pc.is_finite(numbers))
    if pc.any(bad).as_py():
        i = _first_true(ar, bad)
        raise _row_error(column, f"not a finite number: {numbers[i].as_py()!r}", i, ids)
    if required:
        _check_present(ar, numbers, column, ids)
    return numbers


def _to_date(ar: _Arrow, arr: Any, column: str, fmt: str | None, ids: Any, *, required: bool) -> Any:
    pa, pc = ar.pa, ar.pc
    arr = _decoded(ar, arr)
    t = arr.type
    if pa.types.is_date(t) or pa.types.is_null(t):
        dates = arr.cast(pa.date32())
    elif pa.types.is_timestamp(t):
        if t.tz is not None:
            arr = pc.local_timestamp(arr)  # the calendar date where the order was placed
        dates = arr.cast(pa.date32())
    elif _is_text(ar, t) or (pa.types.is_integer(t) and fmt is not None):
        text = _as_text(ar, arr) if _is_text(ar, t) else arr.cast(pa.string())
        form = fmt if fmt is not None else "%Y-%m-%d"
        stamps = pc.strptime(text, format=form, unit="s", error_is_null=True)
        failed = pc.and_(pc.is_valid(text), pc.is_null(stamps))
        bad = _first_true(ar, failed)
        # Arrow's strptime rolls impossible days over (2024-02-30 -> 2024-03-01), which lands on
        # the 1st-3rd. Those dates, if the text does not format back to itself (unpadded, or
        # impossible), are re-checked by Python's strptime.
        early = pc.indices_nonzero(pc.fill_null(pc.less_equal(pc.day(stamps), 3), False))
        formatted = pc.strftime(stamps.take(early), format=form)
        odd = pc.indices_nonzero(pc.not_equal(formatted, text.take(early)))
        for index in early.take(odd).to_pylist():
            if 0 <= bad < index:
                break
            try:
                datetime.strptime(text[index].as_py(), form)
            except ValueError:
                bad = index
                break
        if bad >= 0:
            raise _row_error(
                column, f"cannot parse {text[bad].as_py()!r} as a date with format {form!r}", bad, ids
            )
        dates = stamps.cast(pa.date32())
    elif pa.types.is_integer(t):
        raise AccountValidationError(
            [(column, "integer dates need a date format, e.g. date_format='%Y%m%d'")]
        )
    else:
        raise AccountValidationError([(column, f"expected dates, found a {t} column")])
    if required:
        _check_present(ar, dates, column, ids)
    return dates


def _to_returned(ar: _Arrow, arr: Any, column: str, amount: Any, ids: Any) -> tuple[Any, Any]:
    """``(flag, returned amount)``, both without nulls."""
    pa, pc = ar.pa, ar.pc
    arr = _decoded(ar, arr)
    t = arr.type
    flags: Any = None
    if pa.types.is_boolean(t):
        flags = arr
    elif _is_text(ar, t):
        words = pc.utf8_lower(_as_text(ar, arr))
        is_true = pc.is_in(words, value_set=pa.array(_TRUE_WORDS))
        is_word = pc.or_(is_true, pc.is_in(words, value_set=pa.array(_FALSE_WORDS)))
        if pc.all(pc.or_(is_word, pc.is_null(words))).as_py():
            flags = is_true
    if flags is not None:
        flag = pc.fill_null(flags, False)
        return flag, pc.if_else(flag, amount, 0.0)
    returned = pc.fill_null(_to_number(ar, arr, column, ids, required=False), 0.0)
    return pc.greater(returned, 0.0), returned


# --------------------------------------------------------------------------------------------
# aggregation


def _aggregate(
    ar: _Arrow,
    t: Any,
    cols: ColumnMap,
    as_of: date,
    window_days: int,
    win_start: date,
    prev_start: date,
    year_start: date,
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

    count = g["w_amount_count"]
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
        "transactions.avg_order_value": money(g["w_amount_mean"]),
        "transactions.max_order_value": money(g["w_amount_max"]),
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
