"""A vectorised evaluator: a whole portfolio per numpy operation instead of one account per closure.

Each resolved AST node is compiled (once per policy) into a function of a column
*frame*; every value is a column of a small typed class carrying the unknown mask:

* ``_Num``  — float64 values + ``known`` mask (``None`` = all known). Dates are day ordinals.
* ``_Str``  — int codes into a per-call vocabulary; ``-1`` is unknown (strings and enumerations).
* ``_Bool`` — two masks, ``t`` (definitely true) and ``f`` (definitely false); neither = unknown,
  which makes Kleene ``and``/``or``/``not`` two mask operations each.
* ``_NULL`` — the ``null`` literal: unknown of every type.

The semantics are those of :mod:`accountrules.compile.closures` and
:mod:`accountrules.evaluate.driver`, value for value (``tests/test_vector.py`` checks
this differentially against ``Policy.decide``). Numbers are float64, so integers are
exact up to 2**53.

    batch = ColumnBatch.from_arrow(table)           # or from_envs / from_mapping
    out = decide_columns(policy, batch, as_of=date(2026, 6, 30))
    out["tier"][i], out["actions"][i], out["error"][i]
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from accountrules.check.policy_check import all_expressions
from accountrules.compile.plan import CRow, CTable, IndexedRows, Plan
from accountrules.evaluate.column_index import ColumnIndex
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.semantics import first_true, merge_actions, priority_order, resolve_masks
from accountrules.model.fields import FIELDS
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Binary,
    Call,
    EnumRank,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Not,
    Ref,
    Unary,
    unparse,
    walk,
)

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = ["Column", "ColumnBatch", "decide_columns", "output_keys", "portfolio_stats"]

BoolArr = NDArray[np.bool_]
IntArr = NDArray[np.int64]
FloatArr = NDArray[np.float64]

_EPOCH = dt.date(1970, 1, 1).toordinal()
_KINDS = ("number", "bool", "date", "string", "null")


# ================================================================================================
# Input columns
# ================================================================================================


@dataclass(frozen=True, slots=True)
class Column:
    """One input column. ``kind`` is number | bool | date | string | null (entirely unknown).

    * number: ``values`` float64, ``known`` mask or ``None`` when every value is known;
    * bool:   ``values`` bool, ``known`` as for numbers;
    * date:   ``values`` int64 day ordinals (``date.toordinal()``), ``known`` as for numbers;
    * string: ``values`` int32/int64 codes into ``categories``, ``-1`` = unknown (``known`` unused).
    """

    kind: str
    values: NDArray[Any]
    known: BoolArr | None = None
    categories: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @classmethod
    def from_values(cls, kind: str, values: Sequence[Any]) -> Column:
        """A column from Python values (``None`` = unknown)."""
        n = len(values)
        if kind == "null":
            return cls("null", np.zeros(n, dtype=np.int8))
        if kind == "string":
            cats: dict[str, int] = {}
            codes = np.fromiter((-1 if v is None else cats.setdefault(str(v), len(cats)) for v in values),
                                dtype=np.int32, count=n)
            return cls("string", codes, None, tuple(cats))
        known = np.fromiter((v is not None for v in values), dtype=np.bool_, count=n)
        all_known = bool(known.all())
        if kind == "number":
            arr: NDArray[Any] = np.fromiter((0.0 if v is None else v for v in values), dtype=np.float64, count=n)
        elif kind == "bool":
            arr = np.fromiter((False if v is None else bool(v) for v in values), dtype=np.bool_, count=n)
        elif kind == "date":
            arr = np.fromiter((0 if v is None else v.toordinal() for v in values), dtype=np.int64, count=n)
        else:
            raise ValueError(f"unknown column kind {kind!r}; one of {', '.join(_KINDS)}")
        return cls(kind, arr, None if all_known else known)

    @classmethod
    def from_array(cls, arr: NDArray[Any], kind: str | None = None, known: BoolArr | None = None) -> Column:
        """A column from a numpy array. NaN (float) and NaT (datetime64) count as unknown; a masked
        array's mask, or ``known``, marks unknowns explicitly."""
        if isinstance(arr, np.ma.MaskedArray):
            mask = np.ma.getmaskarray(arr)
            known = ~mask if known is None else known & ~mask
            arr = np.ma.getdata(arr)
        dk = arr.dtype.kind
        if dk == "O":
            k = kind or _infer_kind(arr.tolist())
            col = cls.from_values(k, arr.tolist())
            return col if known is None else _with_known(col, known)
        if dk in "US":
            return _with_known(cls.from_values("string", arr.astype(str).tolist()), known)
        if dk == "M":
            days = arr.astype("datetime64[D]")
            nat = np.isnat(days)
            ords = days.astype(np.int64) + _EPOCH
            k2 = ~nat if known is None else known & ~nat
            return cls("date", ords, None if bool(k2.all()) else k2)
        if dk == "b":
            return cls("bool", arr.astype(np.bool_, copy=False), known)
        if dk in "iuf":
            vals = arr.astype(np.float64, copy=False)
            if kind == "date":
                return cls("date", arr.astype(np.int64), known)
            if dk == "f":
                nan = np.isnan(vals)
                if nan.any():
                    known = ~nan if known is None else known & ~nan
                    vals = np.where(nan, 0.0, vals)
            return cls("number", vals, known)
        raise TypeError(f"cannot read a column of dtype {arr.dtype}")


def _with_known(col: Column, known: BoolArr | None) -> Column:
    if known is None:
        return col
    if col.kind == "string":
        return Column("string", np.where(known, col.values, -1), None, col.categories)
    k = known if col.known is None else known & col.known
    return Column(col.kind, col.values, k, col.categories)


def _infer_kind(values: Iterable[Any]) -> str:
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool | np.bool_):
            return "bool"
        if isinstance(v, int | float | np.integer | np.floating):
            return "number"
        if isinstance(v, dt.date):
            return "date"
        if isinstance(v, str):
            return "string"
        raise TypeError(f"cannot infer a column type from a value of type {type(v).__name__}")
    return "null"


def _field_kind(path: str) -> str | None:
    f = FIELDS.get(path)
    if f is None:
        return None
    return "string" if f.type in ("enum", "string") else f.type


class ColumnBatch:
    """Validated accounts as flat columns keyed by field path (``transactions.revenue``,
    ``extra.<name>``...). A column the policy reads but the batch lacks is entirely unknown."""

    __slots__ = ("columns", "size")

    def __init__(self, columns: Mapping[str, Column], size: int | None = None):
        sizes = {len(c) for c in columns.values()}
        if size is None:
            if len(sizes) > 1:
                raise ValueError(f"columns differ in length: {sorted(sizes)}")
            size = sizes.pop() if sizes else 0
        elif sizes and sizes != {size}:
            raise ValueError(f"columns differ in length from {size}: {sorted(sizes)}")
        self.columns: dict[str, Column] = dict(columns)
        self.size: int = size

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"ColumnBatch(size={self.size}, columns={len(self.columns)})"

    def ids(self) -> list[str | None]:
        """Account ids, when the batch has an ``id`` column."""
        col = self.columns.get("id")
        if col is None or col.kind != "string":
            return [None] * self.size
        cats = np.array([*col.categories, None], dtype=object)
        out: list[str | None] = cats[col.values].tolist()
        return out

    @classmethod
    def from_envs(cls, envs: Sequence[Mapping[str, Any]], kinds: Mapping[str, str] | None = None) -> ColumnBatch:
        """From flat env dicts as built by ``accountrules.evaluate.accounts.env_of`` (validated accounts).

        Keys that are neither catalogue fields nor ``extra.*`` are ignored; ``kinds`` may name the
        kind of ``extra.*`` columns (number | bool | date | string), otherwise it is inferred."""
        keys: dict[str, None] = {}
        for env in envs:
            for k in env:
                if k in FIELDS or k.startswith("extra."):
                    keys[k] = None
        cols: dict[str, Column] = {}
        for k in keys:
            values = [env.get(k) for env in envs]
            kind = (kinds or {}).get(k) or _field_kind(k) or _infer_kind(values)
            if kind == "enum":
                kind = "string"
            cols[k] = Column.from_values(kind, values)
        return cls(cols, len(envs))

    @classmethod
    def from_mapping(cls, columns: Mapping[str, Any]) -> ColumnBatch:
        """From ``{path: numpy array | list | Column}``; lists use ``None`` for unknown."""
        cols: dict[str, Column] = {}
        for k, v in columns.items():
            if isinstance(v, Column):
                cols[k] = v
            elif isinstance(v, np.ndarray):
                fk = _field_kind(k)
                cols[k] = Column.from_array(v, fk)
                if fk is not None and cols[k].kind not in (fk, "null"):
                    raise TypeError(f"column {k!r} holds {cols[k].kind} values, but the field is {fk}")
            else:
                values = list(v)
                kind = _field_kind(k) or _infer_kind(values)
                cols[k] = Column.from_values(kind, values)
        return cls(cols)

    @classmethod
    def from_arrow(cls, table: Any) -> ColumnBatch:
        """From a ``pyarrow.Table`` (or RecordBatch) whose column names are field paths."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cols: dict[str, Column] = {}
        for name in table.column_names:
            arr = table.column(name)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            t = arr.type
            valid = None
            if arr.null_count:
                valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
            if pa.types.is_dictionary(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
                enc = arr if pa.types.is_dictionary(t) else pc.dictionary_encode(arr)
                codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
                cats = tuple(str(c) for c in enc.dictionary.to_pylist())
                cols[name] = Column("string", codes, None, cats)
            elif pa.types.is_boolean(t):
                vals = arr.fill_null(False).to_numpy(zero_copy_only=False).astype(np.bool_)
                cols[name] = Column("bool", vals, valid)
            elif pa.types.is_date(t):
                days = arr.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
                cols[name] = Column("date", days.astype(np.int64) + _EPOCH, valid)
            elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
                vals = arr.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
                cols[name] = Column("number", np.asarray(vals, dtype=np.float64), valid)
            elif pa.types.is_null(t):
                cols[name] = Column("null", np.zeros(len(arr), dtype=np.int8))
            else:
                raise TypeError(f"column {name!r} has unsupported arrow type {t}")
        return cls(cols, table.num_rows)


# ================================================================================================
# Column values
# ================================================================================================


class _Num:
    __slots__ = ("k", "v")

    def __init__(self, v: Any, k: Any = None):
        self.v = v  # float64 array or np.float64 scalar
        self.k = k  # bool array, np.bool_ scalar, or None (all known)


class _Str:
    __slots__ = ("c",)

    def __init__(self, c: Any):
        self.c = c  # int array (-1 unknown) or int scalar (a literal)


class _Bool:
    __slots__ = ("f", "t")

    def __init__(self, t: Any, f: Any):
        self.t = t
        self.f = f


class _Null:
    __slots__ = ()


V = _Num | _Str | _Bool | _Null
_NULL = _Null()
_UNKNOWN = _Bool(np.False_, np.False_)
_TRUE = np.True_
_FALSE = np.False_


def _and_k(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _known(x: V) -> Any:
    """Known mask: None for all known, else a bool array or scalar."""
    if isinstance(x, _Num):
        return x.k
    if isinstance(x, _Str):
        return x.c >= 0
    if isinstance(x, _Bool):
        return x.t | x.f
    return _FALSE


def _bool_of(r: Any, k: Any) -> _Bool:
    if k is None:
        return _Bool(r, ~r)
    return _Bool(r & k, ~r & k)


class _Ctx:
    """Per-call state plus the current chunk's frame (rows ``lo:hi`` of the batch)."""

    __slots__ = ("as_of", "hi", "lo", "n", "pre", "ranks", "refs", "vocab")

    def __init__(self, as_of: float, vocab: dict[str, int]):
        self.as_of = np.float64(as_of)
        self.vocab = vocab
        self.n = 0
        self.lo = 0
        self.hi = 0
        self.refs: dict[str, V] = {}
        self.pre: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}  # portfolio results for the whole batch
        self.ranks: dict[tuple[str, ...], tuple[FloatArr, BoolArr]] = {}

    def rank_lut(self, values: tuple[str, ...]) -> tuple[FloatArr, BoolArr]:
        lut = self.ranks.get(values)
        if lut is None:
            size = len(self.vocab) + 1
            v = np.zeros(size, dtype=np.float64)
            k = np.zeros(size, dtype=np.bool_)
            for i, s in enumerate(values):
                code = self.vocab.get(s)
                if code is not None:
                    v[code] = i + 1
                    k[code] = True
            lut = self.ranks[values] = (v, k)
        return lut


Op = Callable[[_Ctx], V]

# ================================================================================================
# Portfolio columns
# ================================================================================================


def _run_starts(xs: FloatArr) -> tuple[IntArr, IntArr]:
    """For sorted ``xs``: bisect_left and bisect_right of every element into ``xs`` itself."""
    m = xs.shape[0]
    pos = np.arange(m, dtype=np.int64)
    start = np.ones(m, dtype=np.bool_)
    start[1:] = xs[1:] != xs[:-1]
    left = np.maximum.accumulate(np.where(start, pos, 0))
    end = np.ones(m, dtype=np.bool_)
    end[:-1] = start[1:]
    right = np.minimum.accumulate(np.where(end, pos + 1, m)[::-1])[::-1]
    return left, right


def _rank_positions(xi: FloatArr, vals: FloatArr | None, side: tuple[bool, bool]) -> tuple[
        FloatArr, IntArr | None, IntArr | None]:
    """Sorted portfolio values, and bisect_left / bisect_right of each query ``xi`` into them.

    ``vals`` None: the queries are the portfolio. ``side``: which of left / right are needed."""
    m = xi.shape[0]
    if m and bool(np.all(xi == np.floor(xi))):
        lo, hi = float(xi.min()), float(xi.max())
        # few distinct whole numbers: search each once, then look every value up
        if hi - lo <= max(2 * m, 1 << 16) and max(abs(lo), abs(hi)) < 2.0**52:
            sorted_vals = np.sort(xi) if vals is None else vals
            grid = np.arange(lo, hi + 1, dtype=np.float64)
            off = (xi - lo).astype(np.int64)
            left = _i64(np.searchsorted(sorted_vals, grid, side="left"))[off] if side[0] else None
            right = _i64(np.searchsorted(sorted_vals, grid, side="right"))[off] if side[1] else None
            return sorted_vals, left, right
    order = np.argsort(xi)
    xs = xi[order]
    if vals is None:
        ls, rs = _run_starts(xs)
        vals = xs
    else:  # sorted keys: numpy's binary search reuses the previous bound, so this is cache friendly
        ls = _i64(np.searchsorted(vals, xs, side="left"))
        rs = _i64(np.searchsorted(vals, xs, side="right")) if side[1] else ls
    left_out: IntArr | None = None
    right_out: IntArr | None = None
    if side[0]:
        left_out = np.empty(m, dtype=np.int64)
        left_out[order] = ls
    if side[1]:
        right_out = np.empty(m, dtype=np.int64)
        right_out[order] = rs
    return vals, left_out, right_out


def _i64(a: NDArray[Any]) -> IntArr:
    return a.astype(np.int64, copy=False)


_Site = tuple[str, str, int]  # (function, key, k)


def _portfolio_results(sites: Sequence[_Site], xv: FloatArr, xk: BoolArr, stats: PortfolioStats | None,
                       key: str) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Every call site ranking ``key``, over the whole batch at once (None = unknown for all rows)."""
    n = xv.shape[0]
    xi = xv[xk]
    given = None
    if stats is not None:
        col = stats._col(key)  # raises PortfolioRequiredError for a column these stats lack
        given = np.array(col.values, dtype=np.float64)
    if np.isnan(xi).any() or (given is not None and np.isnan(given).any()):
        return {s: _portfolio_py(s, xv, xk, stats, key) for s in sites}
    need_left = any(f in ("percentile", "quantile") for f, _, _ in sites)
    need_right = any(f == "cumshare" for f, _, _ in sites)
    only_quantiles = all(f == "quantile" for f, _, _ in sites)
    left = right = None
    if only_quantiles:
        vals = given if given is not None else np.sort(xi)
    else:
        vals, left, right = _rank_positions(xi, given, (need_left, need_right))
    size = vals.shape[0]
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for site in sites:
        func, _, k = site
        if size == 0:
            out[site] = None
            continue
        if func == "percentile":
            assert left is not None
            r = left / size
        elif func == "quantile":
            if left is not None:
                r = (1 + np.minimum(k - 1, (left * k) // size)).astype(np.float64)
            else:
                # bucket q is reached when bisect_left >= ceil((q-1) * size / k), i.e. x > vals[that - 1]
                marks = np.array([vals[-((-(q - 1) * size) // k) - 1] for q in range(2, k + 1)])
                r = (1 + np.searchsorted(marks, xi, side="left")).astype(np.float64)
        else:
            assert right is not None
            if given is not None:
                prefix = np.array(stats._col(key).positive_prefix, dtype=np.float64)  # type: ignore[union-attr]
            else:
                prefix = np.empty(size + 1, dtype=np.float64)
                prefix[0] = 0.0
                np.cumsum(np.maximum(vals, 0.0), out=prefix[1:])  # sequential, as itertools.accumulate
            total = float(prefix[-1])
            if total <= 0:
                out[site] = None
                continue
            y = (total - prefix[right] + xi) / total
            r = np.where(xi <= 0, 1.0, np.where(y < 1.0, y, 1.0))
        full = np.zeros(n, dtype=np.float64)
        full[xk] = r
        out[site] = (full, xk)
    return out


def _portfolio_py(site: _Site, xv: FloatArr, xk: BoolArr, stats: PortfolioStats | None,
                  key: str) -> tuple[FloatArr, BoolArr] | None:
    """The scalar definition row by row, for values (NaN) that numpy orders differently from bisect."""
    if stats is None:
        listed = [float(v) if k else None for v, k in zip(xv.tolist(), xk.tolist(), strict=True)]
        stats = PortfolioStats({key: listed}, len(listed))
    func, _, k = site
    res = np.zeros(xv.shape[0], dtype=np.float64)
    known = xk.copy()
    for i in np.nonzero(xk)[0].tolist():
        xi = float(xv[i])
        r: float | int | None
        if func == "percentile":
            r = stats.percentile(key, xi)
        elif func == "cumshare":
            r = stats.cumshare(key, xi)
        else:
            r = stats.quantile(key, xi, k)
        if r is None:
            known[i] = False
        else:
            res[i] = r
    return res, known


# ================================================================================================
# Expression compiler
# ================================================================================================


def _cmp_op(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _compare(op: str, a: V, b: V) -> _Bool:
    if isinstance(a, _Null) or isinstance(b, _Null):
        return _UNKNOWN
    if isinstance(a, _Num) and isinstance(b, _Num):
        return _bool_of(_cmp_op(op, a.v, b.v), _and_k(a.k, b.k))
    if isinstance(a, _Str) and isinstance(b, _Str):
        r = (a.c == b.c) if op == "==" else (a.c != b.c)
        return _bool_of(r, (a.c >= 0) & (b.c >= 0))
    if isinstance(a, _Bool) and isinstance(b, _Bool):
        eq_t = (a.t & b.t) | (a.f & b.f)
        eq_f = (a.t & b.f) | (a.f & b.t)
        return _Bool(eq_t, eq_f) if op == "==" else _Bool(eq_f, eq_t)
    raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__} using {op!r}")


def _arith(op: str, a: V, b: V) -> V:
    if isinstance(a, _Null) or isinstance(b, _Null):
        return _NULL
    if not (isinstance(a, _Num) and isinstance(b, _Num)):
        raise TypeError(f"{op!r} needs numbers")
    k = _and_k(a.k, b.k)
    if op == "+":
        return _finite(a.v + b.v, k)
    if op == "-":
        return _finite(a.v - b.v, k)
    if op == "*":
        return _finite(a.v * b.v, k)
    return _divide(a.v, b.v, k)


def _finite(v: Any, k: Any) -> _Num:
    """An arithmetic result that overflowed to inf (or became NaN) is unknown, as in the closures."""
    ok = np.isfinite(v)
    return _Num(v, ok if k is None else k & ok)


def _divide(a: Any, b: Any, k: Any) -> _Num:
    zero = b == 0
    return _finite(a / np.where(zero, 1.0, b), ~zero if k is None else k & ~zero)


def _logic(op: str, vals: list[V]) -> _Bool:
    bs = [v if isinstance(v, _Bool) else _UNKNOWN for v in vals]
    t, f = bs[0].t, bs[0].f
    if op == "and":
        for b in bs[1:]:
            t = t & b.t
            f = f | b.f
    else:
        for b in bs[1:]:
            t = t | b.t
            f = f & b.f
    return _Bool(t, f)


def _coalesce(vals: list[V]) -> V:
    vs = [v for v in vals if not isinstance(v, _Null)]
    if not vs:
        return _NULL
    last = vs[-1]
    if isinstance(last, _Num):
        v, k = last.v, last.k
        for a in reversed(vs[:-1]):
            assert isinstance(a, _Num)
            if a.k is None:
                v, k = a.v, None
            else:
                v = np.where(a.k, a.v, v)
                k = None if k is None else (a.k | k)
        return _Num(v, k)
    if isinstance(last, _Str):
        c = last.c
        for a in reversed(vs[:-1]):
            assert isinstance(a, _Str)
            c = np.where(a.c >= 0, a.c, c)
        return _Str(c)
    assert isinstance(last, _Bool)
    t, f = last.t, last.f
    for a in reversed(vs[:-1]):
        assert isinstance(a, _Bool)
        unk = ~(a.t | a.f)
        t = a.t | (unk & t)
        f = a.f | (unk & f)
    return _Bool(t, f)


def _min_max(func: str, vals: list[V]) -> V:
    if any(not isinstance(v, _Num) for v in vals):
        return _NULL
    nums = [v for v in vals if isinstance(v, _Num)]
    res, k = nums[0].v, nums[0].k
    for a in nums[1:]:
        # Python's min/max: replace the current best only when strictly better (NaN and -0.0 as Python)
        res = np.where(a.v < res, a.v, res) if func == "min" else np.where(a.v > res, a.v, res)
        k = _and_k(k, a.k)
    return _Num(res, k)


class _Compiler:
    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab
        self.sites: dict[_Site, None] = {}

    def code(self, s: str) -> int:
        return self.vocab.setdefault(s, len(self.vocab))

    def const(self, v: Any) -> V:
        if v is None:
            return _NULL
        if isinstance(v, bool):
            return _Bool(np.bool_(v), np.bool_(not v))
        if isinstance(v, int | float):
            return _Num(np.float64(v))
        if isinstance(v, dt.date):
            return _Num(np.float64(v.toordinal()))
        if isinstance(v, str):
            return _Str(np.int64(self.code(v)))
        raise TypeError(f"cannot use a literal of type {type(v).__name__}")

    def expr(self, e: Expr) -> Op:  # noqa: C901 - one branch per node type
        if isinstance(e, Literal):
            c = self.const(e.value)
            return lambda ctx: c
        if isinstance(e, Ref):
            if e.kind == "as_of":
                return lambda ctx: _Num(ctx.as_of)
            key = e.key
            return lambda ctx: ctx.refs[key]
        if isinstance(e, Unary):
            f = self.expr(e.operand)

            def neg(ctx: _Ctx) -> V:
                v = f(ctx)
                return _Num(-v.v, v.k) if isinstance(v, _Num) else _NULL

            return neg
        if isinstance(e, Binary):
            lf, rf = self.expr(e.left), self.expr(e.right)
            op = e.op
            if op in ("==", "!=", "<", "<=", ">", ">="):
                return lambda ctx: _compare(op, lf(ctx), rf(ctx))
            return lambda ctx: _arith(op, lf(ctx), rf(ctx))
        if isinstance(e, Logic):
            fs = [self.expr(o) for o in e.operands]
            lop = e.op
            return lambda ctx: _logic(lop, [f(ctx) for f in fs])
        if isinstance(e, Not):
            f = self.expr(e.operand)

            def not_(ctx: _Ctx) -> V:
                v = f(ctx)
                return _Bool(v.f, v.t) if isinstance(v, _Bool) else _UNKNOWN

            return not_
        if isinstance(e, IsNull):
            f = self.expr(e.operand)
            negated = e.negated

            def is_null(ctx: _Ctx) -> V:
                k = _known(f(ctx))
                if k is None:
                    k = _TRUE
                return _Bool(k, ~k) if negated else _Bool(~k, k)

            return is_null
        if isinstance(e, InList):
            return self.in_list(e)
        if isinstance(e, InRange):
            return self.in_range(e)
        if isinstance(e, Call):
            return self.call(e)
        if isinstance(e, EnumRank):
            f = self.expr(e.operand)
            values = e.values

            def rank(ctx: _Ctx) -> V:
                v = f(ctx)
                if not isinstance(v, _Str):
                    return _NULL
                lv, lk = ctx.rank_lut(values)
                return _Num(lv[v.c], lk[v.c])  # code -1 reads the last slot, which is never known

            return rank
        raise TypeError(f"cannot compile {type(e).__name__}")

    def in_list(self, e: InList) -> Op:
        f = self.expr(e.operand)
        negated = e.negated
        if all(isinstance(i, Literal) for i in e.items):
            consts = [self.const(i.value) for i in e.items if isinstance(i, Literal) and i.value is not None]

            def in_consts(ctx: _Ctx) -> V:
                v = f(ctx)
                if isinstance(v, _Null):
                    return _UNKNOWN
                hit: Any = _FALSE
                for c in consts:
                    eq = _compare("==", v, c)
                    hit = hit | eq.t
                known = _known(v)
                if known is None:
                    known = _TRUE
                return _Bool(known & ~hit, known & hit) if negated else _Bool(known & hit, known & ~hit)

            return in_consts
        items = [self.expr(i) for i in e.items]

        def in_items(ctx: _Ctx) -> V:
            v = f(ctx)
            if isinstance(v, _Null):
                return _UNKNOWN
            hit: Any = _FALSE
            unk: Any = _FALSE
            for g in items:
                w = g(ctx)
                if isinstance(w, _Null):
                    unk = _TRUE
                    continue
                wk = _known(w)
                eq = _compare("==", _as_known(v), _as_known(w)).t
                if wk is None:
                    hit = hit | eq
                else:
                    hit = hit | (wk & eq)
                    unk = unk | ~wk
            known = _known(v)
            if known is None:
                known = _TRUE
            miss = ~hit & ~unk
            return _Bool(known & miss, known & hit) if negated else _Bool(known & hit, known & miss)

        return in_items

    def in_range(self, e: InRange) -> Op:
        f, lo, hi = self.expr(e.operand), self.expr(e.low), self.expr(e.high)
        negated = e.negated

        def in_range(ctx: _Ctx) -> V:
            v, a, b = f(ctx), lo(ctx), hi(ctx)
            if not (isinstance(v, _Num) and isinstance(a, _Num) and isinstance(b, _Num)):
                return _UNKNOWN
            inside = (a.v <= v.v) & (v.v <= b.v)
            return _bool_of(~inside if negated else inside, _and_k(_and_k(v.k, a.k), b.k))

        return in_range

    def call(self, e: Call) -> Op:
        func = e.func
        if func in PORTFOLIO_FUNCTIONS:
            kq = 0
            if func == "quantile":
                k_lit = e.args[1]
                assert isinstance(k_lit, Literal) and isinstance(k_lit.value, int)
                kq = k_lit.value
            site: _Site = (func, unparse(e.args[0]), kq)
            self.sites.setdefault(site, None)

            def portfolio(ctx: _Ctx) -> V:
                got = ctx.pre[site]  # computed for the whole batch before the chunks run
                if got is None:
                    return _NULL
                return _Num(got[0][ctx.lo:ctx.hi], got[1][ctx.lo:ctx.hi])

            return portfolio
        args = [self.expr(a) for a in e.args]
        if func == "coalesce":
            return lambda ctx: _coalesce([a(ctx) for a in args])
        if func == "days_since":
            d = args[0]

            def days_since(ctx: _Ctx) -> V:
                v = d(ctx)
                return _Num(ctx.as_of - v.v, v.k) if isinstance(v, _Num) else _NULL

            return days_since
        if func in ("min", "max"):
            return lambda ctx: _min_max(func, [a(ctx) for a in args])
        if func == "abs":
            a0 = args[0]

            def abs_(ctx: _Ctx) -> V:
                v = a0(ctx)
                return _Num(np.abs(v.v), v.k) if isinstance(v, _Num) else _NULL

            return abs_
        if func == "ratio":
            a0, b0 = args

            def ratio(ctx: _Ctx) -> V:
                a, b = a0(ctx), b0(ctx)
                if not (isinstance(a, _Num) and isinstance(b, _Num)):
                    return _NULL
                return _divide(a.v, b.v, _and_k(a.k, b.k))

            return ratio
        raise TypeError(f"unknown function {func!r}")


def _as_known(v: V) -> V:
    """The same values with the unknown mask dropped (value equality only; callers mask)."""
    if isinstance(v, _Num):
        return _Num(v.v)
    if isinstance(v, _Bool):
        return _Bool(v.t, ~v.t)
    return v


def _value_type(e: Expr) -> str:
    """number | bool | date | string | null: how a metric's column is given back."""
    if isinstance(e, Literal):
        return "string" if e.type.name == "enum" else e.type.name
    if isinstance(e, Ref):
        return "string" if e.type.name == "enum" else e.type.name
    if isinstance(e, Binary):
        return "bool" if e.op in ("==", "!=", "<", "<=", ">", ">=") else "number"
    if isinstance(e, Logic | Not | IsNull | InList | InRange):
        return "bool"
    if isinstance(e, Call) and e.func == "coalesce":
        for a in e.args:
            t = _value_type(a)
            if t != "null":
                return t
        return "null"
    return "number"


# ================================================================================================
# The compiled program
# ================================================================================================


@dataclass(frozen=True, slots=True)
class _VTable:
    table: CTable
    section: str
    out_key: str
    hit: str
    conds: tuple[Op | None, ...]
    ids: tuple[str, ...]
    then: IntArr  # output code per row (-1: none)
    default: int
    order: tuple[int, ...] | None  # priority: rows by (rank of output, index)
    risk: IntArr | None  # churn: risk code per row
    default_risk: int
    index: ColumnIndex | None  # first-hit tables whose rows test one value


@dataclass(frozen=True, slots=True)
class _VStages:
    conds: tuple[Op | None, ...]
    ids: tuple[str, ...]
    then: IntArr
    sources: tuple[tuple[int, ...], ...]  # state codes each transition leaves from
    states: tuple[int, ...]
    start: int
    otherwise: int  # -1: stay


@dataclass(frozen=True, slots=True)
class _Program:
    plan: Plan
    vocab: dict[str, int]  # literals and every output value; copied and extended per call
    field_refs: dict[str, str]  # field key -> kind it is read as
    metrics: tuple[tuple[str, Op, str], ...]
    local_metrics: tuple[tuple[str, Op], ...]
    portfolio_args: tuple[tuple[str, Op], ...]
    sites: tuple[_Site, ...]
    segments: tuple[tuple[str, _VTable], ...]
    tiers: _VTable | None
    stages: _VStages | None
    churn: _VTable | None
    churn_score: Op | None
    action_ids: tuple[str, ...]
    action_conds: tuple[Op | None, ...]


def _all_exprs(plan: Plan) -> list[Expr]:
    return all_expressions(plan.spec)


def _compile(plan: Plan) -> _Program:
    vocab: dict[str, int] = {}
    comp = _Compiler(vocab)
    spec = plan.spec

    field_refs: dict[str, str] = {}
    port_args: dict[str, Op] = {}
    for e in _all_exprs(plan):
        for node in walk(e):
            if isinstance(node, Ref) and node.kind == "field":
                field_refs[node.key] = "string" if node.type.name == "enum" else node.type.name
            if isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
                key = unparse(node.args[0])
                if key not in port_args:
                    port_args[key] = comp.expr(node.args[0])
    if plan.stages is not None:
        field_refs.setdefault("relationship.stage", "string")

    metrics = tuple((m.name, comp.expr(m.expr), _value_type(m.expr)) for m in spec.metrics)
    local_names = {m.name for m in plan.local_metrics}
    local = tuple((name, op) for name, op, _ in metrics if name in local_names)

    def rows_ops(rows: Sequence[CRow]) -> tuple[Op | None, ...]:
        return tuple(comp.expr(r.row.when) if r.row.when is not None else None for r in rows)

    def table(t: CTable) -> _VTable:
        tab = t.table
        for v in tab.values:
            comp.code(v)
        then = np.array([comp.code(r.row.then) if r.row.then is not None else -1 for r in t.rows], dtype=np.int64)
        order = tuple(priority_order(t)) if tab.hit == "priority" else None
        risk = None
        if t.section == "churn":
            risk = np.array([comp.code(r.row.risk) if r.row.risk is not None else -1 for r in t.rows],
                            dtype=np.int64)
        return _VTable(
            table=t, section=t.section, out_key=t.output_key, hit=tab.hit, conds=rows_ops(t.rows),
            ids=tuple(r.row.id for r in t.rows), then=then,
            default=comp.code(tab.default) if tab.default is not None else -1, order=order, risk=risk,
            default_risk=comp.code(tab.default_risk) if tab.default_risk is not None else -1,
            index=ColumnIndex(t.rows.lookup) if tab.hit == "first" and isinstance(t.rows, IndexedRows) else None,
        )

    segments = tuple((t.section[len("segment:"):], table(t)) for t in plan.segments)
    tiers = table(plan.tiers) if plan.tiers is not None else None
    stages = None
    if plan.stages is not None:
        st = plan.stages
        for s in st.states:
            comp.code(s)
        stages = _VStages(
            conds=rows_ops(st.rows), ids=tuple(r.row.id for r in st.rows),
            then=np.array([comp.code(r.row.then or "") for r in st.rows], dtype=np.int64),
            sources=tuple(tuple(comp.code(s) for s in r.row.sources) for r in st.rows),
            states=tuple(comp.code(s) for s in st.states), start=comp.code(st.start),
            otherwise=-1 if st.otherwise == "stay" else comp.code(st.otherwise),
        )
    churn = table(plan.churn) if plan.churn is not None else None
    score = spec.churn.score if spec.churn is not None else None
    return _Program(
        plan=plan, vocab=vocab, field_refs=field_refs, metrics=metrics, local_metrics=local,
        portfolio_args=tuple(port_args.items()), sites=tuple(comp.sites), segments=segments, tiers=tiers,
        stages=stages, churn=churn,
        churn_score=comp.expr(score) if score is not None else None,
        action_ids=tuple(r.row.id for r in plan.action_rules), action_conds=rows_ops(plan.action_rules),
    )


_PROGRAMS: dict[int, tuple[Plan, _Program]] = {}
_PROGRAMS_LOCK = threading.Lock()


def _program(plan: Plan) -> _Program:
    hit = _PROGRAMS.get(id(plan))
    if hit is not None and hit[0] is plan:
        return hit[1]
    prog = _compile(plan)
    with _PROGRAMS_LOCK:
        if len(_PROGRAMS) >= 16:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[id(plan)] = (plan, prog)  # the plan is kept alive, so its id is not reused
    return prog


# ================================================================================================
# Running a program over a batch
# ================================================================================================


def _full(x: Any, n: int) -> NDArray[Any]:
    a = np.asarray(x)
    return a if a.shape == (n,) else np.broadcast_to(a, (n,))


def _fires(conds: Sequence[Op | None], ctx: _Ctx) -> list[BoolArr]:
    n = ctx.n
    out: list[BoolArr] = []
    for c in conds:
        if c is None:
            out.append(np.ones(n, dtype=np.bool_))
            continue
        v = c(ctx)
        out.append(_full(v.t, n) if isinstance(v, _Bool) else np.zeros(n, dtype=np.bool_))
    return out


class _Out:
    """Full-length output arrays, filled chunk by chunk."""

    def __init__(self, prog: _Program, n: int, with_metrics: bool):
        def ints() -> IntArr:
            return np.full(n, -1, dtype=np.int64)

        self.seg = {name: (ints(), ints()) for name, _ in prog.segments}
        self.tier, self.tier_rule = ints(), ints()
        self.stage_from, self.stage, self.transition = ints(), ints(), ints()
        self.kind, self.risk, self.churn_rule = ints(), ints(), ints()
        self.score = np.zeros(n, dtype=np.float64)
        self.score_known = np.zeros(n, dtype=np.bool_)
        self.pattern = np.zeros(n, dtype=np.int64)
        self.patterns: dict[Any, int] = {}  # pattern key -> pattern id
        self.errors: dict[int, tuple[str, tuple[str, ...]]] = {}
        self.metrics: dict[str, tuple[NDArray[Any], BoolArr]] = {}
        if with_metrics:
            for name, _, kind in prog.metrics:
                dtype = np.bool_ if kind == "bool" else np.int64 if kind == "string" else np.float64
                self.metrics[name] = (np.zeros(n, dtype=dtype), np.zeros(n, dtype=np.bool_))


def _run_table(t: _VTable, ctx: _Ctx, base: int, out: _Out, dead: BoolArr) -> tuple[IntArr, IntArr]:
    """Output codes and matched row (-1 = default) of one table; conflicts are recorded as errors."""
    n = ctx.n
    idx = _indexed_first(t.index, t.conds, ctx) if t.index is not None else None
    if idx is None:
        res = resolve_masks(t.table, _fires(t.conds, ctx), n, t.order, dead)
        for r, err in res.conflicts.items():
            out.errors[base + r] = err
            dead[r] = True
        idx = res.idx
    codes = np.where(idx >= 0, t.then[np.maximum(idx, 0)] if len(t.then) else -1, t.default)
    return codes, idx


def _indexed_first(ix: ColumnIndex, conds: Sequence[Op | None], ctx: _Ctx) -> IntArr | None:
    """The first-hit row per batch row through the table's index; None when the value's column
    is not of the kind the index expects (then the table is scanned)."""
    n = ctx.n
    v = ctx.refs.get(ix.key, _NULL)
    if isinstance(v, _Null):
        slot: IntArr = np.full(n, len(ix.first_exact) - 1, dtype=np.int64)
    elif ix.kind == "string" and isinstance(v, _Str):
        slot = ix.code_slots(_full(v.c, n).astype(np.int64, copy=False), ctx.vocab)
    elif ix.kind != "string" and isinstance(v, _Num):
        slot = ix.number_slots(_full(v.v, n).astype(np.float64, copy=False), None if v.k is None else _full(v.k, n))
    else:
        return None
    rows = ix.scan_rows
    fires = dict(zip(rows, _fires([conds[r] for r in rows], ctx), strict=True))
    return ix.first(slot, fires)


def _run_chunk(prog: _Program, ctx: _Ctx, cols: Mapping[str, V], lo: int, hi: int, out: _Out) -> None:
    n = hi - lo
    ctx.n, ctx.lo, ctx.hi = n, lo, hi
    refs: dict[str, V] = {}
    for key, v in cols.items():
        refs[key] = _slice(v, lo, hi)
    ctx.refs = refs
    dead = np.zeros(n, dtype=np.bool_)
    sl = slice(lo, hi)

    for name, op, _ in prog.metrics:
        refs[name] = op(ctx)
        if name in out.metrics:
            _store(out.metrics[name], refs[name], sl, n)
    for name, t in prog.segments:
        codes, idx = _run_table(t, ctx, lo, out, dead)
        refs[t.out_key] = _Str(codes)
        out.seg[name][0][sl] = codes
        out.seg[name][1][sl] = idx
    if prog.tiers is not None:
        codes, idx = _run_table(prog.tiers, ctx, lo, out, dead)
        refs["tier"] = _Str(codes)
        out.tier[sl] = codes
        out.tier_rule[sl] = idx
    if prog.stages is not None:
        st = prog.stages
        given = refs.get("relationship.stage")
        gc = _full(given.c, n) if isinstance(given, _Str) else np.full(n, -1, dtype=np.int64)
        current = np.full(n, st.start, dtype=np.int64)
        for s in st.states:
            current[gc == s] = s
        fires = _fires(st.conds, ctx)
        for j, srcs in enumerate(st.sources):
            from_ok = np.zeros(n, dtype=np.bool_)
            for s in srcs:
                from_ok |= current == s
            fires[j] = fires[j] & from_ok
        idx = first_true(fires, n)
        stay = current if st.otherwise < 0 else np.full(n, st.otherwise, dtype=np.int64)
        to = np.where(idx >= 0, st.then[np.maximum(idx, 0)] if len(st.then) else -1, stay)
        refs["stage"] = _Str(to)
        out.stage_from[sl] = gc
        out.stage[sl] = to
        out.transition[sl] = idx
    if prog.churn is not None:
        if prog.churn_score is not None:
            score = prog.churn_score(ctx)
            refs["churn.score"] = score
            if isinstance(score, _Num):
                out.score[sl] = _full(score.v, n)
                out.score_known[sl] = True if score.k is None else _full(score.k, n)
        t = prog.churn
        codes, idx = _run_table(t, ctx, lo, out, dead)
        assert t.risk is not None
        risk = np.where(idx >= 0, t.risk[np.maximum(idx, 0)] if len(t.risk) else -1, t.default_risk)
        refs["churn.kind"] = _Str(codes)
        refs["churn.risk"] = _Str(risk)
        out.kind[sl] = codes
        out.risk[sl] = risk
        out.churn_rule[sl] = idx
    if prog.action_conds:
        keys = _pattern_keys(_fires(prog.action_conds, ctx), n)
        uniq, inverse = np.unique(keys, return_inverse=True)
        patterns = out.patterns
        ids = np.fromiter((patterns.setdefault(k, len(patterns)) for k in uniq.tolist()), dtype=np.int64,
                          count=len(uniq))
        out.pattern[sl] = ids[inverse.ravel()]


def _pattern_keys(fires: Sequence[BoolArr], n: int) -> NDArray[Any]:
    """One key per row naming the set of rules that fired: a uint64 bit set (or bytes beyond 64 rules)."""
    packed = np.packbits(np.stack(fires, axis=1), axis=1, bitorder="little")
    width = packed.shape[1]
    if width <= 8:
        words = np.zeros((n, 8), dtype=np.uint8)
        words[:, :width] = packed
        return words.view("<u8").ravel()
    return np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()


def _pattern_rules(key: Any) -> list[int]:
    if isinstance(key, int):
        out = []
        while key:
            low = key & -key
            out.append(low.bit_length() - 1)
            key ^= low
        return out
    bits = np.unpackbits(np.frombuffer(key, dtype=np.uint8), bitorder="little")
    return [int(i) for i in np.nonzero(bits)[0]]


def _slice(v: V, lo: int, hi: int) -> V:
    if isinstance(v, _Num):
        return _Num(v.v[lo:hi], None if v.k is None else v.k[lo:hi])
    if isinstance(v, _Str):
        return _Str(v.c[lo:hi])
    if isinstance(v, _Bool):
        return _Bool(v.t[lo:hi], v.f[lo:hi])
    return v


def _store(dst: tuple[NDArray[Any], BoolArr], v: V, sl: slice, n: int) -> None:
    vals, known = dst
    if isinstance(v, _Num):
        vals[sl] = _full(v.v, n)
        known[sl] = True if v.k is None else _full(v.k, n)
    elif isinstance(v, _Str):
        c = _full(v.c, n)
        vals[sl] = c
        known[sl] = c >= 0
    elif isinstance(v, _Bool):
        vals[sl] = _full(v.t, n)
        known[sl] = _full(v.t | v.f, n)
    else:
        known[sl] = False


def _column_value(col: Column | None, kind: str, key: str, n: int, vocab: dict[str, int]) -> V:
    if col is None or col.kind == "null":
        return _NULL
    ck = col.kind
    if (ck == "date") != (kind == "date") or (ck == "bool") != (kind == "bool") or \
            (ck == "string") != (kind == "string"):
        raise TypeError(f"column {key!r} holds {ck} values, but the policy reads it as {kind}")
    if ck == "string":
        lut = np.array([vocab.setdefault(c, len(vocab)) for c in col.categories] + [-1], dtype=np.int64)
        return _Str(lut[col.values])
    if ck == "bool":
        v = col.values.astype(np.bool_, copy=False)
        if col.known is None:
            return _Bool(v, ~v)
        return _Bool(v & col.known, ~v & col.known)
    return _Num(col.values.astype(np.float64, copy=False), col.known)


def output_keys(policy: Policy | Plan, metrics: bool = False) -> list[str]:
    """The keys :func:`decide_columns` returns for this policy."""
    plan = policy if isinstance(policy, Plan) else policy.plan
    keys = ["tier", "tier_rule"]
    for t in plan.segments:
        name = t.section[len("segment:"):]
        keys += [f"segment.{name}", f"segment.{name}_rule"]
    keys += ["stage_from", "stage", "stage_transition", "churn_kind", "churn_risk", "churn_score", "churn_rule",
             "actions", "action_rules", "error", "error_rules"]
    if metrics:
        keys += [f"metric.{m.name}" for m in plan.metrics]
    return keys


def decide_columns(
    policy: Policy | Plan,
    columns: ColumnBatch | Mapping[str, Any],
    *,
    as_of: dt.date,
    stats: PortfolioStats | None = None,
    chunk_size: int = 1 << 15,
    metrics: bool = False,
) -> dict[str, list[Any]]:
    """Decide every row of ``columns`` at once; the same outcome per row as ``Policy.decide``.

    ``stats`` are the portfolio statistics to rank against; without them the batch itself is the
    portfolio (as ``Policy.decide_many``). Returns flat columns, one entry per row (see
    :func:`output_keys`): codes or ``None``, the id of the row/transition that decided each section
    (``None`` = default / stay), ``actions`` as a tuple of codes in the driver's order,
    ``action_rules`` the ids of the action rules that fired, and ``error``: ``None``, or the message
    of the :class:`~accountrules.errors.DecisionError` ``Policy.decide`` would raise for that row
    (``error_rules`` names the rows) — such a row's other outputs are all ``None``.
    """
    plan = policy if isinstance(policy, Plan) else policy.plan
    prog = _program(plan)
    batch = columns if isinstance(columns, ColumnBatch) else ColumnBatch.from_mapping(columns)
    n = batch.size
    vocab = dict(prog.vocab)
    ctx = _Ctx(float(as_of.toordinal()), vocab)
    cols: dict[str, V] = {
        key: _column_value(batch.columns.get(key), kind, key, n, vocab) for key, kind in prog.field_refs.items()
    }
    step = max(1, chunk_size)
    with np.errstate(all="ignore"):
        if prog.portfolio_args:
            ctx.pre = _portfolio_columns(prog, ctx, cols, n, stats, step)
        out = _Out(prog, n, metrics)
        for lo in range(0, n, step):
            _run_chunk(prog, ctx, cols, lo, min(n, lo + step), out)
    return _finish(prog, out, vocab, n)


def portfolio_stats(policy: Policy | Plan, columns: ColumnBatch | Mapping[str, Any], *,
                    as_of: dt.date) -> PortfolioStats:
    """The :class:`PortfolioStats` of a batch (what ``Policy.portfolio_stats`` gives for the same accounts),
    e.g. to store with a CRM and rank later single decisions against."""
    plan = policy if isinstance(policy, Plan) else policy.plan
    prog = _program(plan)
    batch = columns if isinstance(columns, ColumnBatch) else ColumnBatch.from_mapping(columns)
    vocab = dict(prog.vocab)
    ctx = _Ctx(float(as_of.toordinal()), vocab)
    cols = {key: _column_value(batch.columns.get(key), kind, key, batch.size, vocab)
            for key, kind in prog.field_refs.items()}
    with np.errstate(all="ignore"):
        values, known = _ranked_values(prog, ctx, cols, batch.size, 1 << 15)
    # sorted first: PortfolioStats sorts again, and sorting a sorted list is linear
    return PortfolioStats({k: np.sort(values[k][known[k]]).tolist() for k in values}, batch.size)


def _ranked_values(prog: _Program, ctx: _Ctx, cols: Mapping[str, V], n: int, step: int) -> tuple[
        dict[str, FloatArr], dict[str, BoolArr]]:
    """Every ranked expression (and the local metrics it reads) over the whole batch."""
    values = {key: np.zeros(n, dtype=np.float64) for key, _ in prog.portfolio_args}
    known = {key: np.zeros(n, dtype=np.bool_) for key, _ in prog.portfolio_args}
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        ctx.n, ctx.lo, ctx.hi = hi - lo, lo, hi
        ctx.refs = {k: _slice(v, lo, hi) for k, v in cols.items()}
        for name, op in prog.local_metrics:
            ctx.refs[name] = op(ctx)
        for key, op in prog.portfolio_args:
            _store((values[key], known[key]), op(ctx), slice(lo, hi), hi - lo)
    return values, known


def _portfolio_columns(prog: _Program, ctx: _Ctx, cols: Mapping[str, V], n: int, stats: PortfolioStats | None,
                       step: int) -> dict[_Site, tuple[FloatArr, BoolArr] | None]:
    """Evaluate every ranked expression over the batch, then rank it."""
    values, known = _ranked_values(prog, ctx, cols, n, step)
    out: dict[_Site, tuple[FloatArr, BoolArr] | None] = {}
    for key, _ in prog.portfolio_args:
        sites = [s for s in prog.sites if s[1] == key]
        out.update(_portfolio_results(sites, values[key], known[key], stats, key))
    return out


def _nullable(obj: NDArray[Any], known: BoolArr) -> list[Any]:
    """An object array as a list, with None where ``known`` is false."""
    none = np.empty(1, dtype=object)  # [None]
    out: list[Any] = np.where(known, obj, none).tolist()
    return out


def _finish(prog: _Program, out: _Out, vocab: dict[str, int], n: int) -> dict[str, list[Any]]:
    names = np.array([*sorted(vocab, key=vocab.__getitem__), None], dtype=object)  # code -1 -> None

    def strings(codes: IntArr) -> list[Any]:
        res: list[Any] = names[codes].tolist()
        return res

    def rule_ids(ids: tuple[str, ...], idx: IntArr) -> list[Any]:
        res: list[Any] = np.array([*ids, None], dtype=object)[idx].tolist()
        return res

    none: list[Any] = [None] * n
    res: dict[str, list[Any]] = {}
    if prog.tiers is not None:
        res["tier"] = strings(out.tier)
        res["tier_rule"] = rule_ids(prog.tiers.ids, out.tier_rule)
    else:
        res["tier"], res["tier_rule"] = none, list(none)
    for name, t in prog.segments:
        seg_codes, idx = out.seg[name]
        res[f"segment.{name}"] = strings(seg_codes)
        res[f"segment.{name}_rule"] = rule_ids(t.ids, idx)
    if prog.stages is not None:
        res["stage_from"] = strings(out.stage_from)
        res["stage"] = strings(out.stage)
        res["stage_transition"] = rule_ids(prog.stages.ids, out.transition)
    else:
        res["stage_from"], res["stage"], res["stage_transition"] = list(none), list(none), list(none)
    if prog.churn is not None:
        res["churn_kind"] = strings(out.kind)
        res["churn_risk"] = strings(out.risk)
        res["churn_score"] = _nullable(out.score.astype(object), out.score_known)
        res["churn_rule"] = rule_ids(prog.churn.ids, out.churn_rule)
    else:
        for k in ("churn_kind", "churn_risk", "churn_score", "churn_rule"):
            res[k] = list(none)
    if prog.action_conds:
        codes_of: list[tuple[str, ...]] = []
        rules_of: list[tuple[str, ...]] = []
        for key in out.patterns:  # in id order
            rules = _pattern_rules(key)
            codes_of.append(tuple(merge_actions(prog.plan.action_rules[i] for i in rules)))
            rules_of.append(tuple(prog.action_ids[i] for i in rules))
        lut_codes = np.empty(len(codes_of), dtype=object)
        lut_codes[:] = codes_of
        lut_rules = np.empty(len(rules_of), dtype=object)
        lut_rules[:] = rules_of
        res["actions"] = lut_codes[out.pattern].tolist()
        res["action_rules"] = lut_rules[out.pattern].tolist()
    else:
        res["actions"] = [()] * n
        res["action_rules"] = [()] * n
    res["error"] = list(none)
    res["error_rules"] = [()] * n
    for name, _, kind in prog.metrics:
        if name not in out.metrics:
            continue
        vals, known = out.metrics[name]
        if kind == "string":
            col = strings(np.where(known, vals, -1))
        elif kind == "date":
            col = [dt.date.fromordinal(int(v)) if k else None
                   for v, k in zip(vals.tolist(), known.tolist(), strict=True)]
        else:
            col = _nullable(vals.astype(object), known)
        res[f"metric.{name}"] = col
    for row, (msg, ids) in out.errors.items():
        for column in res.values():
            column[row] = None
        res["error"][row] = msg
        res["error_rules"][row] = ids
    return res
