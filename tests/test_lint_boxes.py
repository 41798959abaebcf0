"""Invariants of the box algebra lint rests on, checked cell by cell against brute force."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.analysis.domain import Box, BoxIndex, Proto, Space, bits, build_var

SPACE = Space({
    "x": build_var("x", Proto("number", "field", consts={1, 5})),
    "flag": build_var("flag", Proto("bool", "field")),
})
POINTS = [dict(zip(SPACE.vars, cells, strict=True)) for cells in itertools.product(
    *(list(bits(v.universe)) for v in SPACE.vars.values()))]


def _inside(point: dict[str, int], boxes: list[Box]) -> bool:
    return any(all((b.get(k, SPACE.vars[k].universe) >> point[k]) & 1 for k in SPACE.vars) for b in boxes)


boxes_st = st.lists(st.fixed_dictionaries({}, optional={
    k: st.integers(1, v.universe).map(lambda m, v=v: m & v.universe).filter(bool) for k, v in SPACE.vars.items()
}), max_size=5)


def test_cells_cut_numbers_at_every_constant() -> None:
    x = SPACE.vars["x"]
    assert [c.text for c in x.cells] == ["null", "< 1", "= 1", "between 1 and 5 (exclusive)", "= 5", "> 5"]
    assert all(c.holds(c.rep) for c in x.cells)


@settings(max_examples=200, deadline=None)
@given(boxes_st, boxes_st)
def test_subtract_is_set_difference(a: list[Box], b: list[Box]) -> None:
    diff = SPACE.subtract(a, b)
    for p in POINTS:
        assert _inside(p, diff) == (_inside(p, a) and not _inside(p, b))


@settings(max_examples=200, deadline=None)
@given(boxes_st, boxes_st)
def test_meet_all_is_intersection_and_complement_is_negation(a: list[Box], b: list[Box]) -> None:
    both, rest = SPACE.meet_all(a, b), SPACE.complement(a)
    for p in POINTS:
        assert _inside(p, both) == (_inside(p, a) and _inside(p, b))
        assert _inside(p, rest) == (not _inside(p, a))


@settings(max_examples=200, deadline=None)
@given(boxes_st, st.fixed_dictionaries({}, optional={"x": st.integers(1, 63)}))
def test_index_finds_exactly_the_touching_boxes(boxes: list[Box], probe: Box) -> None:
    probe = {k: m & SPACE.vars[k].universe for k, m in probe.items() if m & SPACE.vars[k].universe}
    index = BoxIndex(SPACE, boxes)
    assert set(bits(index.touching(probe))) == {i for i, b in enumerate(boxes) if SPACE.intersects(probe, b)}
