"""The row index is built as it was before its build was made faster, for every table.

:func:`accountrules.compile.index.build_index` reads a row's tests in one pass, looks slots up by
value instead of by bisection, keeps the slots of a span as two lists of ints, and gives a table
whose every slot starts with its first exact row (a table of thresholds) its slots without the
general loop. ``tests/index_reference.py`` is the build as it was; the two must build equal
indexes (and the same bound objects, ``1`` and ``1.0`` alike) for random tables, including the
first-hit-only form. A deliberately broken build is checked to be caught by the same comparison.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from accountrules.compile import index
from accountrules.compile.index import RowIndex, build_index
from accountrules.parse.expr_ast import Binary, Expr, Logic
from index_reference import build_index as reference_build
from test_index import CASES, LOC, NUM, OTHER, _lit, _test, conditions


def _same(a: RowIndex | None, b: RowIndex | None) -> bool:
    if a is None or b is None:
        return a is b
    # equal numbers of another type (1 and 1.0) are equal: the bounds are compared with their types
    return a == b and [type(p) for p in a.points] == [type(p) for p in b.points]


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Expr | None], int, int]:
    """Random tables: mixed rows over the indexed value and another, or plain tests only (every slot's
    first candidate exact: the shortcut of the first-hit form), with thresholds that overlap."""
    ref, values, _ = CASES[draw(st.sampled_from(range(len(CASES))))]
    shape = draw(st.sampled_from(["mixed", "plain", "thresholds"]))
    size = st.integers(1, 24)
    if shape == "mixed":
        conds = draw(st.lists(conditions(ref, values), min_size=1, max_size=24))
    elif shape == "plain":
        conds = draw(st.lists(_test(ref, values), min_size=1, max_size=24))
    else:
        n = draw(size)
        op = draw(st.sampled_from([">=", ">", "<", "<="]))
        conds = [Binary(LOC, op, NUM, _lit(draw(st.sampled_from([i, i * 0.5, float(i)])))) for i in range(n)]
        if draw(st.booleans()):  # a row that tests another value, or this one in part, somewhere
            extra = draw(st.sampled_from([Binary(LOC, ">", OTHER, _lit(1)),
                                          Logic(LOC, "and", (Binary(LOC, ">=", NUM, _lit(3)),
                                                             Binary(LOC, ">", OTHER, _lit(1))))]))
            conds.insert(draw(st.integers(0, len(conds))), extra)
    return conds, draw(st.sampled_from([1, 2, 8])), draw(st.sampled_from([1 << 16, 0, 12, 40]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=tables())
def test_build_index_equals_the_reference_build(case: tuple[list[Expr | None], int, int]) -> None:
    conds, min_rows, max_entries = case
    assert _same(build_index(conds, min_rows, max_entries), reference_build(conds, min_rows, max_entries))


@pytest.mark.parametrize("rows", [1, 7, 300, 5000])
def test_a_long_threshold_table_equals_the_reference_build(rows: int) -> None:
    """The shape of ``benchmarks/huge_table.py`` (``x >= 10 i``), also with dates and with the rows reversed."""
    for conds in ([Binary(LOC, ">=", NUM, _lit(i * 10)) for i in range(rows)],
                  [Binary(LOC, "<", NUM, _lit(i * 10)) for i in range(rows, 0, -1)],
                  [Binary(LOC, ">=", CASES[1][0], _lit(dt.date(2024, 1, 1) + dt.timedelta(days=i)))
                   for i in range(rows)]):
        got, want = build_index(conds, 1), reference_build(conds, 1)
        assert _same(got, want)


def _broken_first_exact_only(first: list[int | None]) -> tuple[tuple[int, ...], ...]:
    return tuple(() if f is None or f == 1 else (f,) for f in first)  # loses row 1


def _broken_slot_ranges(points: tuple[Any, ...], spans: list[Any]) -> tuple[list[int], list[int]]:
    starts, stops = _slot_ranges(points, spans)
    return starts, [b - 1 if hi is not None and hc else b for b, (_, _, hi, hc) in zip(stops, spans, strict=True)]


_slot_ranges = index._slot_ranges


@pytest.mark.parametrize("broken", ["_first_exact_only", "_slot_ranges"])
def test_a_broken_build_is_caught(monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    """The comparison above finds a table where a build with a broken shortcut differs from the reference."""
    monkeypatch.setattr(index, broken, {"_first_exact_only": _broken_first_exact_only,
                                        "_slot_ranges": _broken_slot_ranges}[broken])
    differs = find(tables(), lambda case: not _same(build_index(*case), reference_build(*case)),
                   settings=settings(max_examples=2000, database=None, deadline=None, derandomize=True,
                                     suppress_health_check=[HealthCheck.too_slow]))
    assert differs is not None
