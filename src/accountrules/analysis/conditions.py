"""Conditions as boxes: the cells where a condition is True, and where it is False.

Logic is Kleene's, as the compiled evaluator has it (``compile/closures.py``): ``and`` is
True when every operand is True and False when any is False; a comparison with ``null``
is unknown; ``is null`` is never unknown. A rule fires only where its condition is True, so
"does not fire" is the complement of the True set, not the False set.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from accountrules.analysis.domain import Box, Cell, Proto, Space, Var, build_var
from accountrules.check.spec import PolicySpec
from accountrules.model.fields import FIELDS
from accountrules.parse.expr_ast import (
    COMPARISONS,
    Binary,
    Call,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Not,
    Ref,
    Unary,
    unparse,
)

Cond = tuple[list[Box], list[Box]]  # (True boxes, False boxes)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _lit(e: Expr) -> bool:
    return isinstance(e, Literal) and e.value is not None


def bounds(e: Expr, metrics: Mapping[str, Expr]) -> tuple[float | None, float | None, bool]:
    """Static bounds of a numeric expression (None = unbounded) and whether it is a whole number."""
    if isinstance(e, Literal) and isinstance(e.value, int | float) and not isinstance(e.value, bool):
        return float(e.value), float(e.value), isinstance(e.value, int)
    if isinstance(e, Ref):
        if e.kind == "field" and e.key in FIELDS:
            f = FIELDS[e.key]
            return f.ge, f.domain_le, f.integer
        if e.kind == "metric" and e.key in metrics:
            return bounds(metrics[e.key], metrics)
        return None, None, False
    if isinstance(e, Call):
        if e.func in ("percentile", "cumshare", "cumshare_above"):
            return 0.0, 1.0, False
        if e.func == "quantile":
            k = e.args[1].value if len(e.args) > 1 and isinstance(e.args[1], Literal) else 5
            return 1.0, float(k) if isinstance(k, int | float) else None, True
        if e.func == "abs":
            return 0.0, None, bounds(e.args[0], metrics)[2]
        return None, None, False
    if isinstance(e, Unary):
        lo, hi, i = bounds(e.operand, metrics)
        return (-hi if hi is not None else None), (-lo if lo is not None else None), i
    if isinstance(e, Binary) and e.op in ("+", "-"):
        a, b = bounds(e.left, metrics), bounds(e.right, metrics)
        if e.op == "-":
            b = ((-b[1] if b[1] is not None else None), (-b[0] if b[0] is not None else None), b[2])
        lo = a[0] + b[0] if a[0] is not None and b[0] is not None else None
        hi = a[1] + b[1] if a[1] is not None and b[1] is not None else None
        return lo, hi, a[2] and b[2]
    return None, None, False


class Conditions:
    """Builds the variable space of a policy, then turns its conditions into boxes."""

    def __init__(self, spec: PolicySpec):
        self.spec = spec
        self.metric_exprs: dict[str, Expr] = {m.name: m.expr for m in spec.metrics}
        if spec.churn is not None and spec.churn.score is not None:
            self.metric_exprs["churn.score"] = spec.churn.score
        self.protos: dict[str, Proto] = {}
        self.space = Space({})
        self._cache: dict[int, Cond] = {}

    # -- pass 1: which variables, compared with which constants
    def key_of(self, e: Expr, kind_hint: str | None = None) -> str:
        key = e.key if isinstance(e, Ref) else unparse(e)
        if key not in self.protos:
            self.protos[key] = self._proto(e, kind_hint)
        return key

    def _proto(self, e: Expr, kind_hint: str | None) -> Proto:
        if isinstance(e, Ref):
            t = e.type
            kind = t.name if t.name in ("number", "string", "bool", "date", "enum") else (kind_hint or "number")
            if e.key == "churn.score":
                lo, hi, integer = bounds(self.metric_exprs["churn.score"], self.metric_exprs)
                return Proto(kind, "metric", ge=lo, le=hi, integer=integer, expr=self.metric_exprs["churn.score"])
            if e.kind == "metric":
                lo, hi, integer = bounds(self.metric_exprs[e.key], self.metric_exprs)
                return Proto(kind, "metric", ge=lo, le=hi, integer=integer, expr=self.metric_exprs[e.key])
            if e.kind == "output":
                return Proto(kind, "output", values=t.values, nullable=self._output_nullable(e.key))
            f = FIELDS.get(e.key)
            nullable = not (e.key.startswith("contacts.") and e.key != "contacts.supporter_weight")
            return Proto(kind, "field", values=t.values, nullable=nullable,
                         ge=f.ge if f else None, le=f.domain_le if f else None, integer=bool(f and f.integer))
        lo, hi, integer = bounds(e, self.metric_exprs)
        nullable = True
        if isinstance(e, Call) and e.func == "coalesce" and _lit(e.args[-1]):
            nullable = False
        return Proto(kind_hint or "number", "term", nullable=nullable, ge=lo, le=hi, integer=integer, expr=e)

    def _output_nullable(self, key: str) -> bool:
        s = self.spec
        if key == "tier":
            return s.tiers is None or s.tiers.default is None
        if key.startswith("segments."):
            t = s.segments.get(key[len("segments."):])
            return t is None or t.default is None
        return False

    def collect(self, e: Expr | None) -> None:
        if e is None:
            return
        if isinstance(e, Logic):
            for o in e.operands:
                self.collect(o)
        elif isinstance(e, Not):
            self.collect(e.operand)
        elif isinstance(e, IsNull):
            self.key_of(e.operand, _kind_of_expr(e.operand))
        elif isinstance(e, Binary) and e.op in COMPARISONS and (_lit(e.left) != _lit(e.right)):
            term, lit = (e.right, e.left) if _lit(e.left) else (e.left, e.right)
            assert isinstance(lit, Literal)
            self.protos_const(term, lit.value)
        elif isinstance(e, InList) and all(_lit(i) for i in e.items) and not _lit(e.operand):
            for i in e.items:
                assert isinstance(i, Literal)
                self.protos_const(e.operand, i.value)
        elif isinstance(e, InRange) and _lit(e.low) and _lit(e.high) and not _lit(e.operand):
            for i in (e.low, e.high):
                assert isinstance(i, Literal)
                self.protos_const(e.operand, i.value)
        elif not isinstance(e, Literal):
            self.key_of(e, "bool")

    def protos_const(self, term: Expr, value: Any) -> None:
        inner = _coalesced(term)
        if inner is not None:
            term = inner[0]
        key = self.key_of(term, _kind_of_value(value))
        self.protos[key].consts.add(value)

    def ensure_enum(self, key: str, values: Iterable[str], origin: str = "field") -> None:
        if key not in self.protos:
            self.protos[key] = Proto("enum", origin, values=tuple(values))

    def build(self) -> Space:
        self.space = Space({k: build_var(k, p) for k, p in self.protos.items()})
        return self.space

    # -- pass 2: boxes
    def cond(self, e: Expr | None) -> Cond:
        if e is None:
            return [{}], []
        hit = self._cache.get(id(e))
        if hit is None:
            hit = self._cond(e)
            self._cache[id(e)] = hit
        return hit

    def _atom(self, term: Expr, pred: Callable[[Any], bool]) -> Cond:
        inner = _coalesced(term)
        if inner is not None:
            # coalesce(x, c) op k is exactly: x op k where x is known, and c op k where it is null
            v = self.space.vars[self.key_of(inner[0])]
            on_null = _safe(pred, Cell(inner[1], ""))
            t = v.mask_of(lambda c: (c.null and on_null) or (not c.null and _safe(pred, c)))
            f = v.mask_of(lambda c: (c.null and not on_null) or (not c.null and not _safe(pred, c)))
            return ([{v.key: t}] if t else []), ([{v.key: f}] if f else [])
        v = self.space.vars[self.key_of(term)]
        t = v.mask_of(lambda c: not c.null and c.rep is not None and _safe(pred, c))
        f = v.mask_of(lambda c: not c.null and c.rep is not None and not _safe(pred, c))
        return ([{v.key: t}] if t else []), ([{v.key: f}] if f else [])

    def _cond(self, e: Expr) -> Cond:
        sp = self.space
        if isinstance(e, Literal):
            return ([{}], []) if e.value is True else ([], [{}]) if e.value is False else ([], [])
        if isinstance(e, Logic):
            parts = [self.cond(o) for o in e.operands]
            if e.op == "and":
                t: list[Box] = [{}]
                for p in parts:
                    t = sp.meet_all(t, p[0])
                return t, [b for p in parts for b in p[1]]
            f: list[Box] = [{}]
            for p in parts:
                f = sp.meet_all(f, p[1])
            return [b for p in parts for b in p[0]], f
        if isinstance(e, Not):
            t, f = self.cond(e.operand)
            return f, t
        if isinstance(e, IsNull):
            v = sp.vars[self.key_of(e.operand)]
            n = v.null_mask
            nn = v.universe & ~n
            yes, no = ([{v.key: n}] if n else []), ([{v.key: nn}] if nn else [])
            return (no, yes) if e.negated else (yes, no)
        if isinstance(e, Binary) and e.op in COMPARISONS and (_lit(e.left) != _lit(e.right)):
            if _lit(e.left):
                term, lit, op = e.right, e.left, _FLIP[e.op]
            else:
                term, lit, op = e.left, e.right, e.op
            assert isinstance(lit, Literal)
            c, fn = lit.value, _OPS[op]
            return self._atom(term, lambda x: fn(x, c))
        if isinstance(e, InList) and all(_lit(i) for i in e.items) and not _lit(e.operand):
            consts = [i.value for i in e.items if isinstance(i, Literal)]
            neg = e.negated
            return self._atom(e.operand, lambda x: (x in consts) != neg)
        if isinstance(e, InRange) and _lit(e.low) and _lit(e.high) and not _lit(e.operand):
            assert isinstance(e.low, Literal) and isinstance(e.high, Literal)
            lo, hi, neg = e.low.value, e.high.value, e.negated
            return self._atom(e.operand, lambda x: (lo <= x <= hi) != neg)
        v = sp.vars[self.key_of(e)]
        tm = v.mask_of(lambda c: c.rep is True)
        fm = v.mask_of(lambda c: c.rep is False)
        return ([{v.key: tm}] if tm else []), ([{v.key: fm}] if fm else [])

    def fires(self, e: Expr | None) -> list[Box]:
        return self.cond(e)[0]

    def not_fires(self, e: Expr | None) -> list[Box]:
        return self.space.complement(self.fires(e))


def _coalesced(e: Expr) -> tuple[Expr, Any] | None:
    """``coalesce(x, constant)`` as (x, constant), the one shape of coalesce conditions use."""
    if (isinstance(e, Call) and e.func == "coalesce" and len(e.args) == 2 and not _lit(e.args[0])
            and _lit(e.args[1])):
        lit = e.args[1]
        assert isinstance(lit, Literal)
        return e.args[0], lit.value
    return None


def _safe(pred: Callable[[Any], bool], c: Cell) -> bool:
    try:
        return bool(pred(c.rep))
    except TypeError:
        return False


def _kind_of_value(v: Any) -> str:
    import datetime as dt

    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, dt.date):
        return "date"
    return "string"


def _kind_of_expr(e: Expr) -> str:
    if isinstance(e, Ref):
        return e.type.name
    return "number"


def var_value_ok(v: Var, value: Any, mask: int) -> bool:
    """Whether a concrete value falls in one of the cells of ``mask``."""
    return any((mask >> i) & 1 and c.holds(value) for i, c in enumerate(v.cells))
