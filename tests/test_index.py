"""Indexed tables find exactly the rows a scan finds, in the same order, for every value.

Random tables of conditions over one number, one date and one string value (ranges with
open and closed bounds, equalities, lists, conjunctions with other tests, rows that do not
test the indexed value at all) are matched against random envs (known values, values on the
bounds, unknown values, NaN and values of the wrong type for the indexed value) with and
without the index.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.check.spec import Provenance, Row
from accountrules.compile.closures import compile_expr
from accountrules.compile.index import build_index
from accountrules.compile.plan import CRow, IndexedRows
from accountrules.errors import SourceLocation
from accountrules.evaluate.driver import COMPILED
from accountrules.parse.expr_ast import (
    DATE,
    NUMBER,
    STRING,
    Binary,
    Expr,
    InList,
    InRange,
    Literal,
    Logic,
    Not,
    Ref,
    Type,
)

LOC = SourceLocation("t.yaml", 1, 1)
NUM = Ref(LOC, "field", "transactions.revenue", NUMBER)
DAY = Ref(LOC, "field", "relationship.since", DATE)
CODE = Ref(LOC, "field", "company.region", STRING)
OTHER = Ref(LOC, "field", "transactions.count", NUMBER)
D0 = dt.date(2024, 1, 1)
CODES = ["n", "s", "e", "w"]

numbers = st.sampled_from([-2, -1, 0, 0.5, 1, 2, 2.5, 3, 5, 8, 13])
dates = st.integers(0, 12).map(lambda d: D0 + dt.timedelta(days=d))


def _lit(v: Any) -> Literal:
    t = NUMBER if isinstance(v, int | float) else DATE if isinstance(v, dt.date) else STRING
    return Literal(LOC, v, t)


@st.composite
def _test(draw: st.DrawFn, ref: Ref, values: st.SearchStrategy[Any]) -> Expr:
    shape = draw(st.sampled_from(["cmp", "cmp_flipped", "range", "list"] if ref.type != STRING else
                                 ["eq", "eq_flipped", "list"]))
    if shape in ("cmp", "cmp_flipped", "eq", "eq_flipped"):
        op = "==" if shape.startswith("eq") else draw(st.sampled_from(["<", "<=", ">", ">=", "=="]))
        c = _lit(draw(values))
        return Binary(LOC, op, ref, c) if not shape.endswith("flipped") else Binary(LOC, op, c, ref)
    if shape == "range":
        a, b = sorted([draw(values), draw(values)])
        lo, hi = (a, b) if draw(st.booleans()) else (b, a)  # an empty range sometimes
        return InRange(LOC, ref, _lit(lo), _lit(hi), False)
    items = [_lit(v) for v in draw(st.lists(values, min_size=1, max_size=3))]
    if draw(st.booleans()):
        items.append(Literal(LOC, None, Type("null")))
    return InList(LOC, ref, tuple(items), False)


@st.composite
def conditions(draw: st.DrawFn, ref: Ref, values: st.SearchStrategy[Any]) -> Expr | None:
    kind = draw(st.sampled_from(["test", "test", "test", "two", "extra", "none", "other", "not"]))
    if kind == "none":
        return None
    if kind == "other":
        return Binary(LOC, ">", OTHER, _lit(draw(st.integers(0, 3))))
    t = draw(_test(ref, values))
    if kind == "test":
        return t
    if kind == "not":
        return Not(LOC, t)
    second = draw(_test(ref, values)) if kind == "two" else Binary(LOC, "<=", OTHER, _lit(draw(st.integers(0, 3))))
    return Logic(LOC, "and", (t, second) if draw(st.booleans()) else (second, t))


def _rows(conds: list[Expr | None]) -> tuple[CRow, ...]:
    prov = Provenance(description=None, seed=(), location=None)
    return tuple(CRow(i, Row(f"r{i}", c, prov), compile_expr(c) if c is not None else None, ())
                 for i, c in enumerate(conds))


def _scan(rows: tuple[CRow, ...], env: dict[str, Any], first: bool) -> list[int] | str:
    try:
        return COMPILED.match("t", rows, env, first)
    except TypeError as e:
        return f"TypeError: {e}"


CASES = [(NUM, numbers, st.one_of(numbers, st.none(), st.just(math.nan), st.just("3"), st.just(True))),
         (DAY, dates, st.one_of(dates, st.none(), st.just(dt.datetime(2024, 1, 3)))),
         (CODE, st.sampled_from(CODES), st.one_of(st.sampled_from([*CODES, "x"]), st.none(), st.just(3)))]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), case=st.sampled_from(range(len(CASES))), first=st.booleans(),
       max_entries=st.sampled_from([1 << 16, 0, 12]))
def test_indexed_matches_equal_scanned_matches(data: st.DataObject, case: int, first: bool,
                                               max_entries: int) -> None:
    """``max_entries`` small: the first-hit-only form of the index (truncated candidate lists)."""
    ref, values, env_values = CASES[case]
    conds = data.draw(st.lists(conditions(ref, values), min_size=1, max_size=14))
    rows = _rows(conds)
    lookup = build_index(conds, min_rows=1, max_entries=max_entries)
    if lookup is None:  # no row tests a value the index understands, or the index would be too big
        assert max_entries < 1 << 16 or all(c is None or isinstance(c, Not) for c in conds)
        return
    assert lookup.key in (ref.key, OTHER.key)
    fast = IndexedRows(rows, lookup)
    # a value of the wrong type can reach a condition only through the indexed value (accounts are
    # validated): elsewhere a scan may raise where the index never evaluates the row
    typed = env_values if lookup.key == ref.key else st.one_of(values, st.none())
    for _ in range(8):
        env = {ref.key: data.draw(typed), OTHER.key: data.draw(st.one_of(st.none(), st.integers(0, 4)))}
        assert _scan(fast, env, first) == _scan(rows, env, first), env


def test_a_long_range_table_is_indexed_and_looked_up() -> None:
    conds: list[Expr | None] = [
        Logic(LOC, "and", (Binary(LOC, ">=", NUM, _lit(i * 10)), Binary(LOC, "<", NUM, _lit(i * 10 + 10))))
        for i in range(1000)]
    lookup = build_index(conds)
    assert lookup is not None and lookup.key == NUM.key
    assert lookup.candidates({NUM.key: 4321}) == (432,)
    assert lookup.candidates({NUM.key: 4320}) == (432,)  # a closed low bound
    assert lookup.candidates({NUM.key: -1}) == ()
    assert lookup.candidates({NUM.key: None}) == ()  # unknown: no indexed row can fire
    assert lookup.candidates({NUM.key: math.nan}) is None  # NaN: scan
    assert lookup.exact == frozenset(range(1000))  # both conjuncts test the value: found = true


def test_few_rows_are_not_indexed() -> None:
    conds: list[Expr | None] = [Binary(LOC, "<", NUM, _lit(i)) for i in range(3)]
    assert build_index(conds) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data(), case=st.sampled_from(range(len(CASES))), max_entries=st.sampled_from([1 << 16, 0, 12]))
def test_column_lookup_equals_first_hit_scan(data: st.DataObject, case: int, max_entries: int) -> None:
    """The column shape (searchsorted / code table) picks, per batch row, the row a scan picks."""
    np = pytest.importorskip("numpy", reason="the column index needs numpy (accountrules[vector])")
    from accountrules.evaluate.column_index import ColumnIndex

    ref, values, _ = CASES[case]
    conds = data.draw(st.lists(conditions(ref, values), min_size=1, max_size=14))
    rows = _rows(conds)
    lookup = build_index(conds, min_rows=1, max_entries=max_entries)
    if lookup is None:
        return
    ix = ColumnIndex(lookup)
    envs = [{ref.key: data.draw(st.one_of(values, st.none())), OTHER.key: data.draw(st.one_of(st.none(),
                                                                                           st.integers(0, 4)))}
            for _ in range(data.draw(st.integers(1, 12)))]
    column = [e[lookup.key] for e in envs]
    if lookup.kind == "string":
        vocab: dict[str, int] = {}
        codes = np.array([-1 if v is None else vocab.setdefault(v, len(vocab)) for v in column], dtype=np.int64)
        slot = ix.code_slots(codes, vocab)
    else:
        known = np.array([v is not None for v in column])
        nums = np.array([0.0 if v is None else float(v.toordinal() if isinstance(v, dt.date) else v)
                         for v in column])
        slot = ix.number_slots(nums, known)
    fires = {r: np.array([rows[r].cond is None or rows[r].cond(e) is True for e in envs]) for r in ix.scan_rows}
    got = ix.first(slot, fires).tolist()
    want = [(COMPILED.match("t", rows, e, True) or [-1])[0] for e in envs]
    assert got == want, envs


def test_overlapping_thresholds_get_a_first_hit_index() -> None:
    """``x >= 990, x >= 980, ...``: quadratic in full, so only the first-hit form is built."""
    conds: list[Expr | None] = [Binary(LOC, ">=", NUM, _lit(1000 - 10 * i)) for i in range(1, 101)]
    lookup = build_index(conds, max_entries=1000)
    assert lookup is not None and lookup.first_only
    assert lookup.candidates({NUM.key: 985}) == (1,)
    assert lookup.candidates({NUM.key: 990}) == (0,)
    assert lookup.candidates({NUM.key: -5}) == ()
    rows = IndexedRows(_rows(conds), lookup)
    env = {NUM.key: 500}
    assert COMPILED.match("t", rows, env, True) == [49]
    assert COMPILED.match("t", rows, env, False) == list(range(49, 100))  # all matches: scanned
