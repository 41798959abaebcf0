"""Finite partitions of every value a condition reads, and boxes over them.

Each variable (a field, a metric, an output or an opaque sub-expression) is cut into
*cells* at every constant the policy compares it with, plus ``null``. A condition built
from single-variable comparisons is then exactly a union of boxes (one set of cells per
variable): this is the box view of decision tables of Calvanese et al. (BPM 2016).
Sets of cells are Python ints used as bitmasks, so intersection is one ``&``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from accountrules.i18n import N_, Gettext, Message, translated
from accountrules.parse.expr_ast import Expr

Box = dict[str, int]  # variable key -> mask of allowed cells; a missing key allows every cell


@dataclass(frozen=True, slots=True)
class Cell:
    """One piece of a variable's domain: ``null``, a point, or an open interval between points."""

    rep: Any  # a representative value; None for the null cell
    text: str
    lo: Any = None  # interval bounds (None = unbounded); for a point lo == hi
    hi: Any = None
    lo_incl: bool = False
    hi_incl: bool = False
    null: bool = False
    ordered: bool = False  # an interval of numbers or dates rather than a single named value

    def holds(self, v: Any) -> bool:
        """Whether the concrete value ``v`` lies in this cell."""
        if v is None or self.null:
            return v is None and self.null
        if not self.ordered:
            return bool(self.rep == v) and isinstance(v, bool) == isinstance(self.rep, bool)
        try:
            if self.lo is not None and (v < self.lo or (v == self.lo and not self.lo_incl)):
                return False
            if self.hi is not None and (v > self.hi or (v == self.hi and not self.hi_incl)):
                return False
        except TypeError:
            return False
        return True


@dataclass(slots=True)
class Var:
    key: str
    kind: str  # number | date | enum | bool | string
    origin: str  # field | metric | output | term
    cells: tuple[Cell, ...] = ()
    universe: int = 0
    expr: Expr | None = None  # how a metric or term is computed (for witnesses)
    integer: bool = False

    def mask_of(self, pred: Any) -> int:
        m = 0
        for i, c in enumerate(self.cells):
            if (self.universe >> i) & 1 and pred(c):
                m |= 1 << i
        return m

    @property
    def null_mask(self) -> int:
        return self.mask_of(lambda c: c.null)

    def describe(self, mask: int, _: Gettext = str) -> str:
        """The cells of ``mask``, worded by ``_`` (a catalogue's gettext; ``str``: English)."""
        return " | ".join(str(translated(c.text, _)) for i, c in enumerate(self.cells) if (mask >> i) & 1)


@dataclass(slots=True)
class Proto:
    """What the first pass learns about a variable before its cells are cut."""

    kind: str
    origin: str
    consts: set[Any] = field(default_factory=set)
    values: tuple[str, ...] = ()  # enum vocabulary
    nullable: bool = True
    ge: float | None = None
    le: float | None = None
    integer: bool = False
    expr: Expr | None = None


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _ordered_cells(p: Proto) -> list[Cell]:
    is_date = p.kind == "date"
    pts = sorted({c for c in p.consts if c is not None and not isinstance(c, bool)})
    if not is_date:
        pts = sorted({*pts, *(b for b in (p.ge, p.le) if b is not None)})
    integer = p.integer or is_date

    def num(x: Any) -> float:
        return float(x.toordinal()) if is_date else float(x)

    def val(x: float) -> Any:
        return dt.date.fromordinal(int(x)) if is_date else (int(x) if integer else x)

    lo_b = -math.inf if p.ge is None or is_date else p.ge
    hi_b = math.inf if p.le is None or is_date else p.le
    cells: list[Cell] = []

    def point(c: Any) -> None:
        x = num(c)
        if lo_b <= x <= hi_b and (not integer or x.is_integer()):
            cells.append(Cell(val(x) if not is_date else c, f"= {_fmt(c)}", c, c, True, True, ordered=True))
        else:
            cells.append(Cell(None, _impossible(f"= {_fmt(c)}"), c, c, True, True, ordered=True))

    def between(a: Any, b: Any) -> None:
        fa = num(a) if a is not None else -math.inf
        fb = num(b) if b is not None else math.inf
        lo, hi = max(fa, lo_b), min(fb, hi_b)
        rep: float | None
        if integer:
            ilo = math.floor(fa) + 1 if fa != -math.inf else None
            ihi = math.ceil(fb) - 1 if fb != math.inf else None
            if lo_b != -math.inf:
                ilo = max(ilo, math.ceil(lo_b)) if ilo is not None else math.ceil(lo_b)
            if hi_b != math.inf:
                ihi = min(ihi, math.floor(hi_b)) if ihi is not None else math.floor(hi_b)
            if ilo is None and ihi is None:
                rep = float(dt.date(2026, 1, 1).toordinal()) if is_date else 0.0
            elif ilo is None:
                rep = float(ihi)  # type: ignore[arg-type]
            elif ihi is None:
                rep = float(ilo)
            else:
                rep = float((ilo + ihi) // 2) if ilo <= ihi else None
            if rep is not None and not (fa < rep < fb):
                rep = None
        elif lo >= hi or not (lo < hi):
            rep = None
        elif lo == -math.inf:
            rep = hi - 1.0 if hi != math.inf else 0.0
        elif hi == math.inf:
            rep = lo + 1.0
        else:
            rep = (lo + hi) / 2
        if rep is not None and (rep <= fa or rep >= fb):
            rep = None
        text: str
        if a is None and b is None:
            text = Message(N_("any value"))
        elif a is None:
            text = f"< {_fmt(b)}"
        elif b is None:
            text = f"> {_fmt(a)}"
        else:
            text = Message(N_("between {low} and {high} (exclusive)"), low=_fmt(a), high=_fmt(b))
        feasible = rep is not None
        cells.append(Cell(val(rep) if rep is not None else None, text if feasible else _impossible(text),
                          a, b, False, False, ordered=True))

    prev: Any = None
    for c in pts:
        between(prev, c)
        point(c)
        prev = c
    between(prev, None)
    return cells


def _impossible(text: str) -> Message:
    return Message(N_("{cell} (impossible)"), cell=text)


def build_var(key: str, p: Proto) -> Var:
    cells: list[Cell] = [Cell(None, Message(N_("null")), null=True)]
    if p.kind in ("number", "date"):
        cells += _ordered_cells(p)
    elif p.kind == "bool":
        cells += [Cell(True, "true"), Cell(False, "false")]
    elif p.kind == "enum":
        cells += [Cell(v, f"'{v}'") for v in p.values]
    else:  # string: the constants compared with, and one value none of them is
        lits = sorted(str(c) for c in p.consts if isinstance(c, str))
        other = "other"
        while other in lits:
            other += "_"
        cells += [Cell(v, f"'{v}'") for v in lits] + [Cell(other, Message(N_("any other text")))]
    universe = 0
    for i, c in enumerate(cells):
        if c.null:
            if p.nullable:
                universe |= 1 << i
        elif c.rep is not None:
            universe |= 1 << i
    return Var(key, p.kind, p.origin, tuple(cells), universe, p.expr, p.integer)


class Space:
    """The variables of one policy and the box algebra over them."""

    def __init__(self, vars_: Mapping[str, Var]):
        self.vars: dict[str, Var] = dict(vars_)

    def mask(self, box: Box, key: str) -> int:
        return box.get(key, self.vars[key].universe)

    def meet(self, a: Box, b: Box) -> Box | None:
        out = dict(a)
        for k, m in b.items():
            r = out.get(k, self.vars[k].universe) & m
            if r == 0:
                return None
            out[k] = r
        return out

    def intersects(self, a: Box, b: Box) -> bool:
        """``meet(a, b) is not None`` without building the meet (the hot test of every check)."""
        vars_ = self.vars
        for k, m in b.items():
            if not a.get(k, vars_[k].universe) & m:
                return False
        return True

    def meet_all(self, xs: Iterable[Box], ys: Iterable[Box]) -> list[Box]:
        ys = list(ys)
        out = []
        for x in xs:
            for y in ys:
                z = self.meet(x, y)
                if z is not None:
                    out.append(z)
        return out

    def minus(self, a: Box, b: Box) -> list[Box]:
        """``a - b`` as disjoint boxes."""
        if self.meet(a, b) is None:
            return [a]
        out: list[Box] = []
        rest = dict(a)
        for k, m in b.items():
            cur = rest.get(k, self.vars[k].universe)
            outside = cur & ~m
            if outside:
                piece = dict(rest)
                piece[k] = outside
                out.append(piece)
            rest[k] = cur & m
        return out

    def subtract(self, boxes: Iterable[Box], cover: Iterable[Box]) -> list[Box]:
        res = list(boxes)
        for b in cover:
            if not res:
                break
            nxt: list[Box] = []
            for r in res:
                nxt.extend(self.minus(r, b))
            res = nxt
        return res

    def complement(self, boxes: Iterable[Box]) -> list[Box]:
        return self.subtract([{}], boxes)

    def covered(self, box: Box, cover: Iterable[Box]) -> bool:
        near = [b for b in cover if self.intersects(box, b)]
        return not self.subtract([box], near)

    def cells(self, box: Box) -> Iterator[tuple[Var, int]]:
        for k, m in box.items():
            v = self.vars[k]
            if m != v.universe:
                yield v, m

    def describe(self, box: Box, _: Gettext = str) -> str:
        """The box as ``key ∈ {cells}, ...``, worded by ``_`` (a catalogue's gettext; ``str``: English)."""
        parts = [f"{v.key} ∈ {{{v.describe(m, _)}}}" for v, m in self.cells(box)]
        return ", ".join(parts) if parts else _("every account")


class BoxIndex:
    """Which of many boxes touch a given box, without testing them one by one.

    For each variable and cell it keeps the set (a bitset over box numbers) of boxes that allow the
    cell; the boxes touching ``b`` are then an OR over ``b``'s cells and an AND over variables. This
    is the sweep that keeps pairwise checks of large tables near-linear in practice.
    """

    def __init__(self, space: Space, boxes: list[Box]):
        self.space = space
        self.all = (1 << len(boxes)) - 1
        keys = {k for b in boxes for k in b}
        self.cells: dict[str, list[int]] = {k: [0] * len(space.vars[k].cells) for k in keys}
        self.free: dict[str, int] = {k: 0 for k in keys}
        for n, b in enumerate(boxes):
            bit = 1 << n
            for k in keys:
                m = b.get(k)
                if m is None:
                    self.free[k] |= bit
                    continue
                row = self.cells[k]
                i = 0
                while m:
                    if m & 1:
                        row[i] |= bit
                    m >>= 1
                    i += 1

    def touching(self, box: Box) -> int:
        out = self.all
        for k, row in self.cells.items():
            m = box.get(k, self.space.vars[k].universe)
            s = self.free[k]
            i = 0
            while m:
                if m & 1:
                    s |= row[i]
                m >>= 1
                i += 1
            out &= s
            if not out:
                break
        return out


def bits(n: int) -> Iterator[int]:
    """Positions of the set bits of ``n``, lowest first."""
    while n:
        low = n & -n
        yield low.bit_length() - 1
        n ^= low
