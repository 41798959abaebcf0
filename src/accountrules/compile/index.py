"""Look rows up instead of scanning them: an index over the rows of a table that test one value.

Many tables are long lists of ranges or codes over one field (``revenue in 0..100``,
``revenue in 100..250``, ... or ``region == 'north'``). A row of such a table can only
fire when its test on that value is true, so for a given value only the rows whose
range (or code) holds it — and the rows that do not test the value at all — are
candidates. :class:`RowIndex` finds them by bisection (numbers, dates) or hashing
(strings), then the caller evaluates the candidates' conditions in table order as it
would have scanned them, so hit policies and first-hit order are unchanged.

Exactness: a row is indexed on a *top-level conjunct* of its condition (the whole
condition, or one operand of its outermost ``and``). When the value is unknown
(``None``) that conjunct is unknown, so the row's condition is never ``True`` and the
row cannot fire: only the unindexed rows remain. When the value is of an unexpected
type (or NaN), the index answers ``None`` and the caller scans every row. (A value of the
wrong type in *another* field, which validation keeps out, could make a scan raise on a row
the index skips.) Rows whose
condition is exactly the indexed test are marked :attr:`RowIndex.exact`: finding them
is the same as evaluating them.
"""

from __future__ import annotations

import datetime as dt
import operator
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accountrules.parse.expr_ast import Binary, Expr, InList, InRange, Literal, Logic, Ref

__all__ = ["MIN_ROWS", "RowIndex", "RowTests", "Span", "build_index", "index_of", "row_tests"]

MIN_ROWS = 8
"""Fewer rows testing one value than this are cheaper to scan than to look up."""

# a bound of None is infinite; (low, low closed, high, high closed)
Span = tuple[Any, bool, Any, bool]
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}
_ORDERED = ("number", "date")


# per kind, the types of a literal usable as its bound (NaN is not; _spans reads these inline)
_BOUND_TYPES: dict[str, tuple[type, ...]] = {"number": (int, float), "date": (dt.date,), "string": (str,)}


def _literal(e: Expr, kind: str) -> Any:
    """The value of a literal usable as a bound for a value of ``kind``, else None."""
    if not isinstance(e, Literal) or e.value is None:
        return None
    v = e.value
    if kind == "number":
        return v if type(v) in (int, float) and v == v else None
    if kind == "date":
        return v if type(v) is dt.date else None
    return v if type(v) is str else None


_KINDS = {"number": "number", "date": "date", "string": "string", "enum": "string"}  # a type's name -> its kind


def _kind(ref: Ref) -> str | None:
    return _KINDS.get(ref.type.name)


def _spans(e: Expr) -> tuple[tuple[str, str], list[Span]] | None:
    """((key, kind), spans) when ``e`` is true exactly for values inside ``spans`` (and false outside)."""
    if type(e) is Binary:  # a comparison: once a row of most long tables, so exact type tests and no calls to spare
        op, ref, lit = e.op, e.left, e.right
        if op not in _FLIP:
            return None
        if type(lit) is Ref and type(ref) is Literal:
            op, ref, lit = _FLIP[op], lit, ref
        if type(ref) is not Ref or ref.kind == "as_of":
            return None
        kind = _KINDS.get(ref.type.name)
        if kind is None or type(lit) is not Literal or (op != "==" and kind not in _ORDERED):
            return None
        c = lit.value  # as _literal() reads it
        if type(c) not in _BOUND_TYPES[kind] or c != c:
            return None
        return (ref.key, kind), [_span(op, c)]
    if isinstance(e, InRange) and not e.negated and isinstance(e.operand, Ref) and e.operand.kind != "as_of":
        kind = _kind(e.operand)
        if kind not in _ORDERED:
            return None
        lo, hi = _literal(e.low, kind), _literal(e.high, kind)
        if lo is None or hi is None:
            return None
        return (e.operand.key, kind), [(lo, True, hi, True)]
    if isinstance(e, InList) and not e.negated and isinstance(e.operand, Ref) and e.operand.kind != "as_of":
        kind = _kind(e.operand)
        if kind is None or not all(isinstance(i, Literal) for i in e.items):
            return None
        values = [_literal(i, kind) for i in e.items if isinstance(i, Literal) and i.value is not None]
        if any(v is None for v in values):
            return None
        return (e.operand.key, kind), [(v, True, v, True) for v in values]
    return None


def _span(op: str, c: Any) -> Span:
    """The values ``x`` with ``x <op> c``."""
    if op == ">=":
        return (c, True, None, False)
    if op == ">":
        return (c, False, None, False)
    if op == "<=":
        return (None, False, c, True)
    if op == "<":
        return (None, False, c, False)
    return (c, True, c, True)


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    for alo, alc, ahi, ahc in a:
        for blo, blc, bhi, bhc in b:
            if alo is None or (blo is not None and (blo > alo or (blo == alo and not blc))):
                lo, lc = blo, blc
            else:
                lo, lc = alo, alc
            if ahi is None or (bhi is not None and (bhi < ahi or (bhi == ahi and not bhc))):
                hi, hc = bhi, bhc
            else:
                hi, hc = ahi, ahc
            if lo is None or hi is None or lo < hi or (lo == hi and lc and hc):
                out.append((lo, lc, hi, hc))
    return out


Key = tuple[str, str]  # (the tested value's env key, its kind)


def _and_tests(cond: Logic) -> dict[Key, tuple[list[Span], bool]]:
    """Per value tested by a conjunct of ``cond`` (an ``and``): the spans the conjuncts require of it, and
    whether every conjunct tests it (then the test is the whole condition)."""
    conjuncts = cond.operands
    spans_of: dict[Key, list[Span]] = {}
    tests_of: dict[Key, int] = {}
    for c in conjuncts:
        got = _spans(c)
        if got is None:
            continue
        k, spans = got
        prev = spans_of.get(k)
        spans_of[k] = spans if prev is None else _intersect(prev, spans)
        tests_of[k] = tests_of.get(k, 0) + 1
    # exact: every conjunct tests this value (e.g. ``x >= a and x < b``)
    return {k: (spans, tests_of[k] == len(conjuncts)) for k, spans in spans_of.items()}


@dataclass(frozen=True, slots=True)
class RowIndex:
    """Candidate rows of a table for a value of ``key`` (see the module docstring)."""

    key: str
    kind: str  # number | date | string
    points: tuple[Any, ...]  # ordered kinds: sorted bounds; slot 2i is (points[i-1], points[i]), 2i+1 is points[i]
    slots: tuple[tuple[int, ...], ...]  # ordered kinds: candidates per slot
    codes: dict[str, tuple[int, ...]]  # strings: candidates per value
    unindexed: tuple[int, ...]  # rows that do not test the value: candidates for every value
    exact: frozenset[int]  # rows whose whole condition is the indexed test
    first_only: bool = False  # candidates end at each slot's first exact row: for first-hit lookups only

    def candidates(self, env: dict[str, Any]) -> tuple[int, ...] | None:
        """The rows (ascending) that may fire for ``env``; None when every row must be scanned."""
        v = env[self.key]
        if v is None:
            return self.unindexed
        if self.kind == "string":
            if type(v) is not str:
                return None
            return self.codes.get(v, self.unindexed)
        if self.kind == "number":
            if type(v) not in (int, float) or v != v:
                return None
        elif type(v) is not dt.date:
            return None
        return self.slots[self.slot(v)]

    def slot(self, v: Any) -> int:
        points = self.points
        i = bisect_left(points, v)
        return 2 * i + 1 if i < len(points) and points[i] == v else 2 * i


@dataclass(frozen=True, slots=True)
class RowTests:
    """What an index reads of a table's conditions, read in one pass: per row, its tests (None: none;
    ``(key, spans)`` when one test is the whole condition, as in most rows of a long table, so no dict
    per row; else :func:`_and_tests`'s dict), and how many rows test each value, counted in the order
    the rows first test them."""

    per_row: list[Any]
    counts: dict[Key, int]
    # the conditions, in order, that are not one test of a value against constants: such a test (a
    # comparison, range or list) reads one name and literals only, so a reader of calls can skip it unread
    others: list[Expr]


def row_tests(conds: Sequence[Expr | None]) -> RowTests:
    """The :class:`RowTests` of a table's conditions, in table order."""
    tests: list[Any] = []
    counts: dict[Key, int] = {}
    others: list[Expr] = []
    count = counts.get
    for c in conds:
        if c is None:
            tests.append(None)
        elif isinstance(c, Logic) and c.op == "and":
            t = _and_tests(c)
            for k in t:
                counts[k] = count(k, 0) + 1
            tests.append(t or None)
            others.append(c)
        else:
            got = _spans(c)
            if got is not None:
                k = got[0]
                counts[k] = count(k, 0) + 1
            else:
                others.append(c)
            tests.append(got)
    return RowTests(tests, counts, others)


def build_index(conds: Sequence[Expr | None], min_rows: int = MIN_ROWS,
                max_entries: int = 1 << 16) -> RowIndex | None:
    """An index over the rows (conditions in table order) testing the most-tested value, or None when
    fewer than ``min_rows`` rows test one value or the index would hold more than ``max_entries``."""
    return index_of(row_tests(conds), min_rows, max_entries)


def index_of(found: RowTests, min_rows: int = MIN_ROWS, max_entries: int = 1 << 16) -> RowIndex | None:
    """:func:`build_index` of the conditions ``found`` was read from."""
    tests, counts = found.per_row, found.counts
    if not counts:
        return None
    best = max(counts, key=counts.__getitem__)  # the first of the most tested, as counted
    if counts[best] < min_rows:
        return None
    key, kind = best
    # the rows testing ``best`` (ascending), their spans, whether the test is their whole condition
    rows: list[int] = []
    spans_of: list[list[Span]] = []
    whole: list[bool] = []
    unindexed_rows: list[int] = []
    for i, t in enumerate(tests):
        if type(t) is tuple:
            if t[0] == best:
                rows.append(i)
                spans_of.append(t[1])
                whole.append(True)
                continue
        elif t is not None:
            got = t.get(best)
            if got is not None:
                rows.append(i)
                spans_of.append(got[0])
                whole.append(got[1])
                continue
        unindexed_rows.append(i)
    unindexed = tuple(unindexed_rows)
    exact = frozenset([i for i, w in zip(rows, whole, strict=True) if w])
    if kind == "string":
        per_code: dict[str, list[int]] = {}
        for i, spans in zip(rows, spans_of, strict=True):
            for lo, _, _, _ in spans:
                per_code.setdefault(lo, []).append(i)
        codes = {c: tuple(sorted({*rs, *unindexed})) for c, rs in per_code.items()}
        if sum(map(len, codes.values())) > max_entries:
            return None
        return RowIndex(key, kind, (), (), codes, unindexed, exact)
    bounds: set[Any] = set()  # filled in row order: of equal bounds (1, 1.0) the first is kept
    add = bounds.add
    for spans in spans_of:
        for lo, _, hi, _ in spans:
            if lo is not None:
                add(lo)
            if hi is not None:
                add(hi)
    points = tuple(sorted(bounds))
    # every span of every row, flat (most rows have one): its row, whether exact, the slots it covers
    if set(map(len, spans_of)) == {1}:  # one span a row (most tables): the lists of rows serve as they are
        flat = [spans[0] for spans in spans_of]
        span_rows, span_whole = rows, whole
    else:
        flat = [sp for spans in spans_of for sp in spans]
        span_rows = [i for i, spans in zip(rows, spans_of, strict=True) for _ in spans]
        span_whole = [w for w, spans in zip(whole, spans_of, strict=True) for _ in spans]
    starts, stops = _slot_ranges(points, flat)
    # slots covered in all (an empty span, low above high, covers none)
    if sum(filter((0).__lt__, map(operator.sub, stops, starts))) <= max_entries:
        per_slot: list[set[int]] = [set(unindexed) for _ in range(2 * len(points) + 1)]
        for i, a, b in zip(span_rows, starts, stops, strict=True):
            for s in range(a, b):
                per_slot[s].add(i)
        return RowIndex(key, kind, points, tuple(tuple(sorted(c)) for c in per_slot), {}, unindexed, exact)
    slots = _first_hit_slots(len(points), span_rows, span_whole, starts, stops, unindexed, max_entries)
    if slots is None:
        return None
    return RowIndex(key, kind, points, slots, {}, unindexed, exact, first_only=True)


def _slot_ranges(points: tuple[Any, ...], spans: list[Span]) -> tuple[list[int], list[int]]:
    """The slots each span covers, ``range(start, stop)``, as the lists of starts and of stops. Every
    bound is one of ``points``: its position is looked up by value (where ``bisect_left`` finds it, as
    equal numbers hash alike)."""
    at = {p: j for j, p in enumerate(points)}
    starts = [0 if lo is None else 2 * at[lo] + (1 if lc else 2) for lo, lc, _, _ in spans]
    top = 2 * len(points) + 1
    stops = [top if hi is None else 2 * at[hi] + (2 if hc else 1) for _, _, hi, hc in spans]
    return starts, stops


def _first_hit_slots(m: int, span_rows: list[int], span_whole: list[bool], starts: list[int], stops: list[int],
                     unindexed: tuple[int, ...], max_entries: int) -> tuple[tuple[int, ...], ...] | None:
    """Per slot, the candidates up to the first exact row covering it: all a first-hit lookup needs.

    Span ``k`` of the indexed rows (in row order) belongs to row ``span_rows[k]``, exact or not
    (``span_whole[k]``), and covers the slots ``range(starts[k], stops[k])``. Overlapping thresholds
    (``x >= 100``, ``x >= 90``, ...) cover a quadratic number of slots in full; the first exact row of
    every slot is found in near-linear time by handing each slot out once, in row order (a union-find
    over the slots not yet taken)."""
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

    for i, w, s, stop in zip(span_rows, span_whole, starts, stops, strict=True):
        if not w:
            continue
        s = free(s)
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
    for i, w, a, b in zip(span_rows, span_whole, starts, stops, strict=True):
        if w:
            continue
        for s in range(a, b):
            f = first[s]
            if f is None or i < f:
                inexact.setdefault(s, []).append(i)
                total += 1
        if total > max_entries:
            return None
    if not unindexed and not inexact:
        return _first_exact_only(first)
    # a slot whose only candidate is its first exact row shares the one tuple of that row with the other such slots
    shared: dict[int, tuple[int, ...]] = {}
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
            one = shared.get(f)
            if one is None:
                one = shared[f] = (f,)
            out.append(one)
            last, last_alone = f, one
    return tuple(out)


def _first_exact_only(first: list[int | None]) -> tuple[tuple[int, ...], ...]:
    """The slots of :func:`_first_hit_slots` when no unindexed or inexact row precedes any slot's first
    exact row (every slot of a table of thresholds): each slot's candidates are that row alone, or
    none, and the slots of one row share its one tuple. What the general loop builds, without it."""
    alone: dict[int | None, tuple[int, ...]] = {f: (f,) for f in set(first) if f is not None}
    alone[None] = ()
    return tuple(map(alone.__getitem__, first))
