"""Guard dispatch (accountrules.compile.guards) against the plain scan it replaces.

A scanned section whose rows mostly open on ``name == 'text'`` / ``name in [...]`` evaluates only
the rows the env's value lets through. For every env (unknown values, values of another type, a
missing name) the matched rows, and any error a row raises, must be exactly those of evaluating
every row in order.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.compile.closures import compile_expr
from accountrules.compile.guards import build_guards
from accountrules.compile.plan import CRow, ScanRows
from accountrules.errors import SourceLocation
from accountrules.evaluate.driver import COMPILED
from accountrules.parse.expr_ast import BOOL, NUMBER, STRING, Binary, Expr, InList, Literal, Logic, Ref

LOC = SourceLocation("t.yaml", 1, 1)


def _ref(key: str, typ: Any = STRING) -> Ref:
    return Ref(LOC, "field", key, typ)


def _text(v: str) -> Literal:
    return Literal(LOC, v, STRING)


GUARDS = st.one_of(
    st.builds(lambda k, v: Binary(LOC, "==", _ref(k), _text(v)), st.sampled_from("st"), st.sampled_from("xyz")),
    st.builds(lambda k, vs: InList(LOC, _ref(k), tuple(map(_text, vs)), False), st.sampled_from("st"),
              st.lists(st.sampled_from("xyz"), min_size=1, max_size=3)),
)
# what follows a guard: plain tests, and one that raises for some envs (a number ordered against text)
TAILS = st.sampled_from([
    Binary(LOC, ">=", _ref("a", NUMBER), Literal(LOC, 1, NUMBER)),
    _ref("flag", BOOL),
    Binary(LOC, ">", _ref("a", NUMBER), _ref("t")),
    Binary(LOC, "!=", _ref("s"), _text("y")),
])
CONDITIONS = st.one_of(
    GUARDS,
    st.builds(lambda g, tails: Logic(LOC, "and", (g, *tails)), GUARDS, st.lists(TAILS, min_size=1, max_size=2)),
    st.builds(lambda t, g: Logic(LOC, "and", (t, g)), TAILS, GUARDS),  # a guard not first: not dispatched on
    st.builds(lambda g, t: Logic(LOC, "or", (g, t)), GUARDS, TAILS),  # nor under an or
    TAILS,
    st.none(),
)
VALUES = st.one_of(st.none(), st.sampled_from(["x", "y", "z", "w"]), st.integers(0, 2))
ENVS = st.fixed_dictionaries({"a": st.none() | st.integers(0, 2), "flag": st.none() | st.booleans()},
                             optional={"s": VALUES, "t": VALUES})


def _rows(whens: list[Expr | None]) -> ScanRows:
    return ScanRows(tuple(CRow(i, SimpleNamespace(when=w)) for i, w in enumerate(whens)))  # type: ignore[arg-type]


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "value", fn()
    except (TypeError, KeyError) as e:
        return "error", type(e)


def scan(whens: list[Expr | None], env: dict[str, Any], first_only: bool) -> list[int]:
    """Every row evaluated in order, as a section without guards is."""
    out = []
    for i, w in enumerate(whens):
        if w is None or compile_expr(w)(env) is True:
            out.append(i)
            if first_only:
                break
    return out


@settings(max_examples=1500, deadline=None)
@given(st.lists(CONDITIONS, min_size=1, max_size=14), ENVS, st.booleans())
def test_guarded_match_equals_the_scan(whens: list[Expr | None], env: dict[str, Any], first_only: bool) -> None:
    rows = _rows(whens)
    assert outcome(lambda: COMPILED.match("actions", rows, env, first_only)) == \
        outcome(lambda: scan(whens, env, first_only))


def test_guards_are_built_only_when_they_can_skip_many_rows() -> None:
    eq = [Binary(LOC, "==", _ref("s"), _text(v)) for v in "xyzxyz"]
    other = Binary(LOC, ">=", _ref("a", NUMBER), Literal(LOC, 1, NUMBER))
    assert build_guards(eq) is not None
    assert build_guards(eq[:5]) is None  # too few
    assert build_guards([*eq, *[other] * 7]) is None  # fewer than half the rows
    g = build_guards([other, *eq])
    assert g is not None
    assert g.candidates({"s": "y", "a": 0}) == [0, 2, 5]
    assert g.candidates({"s": None, "a": 0}) == list(range(7))  # unknown: every row is evaluated
    assert g.candidates({"s": 3, "a": 0}) == list(range(7))  # another type: likewise


def test_the_shipped_action_rules_are_dispatched() -> None:
    plan = accountrules.load_policy("express").plan
    assert isinstance(plan.action_rules, ScanRows)
    guards = plan.action_rules.guards
    assert guards is not None
    assert {key for key, _, _ in guards.keys} >= {"tier", "stage", "churn.kind"}
