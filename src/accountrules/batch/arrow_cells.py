"""Flat table columns typed by Arrow kernels: the fast half of :mod:`accountrules.batch.validate`.

A column is cast to its field's type on a fast path that accepts only canonical spellings
(``12``, ``0.35``, ``2024-06-30``, ``true``, an enum value): :func:`fast_cast` returns the cast
values and the mask of the cells it vouches for; every other non-blank cell goes to the pydantic
model alone (``validate_cell``), so the values and messages stay those of the row path.
"""

from __future__ import annotations

from typing import Any

from accountrules.io.readers import cell_text
from accountrules.model.account import WHOLE_MAX
from accountrules.model.fields import FieldSpec

__all__ = ["as_arrow", "extra_as_is", "fast_cast", "normalise_array", "pc", "target_type"]

_INT_DIGITS = 18
_INT_RE = f"^[0-9]{{1,{_INT_DIGITS}}}$"
_FLOAT_RE = r"^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,2})?$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TRUE = ["true", "True", "TRUE", "yes", "Yes", "YES", "1"]
_FALSE = ["false", "False", "FALSE", "no", "No", "NO", "0"]
_INT64_LIMIT = 9.223372036854775e18  # below 2**63 as a float


def _pa() -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def pc() -> Any:
    return _pa()[1]


def target_type(spec: FieldSpec) -> Any:
    pa, _ = _pa()
    if spec.type == "number":
        return pa.int64() if spec.integer else pa.float64()
    if spec.type == "bool":
        return pa.bool_()
    if spec.type == "date":
        return pa.date32()
    return pa.string()


def normalise_array(key: str, arr: Any) -> Any:
    """Blank strings and NaN -> null, dictionaries decoded, large/view strings -> string."""
    pa, pc = _pa()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        arr = arr.cast(pa.string())
        t = arr.type
    if pa.types.is_string(t):
        # an empty cell is one of length 0: the lengths come from the offsets, no text is compared
        if pc.min(pc.binary_length(arr)).as_py() == 0:
            arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    elif pa.types.is_floating(t):
        if pa.types.is_float16(t):
            arr = arr.cast(pa.float32())
        nan = pc.is_nan(arr)
        if pc.any(nan).as_py():
            arr = pc.if_else(nan, pa.scalar(None, arr.type), arr)
    elif key == "id" and pa.types.is_integer(t):
        arr = arr.cast(pa.string())
    return arr


def _digits_only(pc: Any, arr: Any) -> bool:
    """Whether the column's text is ASCII digits alone and no cell longer than ``_INT_RE`` allows: then
    every cell Arrow can cast to int64 (an empty one it cannot) matches it. Read off the column's bytes
    end to end (a null slot's too: digits there only send the column to the regex), not cell by cell."""
    text = cell_text(arr)
    return bool(text and text.isdigit() and (pc.max(pc.binary_length(arr)).as_py() or 0) <= _INT_DIGITS)


def _dates_only(pc: Any, arr: Any) -> bool:
    """Whether every cell matches ``_DATE_RE``, read off the column's bytes end to end: each cell 10
    bytes long, none behind a null, and the text ``[0-9]{4}-[0-9]{2}-[0-9]{2}`` over and over."""
    text = cell_text(arr)
    cells = len(arr) - arr.null_count
    if not text or len(text) != 10 * cells or pc.min_max(pc.binary_length(arr)).as_py() != {"min": 10, "max": 10}:
        return False
    dashes = b"-" * cells
    return bool(text[4::10] == dashes and text[7::10] == dashes and text.translate(None, b"0123456789") == dashes * 2)


def _parse_where(pc: Any, pa: Any, arr: Any, ok: Any, to: Any) -> Any:
    """Text cells parsed as ``to`` where ``ok``, null elsewhere. The cells not parsed are replaced by
    "0" first: older pyarrow (< 22) parses the hidden text behind nulls too, and fails on it."""
    parsed = pc.if_else(ok, arr, pa.scalar("0", pa.string())).cast(to)
    return pc.if_else(ok, parsed, pa.scalar(None, to))


def _whole_cast(pa: Any, arr: Any, to: Any) -> Any:
    """``arr`` cast to ``to`` when Arrow reads every cell (one pass in C); None when it reads not all."""
    try:
        return arr.cast(to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def fast_cast(arr: Any, spec: FieldSpec) -> tuple[Any, Any] | None:
    """``(values, ok)``: values cast to the target type where ``ok``; None = no fast path."""
    pa, pc = _pa()
    t = arr.type
    if spec.type == "number":
        if spec.integer:
            if pa.types.is_integer(t):
                if t == pa.uint64():
                    ok = pc.less_equal(arr, pa.scalar(2**63 - 1, pa.uint64()))
                    vals = pc.if_else(ok, arr, pa.scalar(None, t)).cast(pa.int64())
                else:
                    ok, vals = None, arr.cast(pa.int64())
            elif pa.types.is_floating(t):
                a = arr.cast(pa.float64())
                ok = pc.and_(pc.and_(pc.is_finite(a), pc.equal(pc.floor(a), a)),
                             pc.less(pc.abs(a), _INT64_LIMIT))
                vals = pc.if_else(ok, a, pa.scalar(None, pa.float64())).cast(pa.int64(), safe=False)
            elif pa.types.is_string(t):
                # digits only (pydantic reads "007" as 7 too); signs, spaces, "1_000" go cell by cell
                # a regex, not ascii_is_decimal: that one calls "  " decimal in pyarrow < 22
                vals = _whole_cast(pa, arr, pa.int64()) if _digits_only(pc, arr) else None
                if vals is not None:  # every cell matches the regex: the regex and the masks are spared
                    ok = None
                else:
                    ok = pc.match_substring_regex(arr, _INT_RE)
                    vals = _parse_where(pc, pa, arr, ok, pa.int64())
            else:
                return None
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            vals = arr if t == pa.float64() else arr.cast(pa.float64(), safe=False)
            ok = pc.is_finite(vals)  # inf goes cell by cell: the model decides (it refuses non-finite numbers)
        elif pa.types.is_string(t):
            vals = _whole_cast(pa, arr, pa.float64())
            if vals is not None:
                # every cell is a number to Arrow, and the model reads each finite one as the same float
                # (tests/test_batch_validate.py); inf, nan and overflow go cell by cell: the model refuses them
                ok = pc.is_finite(vals)
            else:  # some cell is no number to Arrow: the canonical ones here, the rest cell by cell
                ok = pc.match_substring_regex(arr, _FLOAT_RE)
                vals = _parse_where(pc, pa, arr, ok, pa.float64())
        else:
            return None
        if spec.ge is not None:
            ge = pc.greater_equal(vals, spec.ge)
            ok = ge if ok is None else pc.and_(ok, ge)
        if spec.le is not None:
            le = pc.less_equal(vals, spec.le)
            ok = le if ok is None else pc.and_(ok, le)
    elif spec.type == "bool":
        if pa.types.is_boolean(t):
            ok, vals = None, arr
        elif pa.types.is_string(t):
            # one hash look-up a cell: where in the spellings, true ones first (null: none of them)
            at = pc.index_in(arr, value_set=pa.array(_TRUE + _FALSE))
            ok, vals = at.is_valid(), pc.less(at, len(_TRUE))
        else:
            return None
    elif spec.type == "date":
        if pa.types.is_date32(t):
            ok, vals = None, arr
        elif pa.types.is_date64(t):
            ok, vals = None, arr.cast(pa.date32())
        elif pa.types.is_timestamp(t) and t.tz is None:
            vals = arr.cast(pa.date32(), safe=False)
            ok = pc.equal(vals.cast(t), arr)
        elif pa.types.is_string(t):
            year = pc.invert(pc.starts_with(arr, "0000"))
            shaped = _dates_only(pc, arr)  # every cell matches the regex: it is spared
            ok = year if shaped else pc.and_(pc.match_substring_regex(arr, _DATE_RE), year)
            whole = shaped and ok.true_count == len(arr) - arr.null_count  # every cell a candidate
            candidates = arr if whole else pc.if_else(ok, arr, pa.scalar(None, pa.string()))
            try:  # strict: fails as a whole on a day that does not exist (2026-13-01)
                vals = candidates.cast(pa.date32())
            except pa.ArrowInvalid:
                ts = pc.strptime(candidates, format="%Y-%m-%d", unit="s", error_is_null=True)
                vals = ts.cast(pa.date32())  # strptime rolls 2024-02-30 over to 03-01: compare back
                ok = pc.and_(ok, pc.equal(vals.cast(pa.string()), arr))
        else:
            return None
    elif spec.type == "enum":
        if not pa.types.is_string(t):
            return None
        ok, vals = pc.is_in(arr, value_set=pa.array(list(spec.values))), arr
    else:  # string
        if not pa.types.is_string(t):
            return None
        ok, vals = None, arr
    if ok is None:
        return vals, None
    # every cell read (no kernel here is true for a null cell, and vals is null there already): no mask
    # to apply, and two kernel calls a column saved
    if ok.true_count == len(arr) - arr.null_count:
        return vals, None
    ok = pc.fill_null(ok, False)
    return pc.if_else(ok, vals, pa.scalar(None, vals.type)), ok


def extra_as_is(kind: str, arr: Any) -> bool:
    """A declared extra field whose Arrow column already holds what ``coerce_extra`` would return for
    every cell (blanks and NaN are null by now): the column is kept as it is, with no Python per cell."""
    pa, pc = _pa()
    t = arr.type
    if kind == "number":
        if t == pa.int64():  # whole numbers past WHOLE_MAX are refused cell by cell, as coerce_extra does
            low, high = (v.as_py() for v in pc.min_max(arr).values())
            return low is None or (-WHOLE_MAX <= low and high <= WHOLE_MAX)
        # an infinity is refused cell by cell, as coerce_extra does (NaN is null by now)
        return bool(t == pa.float64()) and not pc.any(pc.is_inf(arr)).as_py()
    if kind == "string":
        return bool(pa.types.is_string(t))
    if kind == "bool":
        return bool(pa.types.is_boolean(t))
    return kind == "date" and bool(pa.types.is_date32(t))


def as_arrow(values: list[Any], target: Any) -> Any:
    pa, _ = _pa()
    try:
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return values  # e.g. a whole number beyond int64: keep the Python values
