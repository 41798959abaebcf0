"""Counts and sums over a report's columns with ``pyarrow.compute``.

A 1M-account portfolio is a million Python objects per column; counting them row by row in
Python is most of a report's time. Each column becomes one Arrow array (a copy in C) and the
group-bys, sorts and cumulative sums run in Arrow's kernels; only the aggregates (a few dozen
values) come back as Python objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from accountrules.io.optional import pyarrow

NONE = "(none)"


def _pa() -> Any:
    return pyarrow("the report")


def _pc() -> Any:
    _pa()  # says which extra to install when pyarrow is missing
    import pyarrow.compute as pc

    return pc


def array(values: Any) -> Any:
    """``values`` (a list, a numpy array or Arrow data) as one Arrow array."""
    pa = _pa()
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        return values
    return pa.array(values)


def keys(values: Any, *, blank_is_none: bool = False) -> Any:
    """A key column as strings, a missing value (and, with ``blank_is_none``, an empty one) as ``(none)``."""
    pa, pc = _pa(), _pc()
    arr = array(values)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if blank_is_none:
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pc.fill_null(arr, NONE)


def amount(v: Any) -> float:
    """One amount cell: a missing, unreadable or non-finite amount counts as 0."""
    if v is None or v == "":
        return 0.0
    try:
        x = float(v)
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) else 0.0


def amounts(values: Any) -> Any:
    """An amount column as float64, each cell as :func:`amount` reads it."""
    pa, pc = _pa(), _pc()
    arr = array(values)
    try:
        arr = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # a text cell that is no number: the exact per-value rule, on the rare file that has one
        return pa.array([amount(v) for v in arr.to_pylist()], pa.float64())
    arr = pc.if_else(pc.is_finite(arr), arr, 0.0)
    return pc.fill_null(arr, 0.0)


def counts(values: Any) -> dict[str, int]:
    """How many times each key occurs (keys as :func:`keys` makes them)."""
    out = _pc().value_counts(values)
    return dict(zip(out.field("values").to_pylist(), out.field("counts").to_pylist(), strict=True))


def group_sums(key: Any, sums: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per key: ``accounts`` (rows) and the sum of each column of ``sums`` (0.0 when it is empty)."""
    pa = _pa()
    table = pa.table({"k": key, **sums})
    out = table.group_by("k").aggregate([("k", "count"), *((name, "sum") for name in sums)])
    rows: dict[str, dict[str, float]] = {}
    cols = {name: out.column(f"{name}_sum").to_pylist() for name in sums}
    for i, k in enumerate(out.column("k").to_pylist()):
        d: dict[str, float] = {"accounts": out.column("k_count")[i].as_py()}
        for name in sums:
            d[name] = float(cols[name][i] or 0.0)
        rows[k] = d
    return rows


def pair_counts(a: Any, b: Any, mask: Any = None) -> dict[tuple[Any, Any], int]:
    """How many rows hold each ``(a, b)`` pair, over the rows ``mask`` keeps."""
    table = _pa().table({"a": array(a), "b": array(b)})
    if mask is not None:
        table = table.filter(mask)
    out = table.group_by(["a", "b"]).aggregate([([], "count_all")])
    return dict(zip(zip(out.column("a").to_pylist(), out.column("b").to_pylist(), strict=True),
                    out.column("count_all").to_pylist(), strict=True))


def lorenz(values: Any, points: int = 100) -> tuple[list[tuple[float, float]], float | None]:
    """:func:`accountrules.report.figures.lorenz` over an Arrow float64 array: the same running sum
    (largest first, added one by one), so the same points and top-20% share."""
    pc = _pc()
    arr = array(values)
    n = len(arr)
    if n == 0:
        return [(0.0, 0.0), (1.0, 1.0)], None
    ordered = pc.array_take(arr, pc.array_sort_indices(arr, order="descending"))
    cum = pc.cumulative_sum(ordered)
    total = cum[n - 1].as_py()
    if total <= 0:
        return [(0.0, 0.0), (1.0, 1.0)], None
    k = math.ceil(0.2 * n)
    top = (cum[k - 1].as_py() if k else 0.0) / total
    idx = sorted({round(i * n / points) for i in range(points + 1)})
    picked = pc.array_take(cum, [i - 1 for i in idx if i > 0]).to_pylist()
    values_at = ([0.0] if idx[0] == 0 else []) + picked
    return [(i / n, c / total) for i, c in zip(idx, values_at, strict=True)], top


def bucket_counts(values: Any, edges: Sequence[float]) -> list[int]:
    """Per bucket, the values ``v`` with ``bisect_right(edges, v)`` equal to its index
    (``len(edges) + 1`` buckets; ``edges`` ascending)."""
    pc = _pc()
    arr = array(values)
    at_least = [len(arr)] + [pc.sum(pc.greater_equal(arr, e)).as_py() or 0 for e in edges] + [0]
    return [at_least[b] - at_least[b + 1] for b in range(len(edges) + 1)]


def score_buckets(scores: Any) -> list[tuple[float, float, int]]:
    """:func:`accountrules.report.figures.score_buckets` over an Arrow array of scores."""
    top = maximum(scores) if len(scores) else 0.0
    hi = 1.0 if top <= 1 else 100.0 if top <= 100 else top
    width = hi / 10
    c = bucket_counts(scores, [b * width for b in range(1, 10)])
    return [(b * width, hi if b == 9 else (b + 1) * width, c[b]) for b in range(10)]


def finite_scores(values: Any) -> Any:
    """The given scores (a missing one left out) as float64, a non-finite one as 0."""
    pc = _pc()
    arr = array(values)
    return amounts(pc.drop_null(arr)) if arr.null_count else amounts(arr)


def maximum(values: Any) -> float:
    got = _pc().max(array(values)).as_py()
    return 0.0 if got is None else float(got)


def list_counts(values: Any) -> dict[str, int]:
    """How often each element of a list<string> column occurs (a null list holds none)."""
    pc = _pc()
    arr = array(values)
    if _pa().types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    flat = pc.list_flatten(arr)
    return counts(flat.drop_null()) if len(flat) else {}


def top_order(revenue: Any, ids: Any, k: int) -> list[int]:
    """The positions of the ``k`` first rows by revenue (largest first, a missing one as 0), then by id."""
    pa = _pa()
    if len(ids) == 0:
        return []
    rev = amounts(revenue) if revenue is not None else pa.array([0.0] * len(ids), pa.float64())
    table = pa.table({"r": rev, "i": keys(ids)})
    order = _pc().sort_indices(table, sort_keys=[("r", "descending"), ("i", "ascending")])
    return order.slice(0, k).to_pylist()  # type: ignore[no-any-return]


def positions(mask: Any) -> list[int]:
    """The positions where ``mask`` is true."""
    return _pc().indices_nonzero(_pc().fill_null(mask, False)).to_pylist()  # type: ignore[no-any-return]
