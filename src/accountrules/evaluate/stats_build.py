"""Building :class:`PortfolioStats` from numpy columns, one sort per column, compactly.

The statistics equal ``PortfolioStats({key: values}, size, ids)`` with None for NaN. What they
hold, and what building them costs, grows with the portfolio, so both are kept small: a column is
sorted in place in the ``array('d')`` the statistics keep (a batch gathers its values straight
into it, so no whole-column copy is made at the end); prefix sums are left for the first cumshare to build
(``portfolio.prefix_sums``); and the ids of a key ranked by id are one UTF-8 buffer shared by the
keys plus a 4-byte index per value (:class:`~accountrules.evaluate.packed_ids.PackedIds`), not an
object array of ``str``. Keys are built one after another, so a key's temporaries are let go
before the next key's are made.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Mapping, MutableMapping
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from accountrules.evaluate.own_ranks import Positions, sort_with_positions
from accountrules.evaluate.packed_ids import PackedIds, int_typecode
from accountrules.evaluate.portfolio import PortfolioStats

BoolArr = NDArray[np.bool_]
IntArr = NDArray[np.int64]
FloatArr = NDArray[np.float64]
StrArr = NDArray[np.str_]
ObjArr = NDArray[np.object_]


class IdOrder(NamedTuple):
    """Account ids of a batch's rows and their order: ``ids`` an object array of str (None for a row
    with no id) or a pyarrow string array (chunked or not); ``order`` the row indices sorted by id in
    code-point order (Python's str order; equal ids in any order, as their pairs are equal too)."""

    ids: Any
    order: IntArr


def stats_from_arrays(columns: Mapping[str, Any], size: int, ids: Mapping[str, Any] | None = None) -> PortfolioStats:
    """:class:`PortfolioStats` from unsorted numeric columns (NaN = unknown, left out), equal to
    ``PortfolioStats({key: values}, size, ids)`` with None for NaN: one numpy sort per column.

    ``ids``: for the keys ranked with ties broken by account id, the id of each value of
    ``columns[key]`` (text, same order); keys given the same ids object share one sort of them.
    The given arrays are read, never changed."""
    ordered: dict[str, IdOrder] = {}
    done: dict[int, IdOrder] = {}
    for key, given in (ids or {}).items():
        got = done.get(id(given))
        if got is None:
            got = done[id(given)] = id_order(given)
        ordered[key] = got
    held: dict[str, array[float]] = {}
    for key, col in columns.items():
        held[key] = out = array("d")
        append_floats(out, np.asarray(col, dtype=np.float64))
    return stats_from_held(held, size, ordered)


def append_floats(out: array[float], values: FloatArr) -> None:
    """Append ``values`` to ``out`` (one copy, no Python float per value)."""
    if values.shape[0]:
        out.frombytes(np.ascontiguousarray(values, dtype=np.float64).data.cast("B"))


def stats_from_held(columns: MutableMapping[str, array[float]], size: int,
                    ordered: Mapping[str, IdOrder]) -> PortfolioStats:
    """As :func:`stats_from_arrays`, from columns the statistics may keep: each ``array('d')`` (values
    in row order, NaN unknown) is sorted in place and cut to its known values, so the statistics hold
    the very arrays the values were gathered in (``columns`` is emptied: they are the statistics'
    now). ``ordered[key]``: the ids of a key ranked by id, ordered (the same :class:`IdOrder` object
    for keys that share their ids)."""
    return stats_and_positions(columns, size, ordered, ())[0]


def stats_and_positions(columns: MutableMapping[str, array[float]], size: int, ordered: Mapping[str, IdOrder],
                        keys: Collection[str]) -> tuple[PortfolioStats, dict[str, Positions]]:
    """:func:`stats_from_held`, and for each of ``keys`` (not ranked by id; values gathered in row
    order) where each value sits in the sorted values (:func:`~.own_ranks.sort_with_positions`)."""
    positions: dict[str, Positions] = {}
    held: dict[str, tuple[array[float], None]] = {}
    held_ids: dict[str, PackedIds] = {}
    bases: dict[int, _Base] = {}
    for key in list(columns):
        values = columns.pop(key)
        if key in ordered:
            ids = ordered[key]
            base = bases.get(id(ids))
            if base is None:
                base = bases[id(ids)] = _Base.of(ids)
            held_ids[key] = PackedIds(base.data, base.offsets, _id_ranked(key, values, base))
        elif key in keys:
            got = sort_with_positions(values)
            if got is not None:
                positions[key] = got
        else:
            _sort_known(values)
        held[key] = (values, None)  # prefix sums: built by the first cumshare that reads them
    return PortfolioStats.from_sorted(held, size, held_ids), positions


def _sort_known(values: array[float]) -> None:
    """Sort ``values`` in place and cut off the unknown (NaN)."""
    view = np.frombuffer(values, dtype=np.float64)
    view.sort()  # NaN sorts last, as numpy's sort and searchsorted both order it
    known = int(np.searchsorted(view, np.nan, side="left"))
    del view  # an exported buffer would pin the array's size
    del values[known:]


def _id_ranked(key: str, values: array[float], base: _Base) -> array[int]:
    """Put the known ``values`` (in row order) in (value, id) order, in place, and cut off the unknown;
    give for each the position of its row in ``base`` (rows in id order)."""
    view = np.frombuffer(values, dtype=np.float64)
    if view.shape[0] != base.order.shape[0]:
        raise ValueError(f"{key}: {base.order.shape[0]} account ids for {view.shape[0]} values")
    xs = view[base.order]  # rows in id order: (value, position) order is (value, id) order
    known = xs.shape[0] - int(np.count_nonzero(np.isnan(xs)))
    by_value = _value_then_position(xs)[:known]  # NaN sorts last: the unknown are cut off
    if base.nulls is not None and bool(base.nulls[by_value].any()):
        raise TypeError(f"{key}: ranking ties by account id needs the id of every account with a value")
    np.take(xs, by_value, out=view[:known])
    del view, xs
    del values[known:]
    index: array[int] = array(int_typecode(base.order.shape[0]), [0]) * known
    np.frombuffer(index, dtype=np.int32 if index.itemsize == 4 else np.int64)[:] = by_value
    return index


def _value_then_position(xs: FloatArr) -> IntArr:
    """The order of ``argsort(xs, kind="stable")`` without numpy's stable sort of floats (a merge sort):
    the default sort by value, then each run of equal values put in position order by one sort of
    ``run * n + position`` (distinct integers, so any sort is stable); a column without ties is done
    after the first sort, and small whole numbers take a stable (radix) sort of 16-bit keys. NaNs (each
    unequal to all) stay last, in some order: the caller cuts them off."""
    n = xs.shape[0]
    if n < 2:
        return np.argsort(xs)
    small = _small_whole_keys(xs)
    if small is not None:  # counts, days: numpy's stable sort of 16-bit keys is a radix sort
        radix: IntArr = np.argsort(small, kind="stable")
        return radix
    order = np.argsort(xs)
    ranked = xs[order]
    tie = ranked[1:] == ranked[:-1]
    if not bool(tie.any()):
        return order
    run = np.zeros(n, dtype=np.int64)
    np.cumsum(~tie, out=run[1:])
    keys = run * n + order  # < n * n: exact in int64 up to 3e9 rows
    keys.sort()
    out: IntArr = keys % n
    return out


def _small_whole_keys(xs: FloatArr) -> NDArray[np.uint16] | None:
    """``xs`` as 16-bit keys in the same order (NaN last) when its known values are whole numbers
    spanning fewer than 65,535; else None."""
    unknown = np.isnan(xs)
    known = xs[~unknown]
    if not known.shape[0]:
        return None
    lo, hi = float(known.min()), float(known.max())
    if not -65535 < hi - lo < 65535 or not bool(np.all(known == np.floor(known))):  # NaN: infinities
        return None
    keys: NDArray[np.uint16] = np.where(unknown, 65535.0, xs - lo).astype(np.uint16)
    return keys


class _Base:
    """A batch's ids packed in id order (what every key's index points into), and where a row had none."""

    __slots__ = ("data", "nulls", "offsets", "order")

    def __init__(self, data: bytes, offsets: array[int], nulls: BoolArr | None, order: IntArr):
        self.data = data
        self.offsets = offsets
        self.nulls = nulls
        self.order = order

    @classmethod
    def of(cls, ids: IdOrder) -> _Base:
        if isinstance(ids.ids, np.ndarray):
            return cls._of_objects(ids.ids, ids.order)
        return cls._of_arrow(ids.ids, ids.order)

    @classmethod
    def _of_objects(cls, obj: ObjArr, order: IntArr) -> _Base:
        in_order = obj[order].tolist()
        nulls = none_mask(obj[order]) if any(i is None for i in in_order) else None
        encoded = [b"" if i is None else i.encode("utf-8", "surrogatepass") for i in in_order]
        del in_order
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        data = b"".join(encoded)
        del encoded
        return cls(data, _offsets(lengths, len(data)), nulls, order)

    @classmethod
    def _of_arrow(cls, ids: Any, order: IntArr) -> _Base:
        import pyarrow as pa  # ids in an Arrow array came from pyarrow

        taken = ids.take(pa.array(order))
        if isinstance(taken, pa.ChunkedArray):
            if taken.nbytes >= 2**31 - 1:  # one string array's offsets are 32-bit
                taken = taken.cast(pa.large_string())
            taken = taken.combine_chunks()
        if not (pa.types.is_string(taken.type) or pa.types.is_large_string(taken.type)):
            taken = taken.cast(pa.large_string())
        nulls = taken.is_null().to_numpy(zero_copy_only=False) if taken.null_count else None
        _, off_buf, data_buf = taken.buffers()
        wide = pa.types.is_large_string(taken.type)
        offs = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)[taken.offset:taken.offset + len(taken) + 1]
        lo, hi = int(offs[0]), int(offs[-1])
        data = b"" if data_buf is None else memoryview(data_buf)[lo:hi].tobytes()
        lengths = np.diff(offs).astype(np.int64, copy=False)
        del offs, taken, off_buf, data_buf
        return cls(data, _offsets(lengths, len(data)), nulls, order)


def _offsets(lengths: IntArr, total: int) -> array[int]:
    out: array[int] = array(int_typecode(total), [0]) * (int(lengths.shape[0]) + 1)
    view = np.frombuffer(out, dtype=np.int32 if out.itemsize == 4 else np.int64)
    np.cumsum(lengths, out=view[1:], dtype=view.dtype)
    del view
    return out


def id_order(ids: Any) -> IdOrder:
    """Account ids as an object array of str, and the row indices sorted by id in code-point order
    (Python's str order; equal ids in any order)."""
    obj = _objects(ids)
    # a numpy str array sorts in C, by code point; None (no id, no value) sorts as "None": such rows
    # are left out with their unknown values
    order = _i64(np.argsort(text_of(obj), kind="stable"))
    return IdOrder(obj, order)


def none_mask(obj: ObjArr) -> BoolArr:
    """Where an object array holds None (elementwise ``== None``, in C)."""
    out: BoolArr = cast(Any, np.equal)(obj, None)
    return out


def _objects(ids: Any) -> ObjArr:
    lst = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    # None: a row with no id, allowed while its value is unknown (stats_from_parts checks)
    if not all(isinstance(i, str) or i is None for i in lst):
        raise TypeError("ranking ties by account id needs every account's id as text")
    obj = np.empty(len(lst), dtype=object)
    obj[:] = lst
    return obj


def text_of(obj: ObjArr) -> StrArr:
    """An object array of ids as a numpy str array (sortable in C; None as "None")."""
    return obj.astype(str) if obj.shape[0] else np.empty(0, dtype="U1")


def _i64(a: NDArray[Any]) -> IntArr:
    return a.astype(np.int64, copy=False)


__all__ = ["IdOrder", "append_floats", "id_order", "none_mask", "stats_and_positions", "stats_from_arrays",
           "stats_from_held", "text_of"]
