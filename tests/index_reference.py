"""The row index as it was built before the load of a long table was made faster (commit 04c252a of
``accountrules.compile.index``): the reference ``tests/test_index_build.py`` holds the current
:func:`accountrules.compile.index.build_index` to. Kept verbatim but for the imports; not used by the library."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from accountrules.compile.index import (
    _FLIP,
    _KINDS,
    _ORDERED,
    MIN_ROWS,
    RowIndex,
    Span,
    _intersect,
    _kind,
    _literal,
    _span,
)
from accountrules.parse.expr_ast import Binary, Expr, InList, InRange, Literal, Logic, Ref


def _spans(e: Expr) -> tuple[str, str, list[Span]] | None:
    """(key, kind, spans) when ``e`` is true exactly for values inside ``spans`` (and false outside)."""
    if type(e) is Binary:  # a comparison: once a row of most long tables, so exact type tests and no calls to spare
        op, ref, lit = e.op, e.left, e.right
        if op not in _FLIP:
            return None
        if type(lit) is Ref and type(ref) is Literal:
            op, ref, lit = _FLIP[op], lit, ref
        if type(ref) is not Ref or ref.kind == "as_of":
            return None
        kind = _KINDS.get(ref.type.name)
        c = _literal(lit, kind) if kind is not None else None
        if kind is None or c is None or (op != "==" and kind not in _ORDERED):
            return None
        return ref.key, kind, [_span(op, c)]
    if isinstance(e, InRange) and not e.negated and isinstance(e.operand, Ref) and e.operand.kind != "as_of":
        kind = _kind(e.operand)
        if kind not in _ORDERED:
            return None
        lo, hi = _literal(e.low, kind), _literal(e.high, kind)
        if lo is None or hi is None:
            return None
        return e.operand.key, kind, [(lo, True, hi, True)]
    if isinstance(e, InList) and not e.negated and isinstance(e.operand, Ref) and e.operand.kind != "as_of":
        kind = _kind(e.operand)
        if kind is None or not all(isinstance(i, Literal) for i in e.items):
            return None
        values = [_literal(i, kind) for i in e.items if isinstance(i, Literal) and i.value is not None]
        if any(v is None for v in values):
            return None
        return e.operand.key, kind, [(v, True, v, True) for v in values]
    return None


def _row_tests(cond: Expr | None) -> dict[tuple[str, str], tuple[list[Span], bool]]:
    """Per (key, kind): the spans a row's condition requires, and whether that test is the whole condition."""
    if cond is None:
        return {}
    if not (isinstance(cond, Logic) and cond.op == "and"):  # one test (most rows of a long table)
        got = _spans(cond)
        return {} if got is None else {(got[0], got[1]): (got[2], True)}
    conjuncts = cond.operands
    spans_of: dict[tuple[str, str], list[Span]] = {}
    tests_of: dict[tuple[str, str], int] = {}
    for c in conjuncts:
        got = _spans(c)
        if got is None:
            continue
        key, kind, spans = got
        prev = spans_of.get((key, kind))
        spans_of[(key, kind)] = spans if prev is None else _intersect(prev, spans)
        tests_of[(key, kind)] = tests_of.get((key, kind), 0) + 1
    # exact: every conjunct tests this value (e.g. ``x >= a and x < b``)
    return {k: (spans, tests_of[k] == len(conjuncts)) for k, spans in spans_of.items()}


def _slot_range(points: Sequence[Any], span: Span) -> range:
    lo, lc, hi, hc = span
    m = len(points)
    start = 0 if lo is None else 2 * bisect_left(points, lo) + (1 if lc else 2)
    end = 2 * m if hi is None else 2 * bisect_left(points, hi) + (1 if hc else 0)
    return range(start, end + 1)


def build_index(conds: Sequence[Expr | None], min_rows: int = MIN_ROWS,
                max_entries: int = 1 << 16) -> RowIndex | None:
    """An index over the rows (conditions in table order) testing the most-tested value, or None when
    fewer than ``min_rows`` rows test one value or the index would hold more than ``max_entries``."""
    tests = [_row_tests(c) for c in conds]
    counts: dict[tuple[str, str], int] = {}
    for t in tests:
        for k in t:
            counts[k] = counts.get(k, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda k: counts[k])
    if counts[best] < min_rows:
        return None
    key, kind = best
    indexed = {i: t[best] for i, t in enumerate(tests) if best in t}
    unindexed = tuple(i for i in range(len(conds)) if i not in indexed)
    exact = frozenset(i for i, (_, whole) in indexed.items() if whole)
    if kind == "string":
        per_code: dict[str, list[int]] = {}
        for i, (spans, _) in indexed.items():
            for lo, _, _, _ in spans:
                per_code.setdefault(lo, []).append(i)
        codes = {c: tuple(sorted({*rows, *unindexed})) for c, rows in per_code.items()}
        if sum(map(len, codes.values())) > max_entries:
            return None
        return RowIndex(key, kind, (), (), codes, unindexed, exact)
    points = tuple(sorted({b for spans, _ in indexed.values() for s in spans for b in (s[0], s[2])
                           if b is not None}))
    # most rows test one span: no inner comprehension for them
    ranges = {i: [_slot_range(points, spans[0])] if len(spans) == 1 else [_slot_range(points, span) for span in spans]
              for i, (spans, _) in indexed.items()}
    if sum(len(r) for rs in ranges.values() for r in rs) <= max_entries:
        per_slot: list[set[int]] = [set(unindexed) for _ in range(2 * len(points) + 1)]
        for i, rs in ranges.items():
            for r in rs:
                for s in r:
                    per_slot[s].add(i)
        return RowIndex(key, kind, points, tuple(tuple(sorted(c)) for c in per_slot), {}, unindexed, exact)
    slots = _first_hit_slots(len(points), ranges, exact, unindexed, max_entries)
    if slots is None:
        return None
    return RowIndex(key, kind, points, slots, {}, unindexed, exact, first_only=True)


def _first_hit_slots(m: int, ranges: dict[int, list[range]], exact: frozenset[int], unindexed: tuple[int, ...],
                     max_entries: int) -> tuple[tuple[int, ...], ...] | None:
    """Per slot, the candidates up to the first exact row covering it: all a first-hit lookup needs.

    Overlapping thresholds (``x >= 100``, ``x >= 90``, ...) cover a quadratic number of slots in
    full; the first exact row of every slot is found in near-linear time by handing each slot
    out once, in row order (a union-find over the slots not yet taken)."""
    n_slots = 2 * m + 1
    first: list[int | None] = [None] * n_slots
    nxt = list(range(n_slots + 1))  # the next slot not yet taken, at or after each slot

    def free(s: int) -> int:
        root = s
        while nxt[root] != root:
            root = nxt[root]
        while nxt[s] != root:
            nxt[s], s = root, nxt[s]
        return root

    for i in sorted(exact):
        for r in ranges[i]:
            s, stop = free(r.start), r.stop
            while s < stop:
                first[s] = i
                nxt[s] = s + 1
                s += 1
                if nxt[s] != s:  # a run of free slots (one row's whole range, often) needs no look-up
                    s = free(s)
    # per slot: how many unindexed rows come before its first exact row (all of them where none covers it)
    before = [len(unindexed) if f is None else bisect_left(unindexed, f) for f in first] if unindexed else \
        [0] * n_slots
    total = sum(before)
    inexact: dict[int, list[int]] = {}  # slot -> the inexact rows covering it before its first exact row
    for i, rs in ranges.items():
        if i in exact:
            continue
        for r in rs:
            for s in r:
                f = first[s]
                if f is None or i < f:
                    inexact.setdefault(s, []).append(i)
                    total += 1
            if total > max_entries:
                return None
    # a slot whose only candidate is its first exact row (every slot of a table of thresholds) shares
    # the one tuple of that row with the other such slots
    alone: dict[int, tuple[int, ...]] = {}
    out: list[tuple[int, ...]] = []
    last: int | None = None  # neighbouring slots mostly share their first exact row
    last_alone: tuple[int, ...] = ()
    for s, f in enumerate(first):
        extra = inexact.get(s)
        head = unindexed[:before[s]] if extra is None else tuple(sorted((*unindexed[:before[s]], *extra)))
        if f is None:
            out.append(head)
        elif head:
            out.append((*head, f))
        elif f == last:
            out.append(last_alone)
        else:
            one = alone.get(f)
            if one is None:
                one = alone[f] = (f,)
            out.append(one)
            last, last_alone = f, one
    return tuple(out)
