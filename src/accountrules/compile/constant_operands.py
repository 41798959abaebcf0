"""Closures for an operation one of whose operands is a constant (a parameter, a literal).

Policies compare and scale by parameters: ``x / params.cap``, ``min(..., 1)``,
``coalesce(x, 0)``, ``6 - quantile(...)``. A constant operand compiled on its own is a
closure called on every evaluation only to return its value; these closures hold the value
instead, one Python call fewer per constant per evaluation.

Each closure returns exactly what the general one of :mod:`accountrules.compile.closures`
returns: the constant is never ``None`` (callers only pass known constants), the other operand
is evaluated as before and in the same order, and the same checks follow.
``tests/test_closures.py`` holds every shape to a reference interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import Any

Env = dict[str, Any]
Fn = Callable[[Env], Any]
Op = Callable[[Any, Any], Any]


def arith_const_right(f: Fn, op: Op, c: Any) -> Fn:
    """``f <op> c`` for an arithmetic ``op``: unknown when ``f`` is, and an overflow to inf is unknown."""

    def arith_c(env: Env) -> Any:
        a = f(env)
        if a is None:
            return None
        r = op(a, c)
        return None if isinstance(r, float) and not isfinite(r) else r

    return arith_c


def arith_const_left(c: Any, op: Op, f: Fn) -> Fn:
    """``c <op> f`` for an arithmetic ``op`` (as :func:`arith_const_right`)."""

    def c_arith(env: Env) -> Any:
        b = f(env)
        if b is None:
            return None
        r = op(c, b)
        return None if isinstance(r, float) and not isfinite(r) else r

    return c_arith


def call_const_right(fn: Callable[..., Any], f: Fn, c: Any) -> Fn:
    """``fn(f, c)`` of a function unknown when an argument is (``min(x, 1)``, ``ratio(x, 100)``), or a
    comparison ``f <cmp> c`` where ``f`` is no plain field read (those have closures of their own)."""

    def call_c(env: Env) -> Any:
        a = f(env)
        return None if a is None else fn(a, c)

    return call_c


def call_const_left(fn: Callable[..., Any], c: Any, g: Fn) -> Fn:
    """``fn(c, g)`` (as :func:`call_const_right`)."""

    def c_call(env: Env) -> Any:
        b = g(env)
        return None if b is None else fn(c, b)

    return c_call


def coalesce_const(f: Fn, c: Any) -> Fn:
    """``coalesce(f, c)``: ``f``'s value, or the constant when it is unknown."""

    def coalesce_c(env: Env) -> Any:
        v = f(env)
        return c if v is None else v

    return coalesce_c
