"""Compile a resolved expression tree into nested Python closures.

Closures (not generated source) keep policy text away from ``exec``; each node
becomes one small function of the flat ``env`` dict. Unknown is ``None`` and logic
is three-valued (Kleene): a rule fires only when its condition returns ``True``.

A decision calls a few hundred of these, so the common shapes get their own closure
(``field <op> constant``, conjunctions of such tests, two-operand ``and``/``or``), a
field read is a C-level ``itemgetter``, and constant subtrees are folded at compile
time. ``tests/test_closures.py`` holds every shape to a plain reference interpreter.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from math import isfinite
from typing import Any

from accountrules.compile.constant_operands import (
    arith_const_left,
    arith_const_right,
    call_const_left,
    call_const_right,
    coalesce_const,
)

# Env and Fn are this module's words too: every evaluator imports them from here
from accountrules.compile.field_tests import Env as Env
from accountrules.compile.field_tests import Fn as Fn
from accountrules.compile.field_tests import Test, and_all_tests, and_tests, and_tests3, field_cmp
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
    quantile_ties,
    unparse,
    walk,
)

PORTFOLIO_KEY = "__portfolio__"

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compile_expr(e: Expr) -> Fn:
    """One closure of the flat env computing ``e``; a subtree without names is folded to its value."""
    v = _folded(e)
    if v is not _NOT_CONSTANT:
        return lambda env: v
    return _compile(e)


_NOT_CONSTANT: Any = object()
_READS_ENV = frozenset({"days_since", *PORTFOLIO_FUNCTIONS})  # functions of the date or the portfolio


def _folded(e: Expr) -> Any:
    """The value of ``e`` if it reads nothing from the env (no field, metric, output, date or
    portfolio), else ``_NOT_CONSTANT``. An expression that fails is left to fail when evaluated,
    so the error stays where it was."""
    if isinstance(e, Literal):
        return e.value
    if any(isinstance(n, Ref) or (isinstance(n, Call) and n.func in _READS_ENV) for n in walk(e)):
        return _NOT_CONSTANT
    try:
        return _compile(e)({})
    except (TypeError, ValueError, ArithmeticError, KeyError):
        return _NOT_CONSTANT


def _compile(e: Expr) -> Fn:
    if isinstance(e, Literal):
        v = e.value
        return lambda env: v
    if isinstance(e, Ref):
        return operator.itemgetter(e.key)  # a C callable: no Python frame per read
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


def _field_test(e: Expr) -> Test | None:
    """``(env key, comparison, constant)`` when ``e`` is ``field <op> constant`` (the common condition)."""
    if isinstance(e, Binary) and e.op in _CMP and isinstance(e.left, Ref):
        c = _folded(e.right)
        if c is not _NOT_CONSTANT and c is not None:
            return e.left.key, _CMP[e.op], c
    return None


def _binary(e: Binary) -> Fn:
    test = _field_test(e)
    if test is not None:
        return field_cmp(test[0], e.op, test[2])
    if e.op in _CMP:
        op = _CMP[e.op]
    elif e.op == "+":
        return _arith(e, operator.add)
    elif e.op == "-":
        return _arith(e, _subtract)
    elif e.op == "*":
        return _arith(e, operator.mul)
    else:
        return _arith(e, _divide)
    const = _const_operand(e.left, e.right)
    if const is not None:
        side, c, f = const
        return call_const_right(op, f, c) if side == "right" else call_const_left(op, c, f)
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


def _const_operand(left: Expr, right: Expr) -> tuple[str, Any, Fn] | None:
    """``("right" | "left", the constant, the other operand's closure)`` when exactly one operand of a
    two-operand node is a known constant (an unknown one is left to the general closure)."""
    lc, rc = _folded(left), _folded(right)
    if rc is not _NOT_CONSTANT and rc is not None and lc is _NOT_CONSTANT:
        return "right", rc, _compile(left)
    if lc is not _NOT_CONSTANT and lc is not None and rc is _NOT_CONSTANT:
        return "left", lc, _compile(right)
    return None


def _number(c: Any) -> bool:
    return isinstance(c, int | float) and not isinstance(c, bool)


def _arith(e: Binary, op: Callable[[Any, Any], Any]) -> Fn:
    const = _const_operand(e.left, e.right)
    if const is not None:
        side, c, f = const
        # with a number, ``-`` is the operator itself (only a date difference has days) and ``/`` by a
        # non-zero number cannot divide by zero
        if op is _subtract and _number(c):
            op = operator.sub
        elif op is _divide and side == "right" and _number(c) and c != 0:
            op = operator.truediv
        return arith_const_right(f, op, c) if side == "right" else arith_const_left(c, op, f)
    lf, rf = compile_expr(e.left), compile_expr(e.right)

    def arith(env: Env) -> Any:
        a = lf(env)
        if a is None:
            return None
        b = rf(env)
        if b is None:
            return None
        r = op(a, b)
        # an overflow to inf (e.g. 1 / 1e-313) is not a value a business rule can compare: unknown
        return None if isinstance(r, float) and not isfinite(r) else r

    return arith


def _subtract(a: Any, b: Any) -> Any:
    r = a - b
    return r.days if hasattr(r, "days") else r  # date - date is a number of days


def _divide(a: Any, b: Any) -> Any:
    return None if b == 0 else a / b  # division by zero is unknown, not an error


def _logic(e: Logic) -> Fn:
    tests = [_field_test(o) for o in e.operands]
    if e.op == "and" and all(t is not None for t in tests):
        known = tuple(t for t in tests if t is not None)
        if len(known) == 2:
            return and_tests(known[0], known[1])
        return and_tests3(known[0], known[1], known[2]) if len(known) == 3 else and_all_tests(known)
    fs = tuple(compile_expr(o) for o in e.operands)
    if e.op == "and":
        if len(fs) == 2:
            return _and2(fs[0], fs[1])

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

    if len(fs) == 2:
        return _or2(fs[0], fs[1])

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


def _or2(f: Fn, g: Fn) -> Fn:
    def or2(env: Env) -> Any:
        a = f(env)
        if a is True:
            return True
        b = g(env)
        if b is True:
            return True
        return None if a is None or b is None else False

    return or2


def _and2(f: Fn, g: Fn) -> Fn:
    def and2(env: Env) -> Any:
        a = f(env)
        if a is False:
            return False
        b = g(env)
        if b is False:
            return False
        return None if a is None or b is None else True

    return and2


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
    f = compile_expr(e.operand)
    negated = e.negated
    a, b = _folded(e.low), _folded(e.high)
    if a is not _NOT_CONSTANT and b is not _NOT_CONSTANT and a is not None and b is not None:

        def in_const_range(env: Env) -> Any:
            v = f(env)
            if v is None:
                return None
            return (a <= v <= b) != negated

        return in_const_range
    lo, hi = compile_expr(e.low), compile_expr(e.high)

    def in_range(env: Env) -> Any:
        v, a, b = f(env), lo(env), hi(env)
        if v is None or a is None or b is None:
            return None
        return (a <= v <= b) != negated

    return in_range


def _strict(fn: Callable[..., Any], args: tuple[Fn, ...]) -> Fn:
    """A function that is unknown when any argument is unknown (every argument is evaluated)."""
    if len(args) == 1:
        (f,) = args

        def call1(env: Env) -> Any:
            v = f(env)
            return None if v is None else fn(v)

        return call1
    if len(args) == 2:
        f, g = args

        def call2(env: Env) -> Any:
            a = f(env)
            b = g(env)
            return None if a is None or b is None else fn(a, b)

        return call2

    def call(env: Env) -> Any:
        vals = [a(env) for a in args]
        if any(v is None for v in vals):
            return None
        return fn(*vals)

    return call


def _ratio(a: float, b: float) -> float | None:
    if b == 0:
        return None
    r = a / b
    return None if isinstance(r, float) and not isfinite(r) else r


def _call(e: Call) -> Fn:
    args = tuple(compile_expr(a) for a in e.args)
    f = e.func
    if f in PORTFOLIO_FUNCTIONS:
        key = unparse(e.args[0])
        x = args[0]
        if f == "quantile":
            k = e.args[1].value if isinstance(e.args[1], Literal) else 5
            assert isinstance(k, int)
            if quantile_ties(e) == "first":
                return lambda env: env[PORTFOLIO_KEY].quantile_first(key, x(env), env["id"], k)
            return lambda env: env[PORTFOLIO_KEY].quantile(key, x(env), k)
        if f == "percentile":
            return lambda env: env[PORTFOLIO_KEY].percentile(key, x(env))
        if f == "cumshare_above":
            return lambda env: env[PORTFOLIO_KEY].cumshare_above(key, x(env))
        return lambda env: env[PORTFOLIO_KEY].cumshare(key, x(env))
    if len(args) == 2:
        # coalesce(x, 0), min(x, 1): a constant argument is held, not called (see constant_operands)
        const = _const_operand(e.args[0], e.args[1])
        if const is not None and (f != "coalesce" or const[0] == "right"):
            side, c, x = const
            if f == "coalesce":
                return coalesce_const(x, c)
            if f in _BUILTINS:
                fn = _BUILTINS[f]
                return call_const_right(fn, x, c) if side == "right" else call_const_left(fn, c, x)
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
    return _strict(_BUILTINS[f], args)


_BUILTINS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "ratio": _ratio}
