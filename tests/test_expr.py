"""Parse, check and compile stages of the expression language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accountrules.check.expr_check import ExprChecker, Scope
from accountrules.compile.closures import PORTFOLIO_KEY, compile_expr
from accountrules.errors import ExpressionSyntaxError, PolicyTypeError, SourceLocation
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.parse.expr_ast import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    Binary,
    Call,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Name,
    Not,
    Type,
    unparse,
)
from accountrules.parse.expr_parser import parse_expression

BASE = SourceLocation("p.yaml", 3, 11)
STAGE = Type("enum", "stage", ("nurture", "initial", "stable", "strategic", "interrupted"))
SCOPE = Scope(
    fields={"a": NUMBER, "b": NUMBER, "s": STRING, "d": DATE, "flag": BOOL, "stage": STAGE},
    params={"cut": 0.8, "name": "x"},
    metrics={"m": NUMBER},
)


def parse(text: str) -> Any:
    return parse_expression(text, BASE)


def run(text: str, env: dict[str, Any]) -> Any:
    e, _ = ExprChecker(SCOPE).check(parse(text))
    full = {"a": None, "b": None, "s": None, "d": None, "flag": None, "stage": None, "m": None,
            "as_of": dt.date(2026, 6, 30), **env}
    return compile_expr(e)(full)


# -- parse ------------------------------------------------------------------------------------------


def test_precedence_and_or_not() -> None:
    e = parse("not a > 1 and b < 2 or flag")
    assert isinstance(e, Logic) and e.op == "or"
    left = e.operands[0]
    assert isinstance(left, Logic) and left.op == "and"
    assert isinstance(left.operands[0], Not)


def test_arithmetic_precedence() -> None:
    e = parse("a + b * 2")
    assert isinstance(e, Binary) and e.op == "+"
    assert isinstance(e.right, Binary) and e.right.op == "*"


@pytest.mark.parametrize(
    ("text", "value"),
    [("90d", 90), ("2w", 14), ("2024-06-30", dt.date(2024, 6, 30)), ("'x'", "x"), ('"y"', "y"),
     ("true", True), ("null", None), ("-3", -3), ("1.5e2", 150.0)],
)
def test_literals(text: str, value: object) -> None:
    e = parse(text)
    assert isinstance(e, Literal) and e.value == value


def test_in_list_range_and_null_checks() -> None:
    assert isinstance(parse("s in ['a', 'b']"), InList)
    r = parse("a not in 0.3..0.5")
    assert isinstance(r, InRange) and r.negated
    n = parse("a is not null")
    assert isinstance(n, IsNull) and n.negated
    assert isinstance(parse("percentile(a)"), Call)


@pytest.mark.parametrize(
    ("text", "column"),
    [("a >", 14), ("a > > 1", 15), ("a $ 1", 13), ("(a > 1", 17), ("a > 1 b", 17), ("a < b < c", 17),
     ("x.y(1)", 11), ("", 11)],
)
def test_syntax_errors_point_at_the_column(text: str, column: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text)
    assert info.value.location is not None
    assert (info.value.location.line, info.value.location.column) == (3, column)


def test_unparse_round_trips() -> None:
    for text in ["a > 1 and (b < 2 or flag)", "s in ['a', 'b']", "percentile(a) >= 0.8", "a is not null",
                 "not (a in 1..2)", "-a + 3 * b"]:
        e = parse(text)
        assert unparse(parse(unparse(e))) == unparse(e)


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested"):
        parse("(" * 200 + "a" + ")" * 200)


# -- check ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [("a == 'x'", "cannot compare"), ("s > 1", "needs numbers"), ("stage == 'stabel'", "did you mean 'stable'"),
     ("zz > 1", "unknown field"), ("params.nope > 1", "unknown parameter"), ("a == null", "is null"),
     ("foo(a)", "unknown function"), ("a and flag", "needs bool"), ("min(a)", "at least 2"),
     ("percentile(percentile(a))", "another portfolio function"), ("quantile(a, 1)", "whole number"),
     ("rank(a)", "tier or segment"), ("days_since(a)", "needs date"), ("extra.x == 1", "declared")],
)
def test_type_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyTypeError, match=message):
        ExprChecker(SCOPE).check(parse(text))


def test_params_fold_to_constants() -> None:
    e, t = ExprChecker(SCOPE).check(parse("a >= params.cut"))
    assert t == BOOL
    assert isinstance(e, Binary) and isinstance(e.right, Literal) and e.right.value == 0.8


def test_checker_expects_bool_for_conditions() -> None:
    with pytest.raises(PolicyTypeError, match="must be bool"):
        ExprChecker(SCOPE).check(parse("a + 1"), BOOL, "a condition")


# -- compile: three-valued logic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("a > 1", {"a": 2}, True),
        ("a > 1", {}, None),
        ("not (a > 1)", {}, None),
        ("a > 1 or flag", {"flag": True}, True),
        ("a > 1 and flag", {"flag": False}, False),
        ("a > 1 and flag", {"flag": True}, None),
        ("a is null", {}, True),
        ("coalesce(a, 0) == 0", {}, True),
        ("a / b", {"a": 1, "b": 0}, None),
        ("ratio(a, b)", {"a": 3, "b": 2}, 1.5),
        ("a in 1..3", {"a": 3}, True),
        ("a not in 1..3", {"a": 4}, True),
        ("s in ['x', 'y']", {"s": "y"}, True),
        ("s not in ['x', 'y']", {}, None),
        ("days_since(d)", {"d": dt.date(2026, 6, 1)}, 29),
        ("d - 2026-06-01", {"d": dt.date(2026, 6, 3)}, 2),
        ("max(a, b, 3)", {"a": 1, "b": 7}, 7),
        ("min(a, b)", {"a": 1}, None),
        ("abs(a - b)", {"a": 1, "b": 7}, 6),
        ("-a", {"a": 2}, -2),
    ],
)
def test_evaluation(text: str, env: dict[str, Any], expected: object) -> None:
    assert run(text, env) == expected


KLEENE = st.sampled_from([True, False, None])


@given(KLEENE, KLEENE)
def test_de_morgan_holds_in_three_valued_logic(x: bool | None, y: bool | None) -> None:
    env = {"flag": x, "a": None if y is None else (2 if y else 0)}
    assert run("not (flag and a > 1)", env) == run("not flag or not (a > 1)", env)
    assert run("not (flag or a > 1)", env) == run("not flag and a <= 1", env)


# -- portfolio functions -------------------------------------------------------------------------


def test_portfolio_functions_against_hand_computed_values() -> None:
    stats = PortfolioStats({"a": [10, 20, 30, 40, 100]}, 5)
    scope = SCOPE

    def val(text: str, a: float) -> Any:
        e, _ = ExprChecker(scope).check(parse(text))
        return compile_expr(e)({"a": a, PORTFOLIO_KEY: stats})

    assert val("percentile(a)", 100) == 0.8  # 4 of 5 values are below
    assert val("percentile(a)", 10) == 0.0
    assert val("quantile(a, 5)", 100) == 5
    assert val("quantile(a, 5)", 30) == 3
    assert val("cumshare(a)", 100) == 0.5  # 100 / 200
    assert val("cumshare(a)", 40) == 0.7  # (100 + 40) / 200
    assert val("cumshare(a)", 10) == 1.0


@given(st.lists(st.integers(-50, 1000), min_size=1, max_size=60), st.integers(2, 10))
def test_quantile_buckets_are_within_range_and_monotone(values: list[int], k: int) -> None:
    stats = PortfolioStats({"a": values}, len(values))
    buckets = [stats.quantile("a", v, k) for v in sorted(values)]
    assert all(b is not None and 1 <= b <= k for b in buckets)
    assert buckets == sorted(buckets)  # type: ignore[type-var]


def test_name_resolution_keeps_location() -> None:
    with pytest.raises(PolicyTypeError) as info:
        ExprChecker(SCOPE).check(parse("a > 1 and zz"))
    assert info.value.location == SourceLocation("p.yaml", 3, 21)
    assert isinstance(parse("a"), Name)


def test_date_ranges_without_spaces() -> None:
    e = parse("d in 2024-01-01..2024-12-31")
    assert isinstance(e, InRange)
    assert run("d in 2024-01-01..2024-12-31", {"d": dt.date(2024, 5, 1)}) is True


# -- the one-comparison shortcut builds what the parser builds ---------------------------------------

_NAMES = st.sampled_from(["a", "extra.x", "transactions.annual_revenue", "true", "null", "and", "x.and", "_b1"])
_RIGHT = st.one_of(st.integers(0, 2**60).map(str), st.sampled_from(["1.5", "0.25", "1e5", "2E-3", "1e400", "007",
                                                                   "9" * 41, "'gold'", '"gold"', "''", "'a\\'b'",
                                                                   "2024-01-02", "30d", "-1", "x"]))


def _with_locations(e: Any) -> list[tuple[Any, ...]]:
    """Every node with its location (locations do not take part in node equality)."""
    from accountrules.parse.expr_ast import walk

    return [(type(n).__name__, n, n.loc) for n in walk(e)]


def _outcome(text: str, shortcut: bool) -> Any:
    # a leading space defeats the shortcut; the base one column to the left keeps every location
    padded, at = (text, BASE) if shortcut else (" " + text, BASE.shifted(-1))
    try:
        return _with_locations(parse_expression(padded, at))
    except ExpressionSyntaxError as e:
        return ("error", e.message, e.location)


@given(_NAMES, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), st.sampled_from(["", " ", "  "]),
       st.sampled_from(["", " ", "  "]), _RIGHT)
def test_a_single_comparison_parses_the_same_through_the_shortcut(name: str, op: str, before: str, after: str,
                                                                   right: str) -> None:
    text = f"{name}{before}{op}{after}{right}"
    assert _outcome(text, shortcut=True) == _outcome(text, shortcut=False)


# -- a long table's next comparison, read by the shape of the last one, builds what the parser builds -

_DIGITS = st.one_of(st.integers(0, 2**60).map(str), st.sampled_from(["007", "9" * 41, "9" * 40, str(2**53 + 1),
                                                                     "٣", "1²", "12.5", "1e3", "", " 1", "1 "]))


@given(_NAMES, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), st.sampled_from(["", " ", "  "]),
       st.sampled_from(["", " ", "  "]), _RIGHT, st.one_of(_RIGHT, _DIGITS), st.booleans())
def test_a_comparison_read_by_the_shape_of_the_last_parses_as_the_parser_does(
        name: str, op: str, before: str, after: str, first: str, second: str, same_prefix: bool) -> None:
    """Seed concept: a long tier table of revenue thresholds (customer pyramid), read one row per line."""
    from accountrules.parse.expr_parser import ComparisonShape

    shape = ComparisonShape.of(f"{name}{before}{op}{after}{first}")
    text = f"{name}{before}{op}{after}{second}" if same_prefix else second
    got = shape.parse(text, BASE) if shape is not None else None
    if got is not None:
        assert _with_locations(got) == _with_locations(parse_expression(text, BASE))
    if shape is not None and same_prefix and second.isascii() and second.isdigit() and len(second) <= 40 \
            and int(second) <= 2**53:
        assert got is not None  # the shape reads every row it is for


@pytest.mark.parametrize("digits", ["0", "007", "٣", "1²", "9" * 40, "9" * 41, str(2**53), str(2**53 + 1), "12.5",
                                    "1e3", " 1", "1 ", ""])
def test_the_shape_of_a_comparison_on_the_edges_of_numbers(digits: str) -> None:
    from accountrules.parse.expr_parser import ComparisonShape

    shape = ComparisonShape.of("extra.x >= 120")
    assert shape is not None
    text = "extra.x >= " + digits
    got = shape.parse(text, BASE)
    try:
        want: Any = _with_locations(parse_expression(text, BASE))
    except ExpressionSyntaxError as e:
        want = ("error", e.message, e.location)
    assert got is None or _with_locations(got) == want
    assert (got is not None) == (digits.isascii() and digits.isdigit() and len(digits) <= 40
                                 and int(digits) <= 2**53)
