"""Closures of ``field <op> constant`` tests and of an ``and`` of them: the conditions of most table rows.

Each is one closure per condition with the comparison inline or bound, so a row's test costs a dict
look-up and a comparison, not a walk of the expression. Three-valued as every closure: a test of an
unknown (None) value is unknown, an ``and`` is false when a test is false, else unknown when a test is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Env = dict[str, Any]
Fn = Callable[[Env], Any]
Test = tuple[str, Callable[[Any, Any], bool], Any]
"""``(env key, comparison, constant)``: one ``field <op> constant`` test."""


def field_cmp(key: str, op: str, c: Any) -> Fn:
    # one closure per operator, so a test is a dict lookup and an inline comparison
    if op == "==":
        def eq(env: Env) -> Any:
            v = env[key]
            return None if v is None else v == c
        return eq
    if op == "!=":
        def ne(env: Env) -> Any:
            v = env[key]
            return None if v is None else v != c
        return ne
    if op == "<":
        def lt(env: Env) -> Any:
            v = env[key]
            return None if v is None else v < c
        return lt
    if op == "<=":
        def le(env: Env) -> Any:
            v = env[key]
            return None if v is None else v <= c
        return le
    if op == ">":
        def gt(env: Env) -> Any:
            v = env[key]
            return None if v is None else v > c
        return gt

    def ge(env: Env) -> Any:
        v = env[key]
        return None if v is None else v >= c
    return ge


def and_all_tests(tests: tuple[Test, ...]) -> Fn:
    """``field <op> c and ...`` with three or more tests, in one closure."""

    def and_all_tests(env: Env) -> Any:
        unknown = False
        for key, op, c in tests:
            v = env[key]
            if v is None:
                unknown = True
            elif op(v, c) is False:
                return False
        return None if unknown else True

    return and_all_tests


def and_tests(t: Test, u: Test) -> Fn:
    """``field <op> c and field <op> c`` (most rows of most tables) in one closure."""
    k1, op1, c1 = t
    k2, op2, c2 = u

    def and_tests(env: Env) -> Any:
        v = env[k1]
        if v is not None and op1(v, c1) is False:
            return False
        w = env[k2]
        if w is not None and op2(w, c2) is False:
            return False
        return None if v is None or w is None else True

    return and_tests


def and_tests3(t: Test, u: Test, x: Test) -> Fn:
    """Three tests (a tier row's usual share, debt and arrears cuts): :func:`and_all_tests` without its loop."""
    k1, op1, c1 = t
    k2, op2, c2 = u
    k3, op3, c3 = x

    def and_tests3(env: Env) -> Any:
        v = env[k1]
        if v is not None and op1(v, c1) is False:
            return False
        w = env[k2]
        if w is not None and op2(w, c2) is False:
            return False
        y = env[k3]
        if y is not None and op3(y, c3) is False:
            return False
        return None if v is None or w is None or y is None else True

    return and_tests3
