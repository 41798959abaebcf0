"""Compile a resolved expression tree into nested Python closures.

Closures (not generated source) keep policy text away from ``exec``; each node
becomes one small function of the flat ``env`` dict. Unknown is ``None`` and logic
is three-valued (Kleene): a rule fires only when its condition returns ``True``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from math import isfinite
from typing import Any

from accountrules.parse.expr_ast import (
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
    unparse,
)

Env = dict[str, Any]
Fn = Callable[[Env], Any]

PORTFOLIO_KEY = "__portfolio__"

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _finite(r: Any) -> Any:
    # an overflow to inf (e.g. 1 / 1e-313) is not a value a business rule can compare: unknown
    return r if not isinstance(r, float) or isfinite(r) else None


def _div(a: Any, b: Any) -> Any:
    return None if b == 0 else _finite(a / b)


def _sub(a: Any, b: Any) -> Any:
    r = a - b
    return r.days if hasattr(r, "days") else _finite(r)  # date - date is a number of days


def _add(a: Any, b: Any) -> Any:
    return _finite(a + b)


def _mul(a: Any, b: Any) -> Any:
    return _finite(a * b)


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div,
}


def compile_expr(e: Expr) -> Fn:
    if isinstance(e, Literal):
        v = e.value
        return lambda env: v
    if isinstance(e, Ref):
        key = e.key
        return lambda env: env[key]
    if isinstance(e, Unary):
        f = compile_expr(e.operand)

        def neg(env: Env) -> Any:
            v = f(env)
            return None if v is None else -v

        return neg
    if isinstance(e, Binary):
        return _binary(e)
    if isinstance(e, Logic):
        return _logic(e)
    if isinstance(e, Not):
        f = compile_expr(e.operand)

        def not_(env: Env) -> Any:
            v = f(env)
            return None if v is None else not v

        return not_
    if isinstance(e, IsNull):
        f = compile_expr(e.operand)
        if e.negated:
            return lambda env: f(env) is not None
        return lambda env: f(env) is None
    if isinstance(e, InList):
        return _in_list(e)
    if isinstance(e, InRange):
        return _in_range(e)
    if isinstance(e, Call):
        return _call(e)
    if isinstance(e, EnumRank):
        f = compile_expr(e.operand)
        ranks = {v: i + 1 for i, v in enumerate(e.values)}
        return lambda env: ranks.get(f(env))
    raise TypeError(f"cannot compile {type(e).__name__}")


def _binary(e: Binary) -> Fn:
    op = _CMP.get(e.op) or _ARITH[e.op]
    # the most common condition shape, field <op> constant, gets one closure instead of three
    if isinstance(e.left, Ref) and isinstance(e.right, Literal) and e.right.value is not None:
        key, c = e.left.key, e.right.value

        def field_const(env: Env) -> Any:
            v = env[key]
            return None if v is None else op(v, c)

        return field_const
    lf, rf = compile_expr(e.left), compile_expr(e.right)

    def binary(env: Env) -> Any:
        a = lf(env)
        if a is None:
            return None
        b = rf(env)
        if b is None:
            return None
        return op(a, b)

    return binary


def _logic(e: Logic) -> Fn:
    fs = tuple(compile_expr(o) for o in e.operands)
    if e.op == "and":

        def and_(env: Env) -> Any:
            unknown = False
            for f in fs:
                v = f(env)
                if v is False:
                    return False
                if v is None:
                    unknown = True
            return None if unknown else True

        return and_

    def or_(env: Env) -> Any:
        unknown = False
        for f in fs:
            v = f(env)
            if v is True:
                return True
            if v is None:
                unknown = True
        return None if unknown else False

    return or_


def _in_list(e: InList) -> Fn:
    f = compile_expr(e.operand)
    negated = e.negated
    if all(isinstance(i, Literal) for i in e.items):
        consts = frozenset(i.value for i in e.items if isinstance(i, Literal))

        def in_consts(env: Env) -> Any:
            v = f(env)
            if v is None:
                return None
            return (v in consts) != negated

        return in_consts
    items = tuple(compile_expr(i) for i in e.items)

    def in_items(env: Env) -> Any:
        v = f(env)
        if v is None:
            return None
        unknown = False
        for g in items:
            w = g(env)
            if w is None:
                unknown = True
            elif w == v:
                return not negated
        return None if unknown else negated

    return in_items


def _in_range(e: InRange) -> Fn:
    f, lo, hi = compile_expr(e.operand), compile_expr(e.low), compile_expr(e.high)
    negated = e.negated

    def in_range(env: Env) -> Any:
        v, a, b = f(env), lo(env), hi(env)
        if v is None or a is None or b is None:
            return None
        return (a <= v <= b) != negated

    return in_range


def _strict(fn: Callable[..., Any], args: tuple[Fn, ...]) -> Fn:
    """A function that is unknown when any argument is unknown."""

    def call(env: Env) -> Any:
        vals = [a(env) for a in args]
        if any(v is None for v in vals):
            return None
        return fn(*vals)

    return call


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else _finite(a / b)


def _call(e: Call) -> Fn:
    args = tuple(compile_expr(a) for a in e.args)
    f = e.func
    if f in ("percentile", "cumshare", "quantile"):
        key = unparse(e.args[0])
        x = args[0]
        if f == "quantile":
            k = e.args[1].value if isinstance(e.args[1], Literal) else 5
            assert isinstance(k, int)
            return lambda env: env[PORTFOLIO_KEY].quantile(key, x(env), k)
        if f == "percentile":
            return lambda env: env[PORTFOLIO_KEY].percentile(key, x(env))
        return lambda env: env[PORTFOLIO_KEY].cumshare(key, x(env))
    if f == "coalesce":

        def coalesce(env: Env) -> Any:
            for a in args:
                v = a(env)
                if v is not None:
                    return v
            return None

        return coalesce
    if f == "days_since":
        d = args[0]

        def days_since(env: Env) -> Any:
            v = d(env)
            return None if v is None else (env["as_of"] - v).days

        return days_since
    builtins: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "ratio": _ratio}
    fn = builtins[f]
    return _strict(fn, args)
