"""Compile a resolved expression tree into functions of a column frame (three-valued, over masks).

The semantics are those of :mod:`accountrules.compile.closures`, value for value. Numbers are
float64, so integers are exact up to 2**53.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from accountrules.evaluate.vector.values import (
    _FALSE,
    _NULL,
    _TRUE,
    _UNKNOWN,
    Op,
    V,
    _and_k,
    _Bool,
    _bool_of,
    _Ctx,
    _known,
    _Null,
    _Num,
    _Site,
    _Str,
)
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Binary,
    Call,
    EnumRank,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Not,
    Ref,
    Unary,
    ranks_by_id,
    unparse,
)


def _cmp_op(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _compare(op: str, a: V, b: V) -> _Bool:
    if isinstance(a, _Null) or isinstance(b, _Null):
        return _UNKNOWN
    if isinstance(a, _Num) and isinstance(b, _Num):
        return _bool_of(_cmp_op(op, a.v, b.v), _and_k(a.k, b.k))
    if isinstance(a, _Str) and isinstance(b, _Str):
        r = (a.c == b.c) if op == "==" else (a.c != b.c)
        return _bool_of(r, (a.c >= 0) & (b.c >= 0))
    if isinstance(a, _Bool) and isinstance(b, _Bool):
        eq_t = (a.t & b.t) | (a.f & b.f)
        eq_f = (a.t & b.f) | (a.f & b.t)
        return _Bool(eq_t, eq_f) if op == "==" else _Bool(eq_f, eq_t)
    raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__} using {op!r}")


def _arith(op: str, a: V, b: V) -> V:
    if isinstance(a, _Null) or isinstance(b, _Null):
        return _NULL
    if not (isinstance(a, _Num) and isinstance(b, _Num)):
        raise TypeError(f"{op!r} needs numbers")
    k = _and_k(a.k, b.k)
    if op == "+":
        return _finite(a.v + b.v, k)
    if op == "-":
        return _finite(a.v - b.v, k)
    if op == "*":
        return _finite(a.v * b.v, k)
    return _divide(a.v, b.v, k)


def _finite(v: Any, k: Any) -> _Num:
    """An arithmetic result that overflowed to inf (or became NaN) is unknown, as in the closures."""
    ok = np.isfinite(v)
    return _Num(v, ok if k is None else k & ok)


def _divide(a: Any, b: Any, k: Any) -> _Num:
    zero = b == 0
    return _finite(a / np.where(zero, 1.0, b), ~zero if k is None else k & ~zero)


def _logic(op: str, vals: list[V]) -> _Bool:
    bs = [v if isinstance(v, _Bool) else _UNKNOWN for v in vals]
    t, f = bs[0].t, bs[0].f
    if op == "and":
        for b in bs[1:]:
            t = t & b.t
            f = f | b.f
    else:
        for b in bs[1:]:
            t = t | b.t
            f = f & b.f
    return _Bool(t, f)


def _coalesce(vals: list[V]) -> V:
    vs = [v for v in vals if not isinstance(v, _Null)]
    if not vs:
        return _NULL
    last = vs[-1]
    if isinstance(last, _Num):
        v, k = last.v, last.k
        for a in reversed(vs[:-1]):
            assert isinstance(a, _Num)
            if a.k is None:
                v, k = a.v, None
            else:
                v = np.where(a.k, a.v, v)
                k = None if k is None else (a.k | k)
        return _Num(v, k)
    if isinstance(last, _Str):
        c = last.c
        for a in reversed(vs[:-1]):
            assert isinstance(a, _Str)
            c = np.where(a.c >= 0, a.c, c)
        return _Str(c)
    assert isinstance(last, _Bool)
    t, f = last.t, last.f
    for a in reversed(vs[:-1]):
        assert isinstance(a, _Bool)
        unk = ~(a.t | a.f)
        t = a.t | (unk & t)
        f = a.f | (unk & f)
    return _Bool(t, f)


def _min_max(func: str, vals: list[V]) -> V:
    if any(not isinstance(v, _Num) for v in vals):
        return _NULL
    nums = [v for v in vals if isinstance(v, _Num)]
    res, k = nums[0].v, nums[0].k
    for a in nums[1:]:
        # Python's min/max: replace the current best only when strictly better (NaN and -0.0 as Python)
        res = np.where(a.v < res, a.v, res) if func == "min" else np.where(a.v > res, a.v, res)
        k = _and_k(k, a.k)
    return _Num(res, k)


class _Compiler:
    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab
        self.sites: dict[_Site, None] = {}

    def code(self, s: str) -> int:
        return self.vocab.setdefault(s, len(self.vocab))

    def const(self, v: Any) -> V:
        if v is None:
            return _NULL
        if isinstance(v, bool):
            return _Bool(np.bool_(v), np.bool_(not v))
        if isinstance(v, int | float):
            return _Num(np.float64(v))
        if isinstance(v, dt.date):
            return _Num(np.float64(v.toordinal()))
        if isinstance(v, str):
            return _Str(np.int64(self.code(v)))
        raise TypeError(f"cannot use a literal of type {type(v).__name__}")

    def expr(self, e: Expr) -> Op:  # noqa: C901 - one branch per node type
        if isinstance(e, Literal):
            c = self.const(e.value)
            return lambda ctx: c
        if isinstance(e, Ref):
            if e.kind == "as_of":
                return lambda ctx: _Num(ctx.as_of)
            key = e.key
            return lambda ctx: ctx.refs[key]
        if isinstance(e, Unary):
            f = self.expr(e.operand)

            def neg(ctx: _Ctx) -> V:
                v = f(ctx)
                return _Num(-v.v, v.k) if isinstance(v, _Num) else _NULL

            return neg
        if isinstance(e, Binary):
            lf, rf = self.expr(e.left), self.expr(e.right)
            op = e.op
            if op in ("==", "!=", "<", "<=", ">", ">="):
                return lambda ctx: _compare(op, lf(ctx), rf(ctx))
            return lambda ctx: _arith(op, lf(ctx), rf(ctx))
        if isinstance(e, Logic):
            fs = [self.expr(o) for o in e.operands]
            lop = e.op
            return lambda ctx: _logic(lop, [f(ctx) for f in fs])
        if isinstance(e, Not):
            f = self.expr(e.operand)

            def not_(ctx: _Ctx) -> V:
                v = f(ctx)
                return _Bool(v.f, v.t) if isinstance(v, _Bool) else _UNKNOWN

            return not_
        if isinstance(e, IsNull):
            f = self.expr(e.operand)
            negated = e.negated

            def is_null(ctx: _Ctx) -> V:
                k = _known(f(ctx))
                if k is None:
                    k = _TRUE
                return _Bool(k, ~k) if negated else _Bool(~k, k)

            return is_null
        if isinstance(e, InList):
            return self.in_list(e)
        if isinstance(e, InRange):
            return self.in_range(e)
        if isinstance(e, Call):
            return self.call(e)
        if isinstance(e, EnumRank):
            f = self.expr(e.operand)
            values = e.values

            def rank(ctx: _Ctx) -> V:
                v = f(ctx)
                if not isinstance(v, _Str):
                    return _NULL
                lv, lk = ctx.rank_lut(values)
                return _Num(lv[v.c], lk[v.c])  # code -1 reads the last slot, which is never known

            return rank
        raise TypeError(f"cannot compile {type(e).__name__}")

    def in_list(self, e: InList) -> Op:
        f = self.expr(e.operand)
        negated = e.negated
        if all(isinstance(i, Literal) for i in e.items):
            consts = [self.const(i.value) for i in e.items if isinstance(i, Literal) and i.value is not None]

            def in_consts(ctx: _Ctx) -> V:
                v = f(ctx)
                if isinstance(v, _Null):
                    return _UNKNOWN
                hit: Any = _FALSE
                for c in consts:
                    eq = _compare("==", v, c)
                    hit = hit | eq.t
                known = _known(v)
                if known is None:
                    known = _TRUE
                return _Bool(known & ~hit, known & hit) if negated else _Bool(known & hit, known & ~hit)

            return in_consts
        items = [self.expr(i) for i in e.items]

        def in_items(ctx: _Ctx) -> V:
            v = f(ctx)
            if isinstance(v, _Null):
                return _UNKNOWN
            hit: Any = _FALSE
            unk: Any = _FALSE
            for g in items:
                w = g(ctx)
                if isinstance(w, _Null):
                    unk = _TRUE
                    continue
                wk = _known(w)
                eq = _compare("==", _as_known(v), _as_known(w)).t
                if wk is None:
                    hit = hit | eq
                else:
                    hit = hit | (wk & eq)
                    unk = unk | ~wk
            known = _known(v)
            if known is None:
                known = _TRUE
            miss = ~hit & ~unk
            return _Bool(known & miss, known & hit) if negated else _Bool(known & hit, known & miss)

        return in_items

    def in_range(self, e: InRange) -> Op:
        f, lo, hi = self.expr(e.operand), self.expr(e.low), self.expr(e.high)
        negated = e.negated

        def in_range(ctx: _Ctx) -> V:
            v, a, b = f(ctx), lo(ctx), hi(ctx)
            if not (isinstance(v, _Num) and isinstance(a, _Num) and isinstance(b, _Num)):
                return _UNKNOWN
            inside = (a.v <= v.v) & (v.v <= b.v)
            return _bool_of(~inside if negated else inside, _and_k(_and_k(v.k, a.k), b.k))

        return in_range

    def call(self, e: Call) -> Op:
        func = e.func
        if func in PORTFOLIO_FUNCTIONS:
            kq = 0
            if func == "quantile":
                k_lit = e.args[1]
                assert isinstance(k_lit, Literal) and isinstance(k_lit.value, int)
                kq = k_lit.value
            # a quantile that ranks ties by account id is its own site: it needs the rows' ids
            site: _Site = ("quantile_first" if ranks_by_id(e) else func, unparse(e.args[0]), kq)
            self.sites.setdefault(site, None)

            def portfolio(ctx: _Ctx) -> V:
                got = ctx.pre[site]  # computed for the whole batch before the chunks run
                if got is None:
                    return _NULL
                return _Num(got[0][ctx.lo:ctx.hi], got[1][ctx.lo:ctx.hi])

            return portfolio
        args = [self.expr(a) for a in e.args]
        if func == "coalesce":
            return lambda ctx: _coalesce([a(ctx) for a in args])
        if func == "days_since":
            d = args[0]

            def days_since(ctx: _Ctx) -> V:
                v = d(ctx)
                return _Num(ctx.as_of - v.v, v.k) if isinstance(v, _Num) else _NULL

            return days_since
        if func in ("min", "max"):
            return lambda ctx: _min_max(func, [a(ctx) for a in args])
        if func == "abs":
            a0 = args[0]

            def abs_(ctx: _Ctx) -> V:
                v = a0(ctx)
                return _Num(np.abs(v.v), v.k) if isinstance(v, _Num) else _NULL

            return abs_
        if func == "ratio":
            a0, b0 = args

            def ratio(ctx: _Ctx) -> V:
                a, b = a0(ctx), b0(ctx)
                if not (isinstance(a, _Num) and isinstance(b, _Num)):
                    return _NULL
                return _divide(a.v, b.v, _and_k(a.k, b.k))

            return ratio
        raise TypeError(f"unknown function {func!r}")


def _as_known(v: V) -> V:
    """The same values with the unknown mask dropped (value equality only; callers mask)."""
    if isinstance(v, _Num):
        return _Num(v.v)
    if isinstance(v, _Bool):
        return _Bool(v.t, ~v.t)
    return v


def _value_type(e: Expr) -> str:
    """number | bool | date | string | null: how a metric's column is given back."""
    if isinstance(e, Literal):
        return "string" if e.type.name == "enum" else e.type.name
    if isinstance(e, Ref):
        return "string" if e.type.name == "enum" else e.type.name
    if isinstance(e, Binary):
        return "bool" if e.op in ("==", "!=", "<", "<=", ">", ">=") else "number"
    if isinstance(e, Logic | Not | IsNull | InList | InRange):
        return "bool"
    if isinstance(e, Call) and e.func == "coalesce":
        for a in e.args:
            t = _value_type(a)
            if t != "null":
                return t
        return "null"
    return "number"


# ================================================================================================
# The compiled program
# ================================================================================================
