"""The compiled closures (specialised, fused and constant-folded) against a plain reference interpreter.

The reference below is the three-valued semantics written out once, node by node, with no
shortcut; the compiler may specialise and fold as it likes as long as every expression gives
the same value (or the same error) for every env.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.compile.closures import compile_expr
from accountrules.errors import SourceLocation
from accountrules.parse.expr_ast import (
    BOOL,
    NUMBER,
    STRING,
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

LOC = SourceLocation("t.yaml", 1, 1)
CMP: dict[str, Callable[[Any, Any], Any]] = {"==": operator.eq, "!=": operator.ne, "<": operator.lt,
                                             "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _finite(r: Any) -> Any:
    return None if isinstance(r, float) and not math.isfinite(r) else r


def reference(e: Expr, env: dict[str, Any]) -> Any:  # noqa: C901 - one branch per node kind, on purpose
    if isinstance(e, Literal):
        return e.value
    if isinstance(e, Ref):
        return env[e.key]
    if isinstance(e, Unary):
        v = reference(e.operand, env)
        return None if v is None else -v
    if isinstance(e, Binary):
        a = reference(e.left, env)
        if a is None:
            return None
        b = reference(e.right, env)
        if b is None:
            return None
        if e.op in CMP:
            return CMP[e.op](a, b)
        if e.op == "/":
            return None if b == 0 else _finite(a / b)
        r = {"+": operator.add, "-": operator.sub, "*": operator.mul}[e.op](a, b)
        return r.days if hasattr(r, "days") else _finite(r)
    if isinstance(e, Logic):
        unknown = False
        for o in e.operands:
            v = reference(o, env)
            if v is (e.op == "or"):
                return v
            if v is None:
                unknown = True
        return None if unknown else e.op == "and"
    if isinstance(e, Not):
        v = reference(e.operand, env)
        return None if v is None else not v
    if isinstance(e, IsNull):
        return (reference(e.operand, env) is None) != e.negated
    if isinstance(e, InList):
        v = reference(e.operand, env)
        if v is None:
            return None
        items = [reference(i, env) for i in e.items]
        if v in [i for i in items if i is not None]:
            return not e.negated
        return None if None in items else e.negated
    if isinstance(e, InRange):
        v, lo, hi = reference(e.operand, env), reference(e.low, env), reference(e.high, env)
        if v is None or lo is None or hi is None:
            return None
        return (lo <= v <= hi) != e.negated
    if isinstance(e, Call):
        if e.func == "coalesce":  # the first known argument; the rest are not evaluated
            return next((v for v in (reference(a, env) for a in e.args) if v is not None), None)
        args = [reference(a, env) for a in e.args]
        if any(a is None for a in args):
            return None
        if e.func == "ratio":
            return None if args[1] == 0 else _finite(args[0] / args[1])
        return {"min": min, "max": max, "abs": abs}[e.func](*args)
    raise TypeError(type(e).__name__)


# -- generated expressions ---------------------------------------------------------------------------

NUMBERS = st.sampled_from([0, 1, -1, 2, 0.5, -2.5, 1e308, 3, 10]) | st.integers(-5, 5)


def _lit(v: Any, typ: Any = NUMBER) -> Literal:
    return Literal(LOC, v, typ)


def _ref(key: str, typ: Any = NUMBER) -> Ref:
    return Ref(LOC, "field", key, typ)


def numbers(depth: int) -> st.SearchStrategy[Expr]:
    leaf = st.sampled_from([_ref("a"), _ref("b"), _ref("m")]) | NUMBERS.map(_lit)
    if depth == 0:
        return leaf
    sub = numbers(depth - 1)
    return leaf | st.one_of(
        st.builds(lambda op, a, b: Binary(LOC, op, a, b), st.sampled_from("+-*/"), sub, sub),
        sub.map(lambda a: Unary(LOC, "-", a)),
        st.builds(lambda f, args: Call(LOC, f, tuple(args)), st.sampled_from(["min", "max", "coalesce"]),
                  st.lists(sub, min_size=2, max_size=3)),
        st.builds(lambda a, b: Call(LOC, "ratio", (a, b)), sub, sub),
        sub.map(lambda a: Call(LOC, "abs", (a,))),
    )


# ``field <op> constant`` and an ``and`` of two to five of them: the rows of most tables, compiled to
# their own closures (compile/field_tests.py: one per operator, two tests, three tests, any number)
FIELD_TESTS = st.builds(lambda op, key, v: Binary(LOC, op, _ref(key), _lit(v)), st.sampled_from(sorted(CMP)),
                        st.sampled_from(["a", "b", "m"]), NUMBERS)
TEST_CONJUNCTIONS = st.lists(FIELD_TESTS, min_size=2, max_size=5).map(lambda ts: Logic(LOC, "and", tuple(ts)))


def conditions(depth: int) -> st.SearchStrategy[Expr]:
    num = numbers(1)
    leaf = st.one_of(
        st.just(_ref("flag", BOOL)),
        st.sampled_from([True, False, None]).map(lambda v: _lit(v, BOOL)),
        st.builds(lambda op, a, b: Binary(LOC, op, a, b), st.sampled_from(sorted(CMP)), num, num),
        st.builds(lambda op, v: Binary(LOC, op, _ref("s", STRING), _lit(v, STRING)), st.sampled_from(["==", "!="]),
                  st.sampled_from(["x", "y"])),
        st.builds(lambda a, n: IsNull(LOC, a, n), num, st.booleans()),
        st.builds(lambda a, items, n: InList(LOC, a, tuple(items), n), num,
                  st.lists(num, min_size=1, max_size=3), st.booleans()),
        st.builds(lambda a, lo, hi, n: InRange(LOC, a, lo, hi, n), num, num, num, st.booleans()),
    )
    if depth == 0:
        return leaf
    sub = conditions(depth - 1)
    return leaf | st.one_of(
        st.builds(lambda op, ops: Logic(LOC, op, tuple(ops)), st.sampled_from(["and", "or"]),
                  st.lists(sub, min_size=2, max_size=4)),
        sub.map(lambda a: Not(LOC, a)),
    )


ENVS = st.fixed_dictionaries({
    "a": st.none() | NUMBERS, "b": st.none() | NUMBERS, "m": st.none() | NUMBERS,
    "flag": st.none() | st.booleans(), "s": st.none() | st.sampled_from(["x", "y", "z"]),
})


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        v = fn()
    except (TypeError, ValueError, ArithmeticError) as e:
        return "error", type(e)
    return "value", (type(v), v)


@settings(max_examples=1500, deadline=None)
@given(conditions(2) | numbers(2), ENVS)
def test_compiled_closures_agree_with_the_reference(e: Expr, env: dict[str, Any]) -> None:
    fn = compile_expr(e)
    assert outcome(lambda: fn(env)) == outcome(lambda: reference(e, env)), unparse(e)


@settings(max_examples=600, deadline=None)
@given(FIELD_TESTS | TEST_CONJUNCTIONS, ENVS)
def test_field_test_closures_agree_with_the_reference(e: Expr, env: dict[str, Any]) -> None:
    fn = compile_expr(e)
    assert outcome(lambda: fn(env)) == outcome(lambda: reference(e, env)), unparse(e)


def test_constant_subexpressions_are_folded_and_keep_their_value() -> None:
    e = Binary(LOC, "-", _lit(1), Binary(LOC, "*", _lit(0.5), _lit(2)))
    assert compile_expr(e)({}) == 0.0
    cond = Binary(LOC, ">=", _ref("a"), Binary(LOC, "/", _lit(1), _lit(0)))  # a >= unknown
    assert compile_expr(cond)({"a": 5}) is None


def test_a_constant_operand_gives_what_the_general_closure_gives() -> None:
    # constant_operands: one operand a known constant; dates and a zero divisor keep their own rules
    import datetime as dt

    from accountrules.parse.expr_ast import DATE

    day = Literal(LOC, dt.date(2026, 1, 1), DATE)
    since = Binary(LOC, "-", _ref("d", DATE), day)  # date - date: a number of days
    assert compile_expr(since)({"d": dt.date(2026, 1, 31)}) == 30
    assert compile_expr(Binary(LOC, "-", day, _ref("d", DATE)))({"d": dt.date(2025, 12, 31)}) == 1
    assert compile_expr(since)({"d": None}) is None
    assert compile_expr(Binary(LOC, "/", _ref("a"), _lit(0)))({"a": 5}) is None  # by zero: unknown
    assert compile_expr(Binary(LOC, "/", _ref("a"), _lit(1e-320)))({"a": 1e10}) is None  # overflow: unknown
    assert compile_expr(Binary(LOC, "-", _lit(6), _ref("a")))({"a": 2}) == 4
    assert compile_expr(Call(LOC, "coalesce", (_ref("a"), _lit(0))))({"a": None}) == 0
    assert compile_expr(Call(LOC, "min", (_lit(1), _ref("a"))))({"a": 0.5}) == 0.5
    assert compile_expr(Binary(LOC, "<", _lit(1), Binary(LOC, "*", _ref("a"), _lit(2))))({"a": 1}) is True
    assert compile_expr(Binary(LOC, "<", _lit(1), Unary(LOC, "-", _ref("a"))))({"a": None}) is None
