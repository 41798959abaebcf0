"""The flat result of one part of a batch as a pyarrow Table, and its counts, without a Python object per row.

A part's outputs are Python lists (decided account by account) or pyarrow Arrays (the vector
evaluator's, see :mod:`accountrules.evaluate.vector.arrow_out`). Either way :func:`part_table`
lays out the columns of :func:`accountrules.io.schema.output_columns` (and the error columns
with ``errors=True``); Arrow columns are used as they are, lists converted once, and refused rows
are dropped with one filter. :func:`arrow_counts` counts the codes of Arrow columns in Arrow.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from accountrules.io.optional import pyarrow
from accountrules.io.schema import ACTIONS, AS_OF, HEAD_COLUMNS, LIST_COLUMNS, arrow_type, date_column

if TYPE_CHECKING:
    from accountrules.batch.errors import RowError


def _pa() -> Any:
    return pyarrow("Arrow and Parquet output")


def as_array(name: str, values: Any) -> Any:
    """Output column ``name`` (a list or Arrow data) as an Arrow array of its schema type."""
    pa = _pa()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        want = arrow_type(name)
        if pa.types.is_dictionary(values.type) and not pa.types.is_dictionary(want):
            values = values.dictionary_decode()
        return values if values.type == want else values.cast(want)
    if name in LIST_COLUMNS:
        values = [list(v) if v is not None else [] for v in values]
    return pa.array(values, arrow_type(name))


def valid_mask(n: int, errors: Mapping[int, RowError]) -> Any:
    """A boolean Arrow array: true for the rows not in ``errors``."""
    pa = _pa()
    keep = [True] * n
    for j in errors:
        keep[j] = False
    return pa.array(keep, pa.bool_())


def part_table(start: int, ids: Any, outputs: Mapping[str, Any], errors: Mapping[int, RowError],
               names: Sequence[str], *, as_of: dt.date, with_errors: bool) -> Any:
    """The flat table of rows ``start + 1 ..`` (1-based) of one part: ``names`` (``row``,
    ``account_id``, ``as_of``, the decision columns) and, ``with_errors``, ``error_field`` and ``error``;
    the refused rows are left out unless ``with_errors``."""
    pa = _pa()
    n = len(ids)
    import pyarrow.compute as pc

    # start + 1, start + 2, ... by kernels: pa.array(range(...)) converts one Python int at a time
    cols: dict[str, Any] = {"row": pc.add(pc.cumulative_sum(pa.nulls(n, pa.int64()).fill_null(1)), start)}
    id_arr = as_array("account_id", ids)
    if with_errors and errors:  # a refused row shows the id as its error names it
        mask = pa.array([j in errors for j in range(n)], pa.bool_())
        shown = [errors[j].account_id for j in sorted(errors)]
        id_arr = pc.replace_with_mask(id_arr, mask, pa.array(shown, pa.string()))
    cols["account_id"] = id_arr
    cols[AS_OF] = date_column(as_of, n)  # one constant of the batch, repeated in Arrow
    for c in names[len(HEAD_COLUMNS):]:
        cols[c] = as_array(c, outputs[c])
    if with_errors:
        field: list[str | None] = [None] * n
        message: list[str | None] = [None] * n
        for j, e in errors.items():
            field[j], message[j] = e.field, e.message
        cols["error_field"] = pa.array(field, pa.string())
        cols["error"] = pa.array(message, pa.string())
    table = pa.table(cols)
    if errors and not with_errors:
        table = table.filter(valid_mask(n, errors))
    return table


def arrow_counts(values: Any, keep: Any = None) -> Counter[str]:
    """How often each non-null value of an Arrow column occurs (list columns: each element), over the
    rows ``keep`` (a boolean mask) keeps."""
    import pyarrow.compute as pc

    pa = _pa()
    if keep is not None:
        values = values.filter(keep)
    if pa.types.is_dictionary(values.type) and pa.types.is_list(values.type.value_type):
        # a list per distinct set (the vector evaluator's actions): count the sets, then weigh their elements
        import numpy as np

        dictionary = values.dictionary
        per_set = np.bincount(values.indices.to_numpy(zero_copy_only=False), minlength=len(dictionary))
        lengths = pc.list_value_length(dictionary).fill_null(0).to_numpy(zero_copy_only=False)
        weighed = pa.table({"v": pc.list_flatten(dictionary), "w": np.repeat(per_set, lengths)})
        got = weighed.group_by("v").aggregate([("w", "sum")])
        return Counter({v: k for v, k in zip(got.column("v").to_pylist(), got.column("w_sum").to_pylist(),
                                             strict=True) if k})
    if pa.types.is_list(values.type):
        values = pc.list_flatten(values)
    got = pc.value_counts(values.drop_null())
    return Counter(dict(zip(got.field("values").to_pylist(), got.field("counts").to_pylist(), strict=True)))


def arrow_changes(origin: Any, stage: Any, transition: Any, keep: Any = None) -> Counter[str]:
    """``from -> to`` of the rows whose stage moved by a transition (``(none)`` = no stage given)."""
    import pyarrow.compute as pc

    pa = _pa()
    table = pa.table({"a": pc.fill_null(origin, "(none)"), "b": stage, "t": transition})
    if keep is not None:
        table = table.filter(keep)
    # no stage given ("(none)") differs from any stage reached
    table = table.filter(pc.and_(pc.is_valid(table.column("t")), pc.not_equal(table.column("a"), table.column("b"))))
    out = table.group_by(["a", "b"]).aggregate([([], "count_all")])
    return Counter({f"{a} -> {b}": k for a, b, k in zip(out.column("a").to_pylist(), out.column("b").to_pylist(),
                                                        out.column("count_all").to_pylist(), strict=True)})


def held_inputs(parts: Sequence[Any], keys: Iterable[str]) -> dict[str, Any] | None:
    """The validated input fields ``keys`` of every row of ``parts`` as Arrow arrays (a field no part
    holds is left out); ``None`` when a part does not hold its input (built from Decisions)."""
    pa = _pa()
    if any(getattr(p, "chunk", None) is None for p in parts):
        return None
    chunks: list[Any] = [p.chunk for p in parts]
    out: dict[str, Any] = {}
    for key in keys:
        if not any(key in c.keys or c.base.get(key) is not None for c in chunks):
            continue
        pieces = []
        for c in chunks:
            if key in c.keys:
                col = c.cols[c.keys.index(key)]
                pieces.append(col if isinstance(col, pa.Array) else pa.array(col))
            else:
                pieces.append(pa.array([c.base.get(key)] * c.n))
        out[key] = _concat(pa, pieces)
    return out


def _concat(pa: Any, pieces: list[Any]) -> Any:
    """One array of ``pieces``; a piece of another type (all null, or inferred from Python values) is
    cast to the type of the first typed piece."""
    typed = [p.type for p in pieces if not pa.types.is_null(p.type)]
    if not typed:
        return pa.concat_arrays(pieces) if pieces else pa.nulls(0)
    want = typed[0]
    if any(t != want for t in typed) and (pa.types.is_integer(want) or pa.types.is_floating(want)):
        want = pa.float64()
    return pa.concat_arrays([p if p.type == want else p.cast(want) for p in pieces])


__all__ = ["ACTIONS", "arrow_changes", "arrow_counts", "as_array", "held_inputs", "part_table", "valid_mask"]
