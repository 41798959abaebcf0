"""Input columns of the vector evaluator: :class:`Column`, :class:`ColumnBatch`, and reading them as values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from accountrules.evaluate.vector.values import _NULL, BoolArr, V, _Bool, _Num, _Str
from accountrules.model.fields import FIELDS

_EPOCH = dt.date(1970, 1, 1).toordinal()
_KINDS = ("number", "bool", "date", "string", "null")


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

    __slots__ = ("columns", "size", "tie_ids")

    def __init__(self, columns: Mapping[str, Column], size: int | None = None, tie_ids: Any = None):
        sizes = {len(c) for c in columns.values()}
        if size is None:
            if len(sizes) > 1:
                raise ValueError(f"columns differ in length: {sorted(sizes)}")
            size = sizes.pop() if sizes else 0
        elif sizes and sizes != {size}:
            raise ValueError(f"columns differ in length from {size}: {sorted(sizes)}")
        self.columns: dict[str, Column] = dict(columns)
        self.size: int = size
        # account ids kept only to rank ties (``quantile(x, k, 'first')``), as an object array of str /
        # None, when the policy does not read ``id`` itself: no dictionary of a column that is all distinct
        self.tie_ids: NDArray[Any] | None = tie_ids
        if tie_ids is not None and len(tie_ids) != size:
            raise ValueError(f"tie_ids hold {len(tie_ids)} ids for {size} rows")

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
    def from_arrow(cls, table: Any, *, tie_ids: Any = None) -> ColumnBatch:
        """From a ``pyarrow.Table`` (or RecordBatch) whose column names are field paths; ``tie_ids``: an
        Arrow string array of the rows' account ids, kept only to rank ties by (see ``tie_ids``)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        cols: dict[str, Column] = {}
        for name in table.column_names:
            arr = table.column(name)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            t = arr.type
            valid = None
            # a cast to the type it has and a fill of no nulls would each cost a kernel call per column
            nulls = arr.null_count
            if nulls:
                valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
            if pa.types.is_dictionary(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
                enc = arr if pa.types.is_dictionary(t) else pc.dictionary_encode(arr)
                indices = enc.indices.fill_null(-1) if enc.indices.null_count else enc.indices
                codes = indices.to_numpy(zero_copy_only=False).astype(np.int32)
                cats = tuple(str(c) for c in enc.dictionary.to_pylist())
                cols[name] = Column("string", codes, None, cats)
            elif pa.types.is_boolean(t):
                vals = (arr.fill_null(False) if nulls else arr).to_numpy(zero_copy_only=False).astype(np.bool_)
                cols[name] = Column("bool", vals, valid)
            elif pa.types.is_date(t):
                days = (arr if t == pa.date32() else arr.cast(pa.date32())).cast(pa.int32())
                days = (days.fill_null(0) if nulls else days).to_numpy(zero_copy_only=False)
                cols[name] = Column("date", days.astype(np.int64) + _EPOCH, valid)
            elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
                num = arr if t == pa.float64() else arr.cast(pa.float64())
                vals = (num.fill_null(0.0) if nulls else num).to_numpy(zero_copy_only=False)
                cols[name] = Column("number", np.asarray(vals, dtype=np.float64), valid)
            elif pa.types.is_null(t):
                cols[name] = Column("null", np.zeros(len(arr), dtype=np.int8))
            else:
                raise TypeError(f"column {name!r} has unsupported arrow type {t}")
        if tie_ids is not None:
            if isinstance(tie_ids, pa.ChunkedArray):
                tie_ids = tie_ids.combine_chunks()
            if pa.types.is_null(tie_ids.type):
                tie_ids = tie_ids.cast(pa.string())
            if not (pa.types.is_string(tie_ids.type) or pa.types.is_large_string(tie_ids.type)):
                raise TypeError(f"tie_ids must be text, not {tie_ids.type}")
            tie_ids = np.asarray(tie_ids.to_numpy(zero_copy_only=False), dtype=object)
            return cls(cols, len(tie_ids), tie_ids)
        return cls(cols, table.num_rows)


# ================================================================================================
# Column values
# ================================================================================================


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
