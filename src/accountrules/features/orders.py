"""Load an order log and make it one canonical, typed pyarrow Table.

Columns are found through a :class:`ColumnMap`; a path is read by
:func:`accountrules.io.tables.read_table`; ids, dates, amounts and the optional columns
are checked and converted here, and a bad value is named by its column and 1-based
row. See :mod:`accountrules.features.derive` for what the columns mean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal, TypeAlias

from accountrules.errors import AccountValidationError
from accountrules.i18n import N_, Message
from accountrules.io.formats import ORDER_LOG
from accountrules.io.optional import require
from accountrules.io.readers import pandas_array
from accountrules.io.tables import Progress, read_table, scalar_text

InputFormat: TypeAlias = Literal["csv", "whitespace", "parquet", "jsonl"]

INPUT_FORMATS: Final[tuple[str, ...]] = ORDER_LOG.names
_TRUE_WORDS: Final = ("true", "yes", "y", "t")
_FALSE_WORDS: Final = ("false", "no", "n", "f")
# a column "name" that is a number or a date (19970101, 29.33, 2024-01-05): a data row read as the header
_NUMERIC_NAME: Final = re.compile(r"[+-]?[0-9][0-9./-]*")


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
class Arrow:
    pa: ModuleType
    pc: ModuleType


def arrow() -> Arrow:
    purpose = "deriving features from an order log"
    return Arrow(require("pyarrow", purpose), require("pyarrow.compute", purpose))


# --------------------------------------------------------------------------------------------
# loading


def load_orders(ar: Arrow, orders: Any, cols: ColumnMap, fmt: InputFormat | None,
                progress: Progress | None = None) -> Any:
    """The mapped columns of ``orders`` as a pyarrow Table (types as found); a file's reading is
    reported to ``progress`` (see :func:`accountrules.io.tables.read_table`)."""
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
        return _read_path(Path(orders), cols, needed, fmt, progress)
    if hasattr(orders, "__arrow_c_stream__"):  # polars, duckdb, ... (Arrow PyCapsule interface)
        return load_orders(ar, pa.table(orders), cols, fmt)
    raise TypeError(
        f"orders must be a path, a pyarrow Table or a pandas DataFrame, not {type(orders).__name__}"
    )


def _is_pandas(obj: object) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas" and hasattr(obj, "columns")


def _from_pandas(ar: Arrow, df: Any, cols: ColumnMap, needed: list[str]) -> Any:
    pa = ar.pa
    _require(cols, [str(c) for c in df.columns])
    arrays: dict[str, Any] = {}
    for name in dict.fromkeys(needed):
        series = df[name]
        arr = pandas_array(series)
        if arr is None:
            # mixed object column: read it as text so the bad value can be named by row
            arr = pa.array([scalar_text(v) for v in series.tolist()], pa.string())
        arrays[name] = arr
    return pa.table(arrays)


def _read_path(path: Path, cols: ColumnMap, needed: list[str], fmt: InputFormat | None,
               progress: Progress | None) -> Any:
    kind = ORDER_LOG.of(path, fmt)
    if kind is None:
        raise ValueError(
            f"cannot tell the format of {str(path)!r} from its suffix; pass format= one of "
            f"{', '.join(INPUT_FORMATS)}"
        )
    return read_table(path, kind, needed, lambda present: _require(cols, present), progress)


def _require(cols: ColumnMap, present: Collection[str]) -> None:
    have = set(present)
    missing = [
        (name, Message(N_("missing column (ColumnMap.{role})"), role=role)) for role, name in cols.mapped()
        if name not in have
    ]
    if missing:
        shown = ", ".join(sorted(have)[:20])
        problems = [*missing, (Message(N_("columns found")), shown or "none")]
        if have and all(_NUMERIC_NAME.fullmatch(name.strip()) for name in have):
            # a log without a header line (the CDNOW sample is one): its first order was read as the names
            problems.append((Message(N_("first line")), Message(N_(
                "holds only numbers, so the file seems to have no header line: add one that names the columns"))))
        raise AccountValidationError(problems)


# --------------------------------------------------------------------------------------------
# normalising: one canonical, typed table


def normalise(ar: Arrow, raw: Any, cols: ColumnMap) -> Any:
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


def _first_true(ar: Arrow, mask: Any) -> int:
    index: int = ar.pc.index(ar.pc.fill_null(mask, False), True).as_py()
    return index


def _check_present(ar: Arrow, arr: Any, column: str, ids: Any | None) -> None:
    if arr.null_count:
        i = _first_true(ar, ar.pc.is_null(arr))
        raise _row_error(column, Message(N_("missing value")), i, ids)


def _as_text(ar: Arrow, arr: Any) -> Any:
    """Text as ``string``, trimmed, empty -> null."""
    pa, pc = ar.pa, ar.pc
    text = pc.utf8_trim_whitespace(arr.cast(pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _decoded(ar: Arrow, arr: Any) -> Any:
    t = arr.type
    if ar.pa.types.is_dictionary(t):
        return arr.cast(t.value_type)
    return arr


def _is_text(ar: Arrow, t: Any) -> bool:
    types = ar.pa.types
    return bool(types.is_string(t) or types.is_large_string(t) or types.is_string_view(t))


def _to_id(ar: Arrow, arr: Any, column: str) -> Any:
    pa = ar.pa
    arr = _decoded(ar, arr)
    if _is_text(ar, arr.type):
        ids = _as_text(ar, arr)
    elif pa.types.is_integer(arr.type) or pa.types.is_null(arr.type):
        ids = arr.cast(pa.string())
    else:
        raise AccountValidationError([(column, Message(N_("account ids must be text or integers, not {type}"),
                                                       type=arr.type))])
    _check_present(ar, ids, column, None)
    return ids


def _first_cast_failure(ar: Arrow, arr: Any, convert: Callable[[Any], Any]) -> int:
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


def _to_number(ar: Arrow, arr: Any, column: str, ids: Any, *, required: bool) -> Any:
    pa, pc = ar.pa, ar.pc
    arr = _decoded(ar, arr)
    t = arr.type
    if _is_text(ar, t):
        text = _as_text(ar, arr)
        try:
            numbers = text.cast(pa.float64())
        except pa.ArrowInvalid:
            i = _first_cast_failure(ar, text, lambda s: s.cast(pa.float64()))
            raise _row_error(column, Message(N_("cannot parse {value!r} as a number"),
                                             value=text[i].as_py()), i, ids) from None
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        numbers = arr.cast(pa.float64())
    else:
        raise AccountValidationError([(column, Message(N_("expected numbers, found a {t} column"), t=t))])
    bad = pc.invert(pc.is_finite(numbers))
    if pc.any(bad).as_py():
        i = _first_true(ar, bad)
        raise _row_error(column, Message(N_("not a finite number: {value!r}"), value=numbers[i].as_py()), i, ids)
    if required:
        _check_present(ar, numbers, column, ids)
    return numbers


def _to_date(ar: Arrow, arr: Any, column: str, fmt: str | None, ids: Any, *, required: bool) -> Any:
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
                column, Message(N_("cannot parse {value!r} as a date with format {form!r}"),
                                value=text[bad].as_py(), form=form), bad, ids
            )
        dates = stamps.cast(pa.date32())
    elif pa.types.is_integer(t):
        raise AccountValidationError(
            [(column, Message(N_("integer dates need a date format, e.g. date_format='%Y%m%d'")))]
        )
    else:
        raise AccountValidationError([(column, Message(N_("expected dates, found a {t} column"), t=t))])
    if required:
        _check_present(ar, dates, column, ids)
    return dates


def _to_returned(ar: Arrow, arr: Any, column: str, amount: Any, ids: Any) -> tuple[Any, Any]:
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



__all__ = ["INPUT_FORMATS", "Arrow", "ColumnMap", "InputFormat", "arrow", "load_orders", "normalise"]
