"""The checker reuses what it learnt from a passing ``name <op> constant`` condition for the rows after it
(accountrules.check.expr_check.ConditionChecker). These tests hold it to the full check: the same trees,
every failing row reported at its own place, and nothing learnt carried from one policy to another."""

from __future__ import annotations

import pytest

import accountrules
from accountrules.check.expr_check import ConditionChecker, ExprChecker, Scope
from accountrules.errors import PolicyError, PolicyTypeError, SourceLocation
from accountrules.parse.expr_ast import BOOL, NUMBER, STRING, Binary, Ref, Type
from accountrules.parse.expr_parser import parse_expression

HEAD = 'policy: {name: t, version: "1", label: t}\n'


def tiers(fields: str, whens: list[str]) -> str:
    rows = "".join(f"    - {{id: r{i}, when: \"{w}\", then: gold}}\n" for i, w in enumerate(whens))
    return (HEAD + f"fields: {{{fields}}}\n" + "tiers:\n  values: {gold: Gold, iron: Iron}\n  default: iron\n"
            "  rows:\n" + rows)


def errors_of(text: str) -> list[PolicyError]:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy_text(text, name="p.yaml")
    return list(info.value.errors)


def test_rows_of_one_failing_shape_are_each_reported_at_their_own_place() -> None:
    # three rows of one shape (a text field ordered with '>'), after a passing row of another shape
    text = tiers("s: {type: string}, x: {type: number}",
                 ["extra.x >= 1", "extra.s > 'a'", "extra.s > 'b'", "extra.s > 'a'"])
    errs = errors_of(text)
    assert all(isinstance(e, PolicyTypeError) for e in errs)
    # each error at its own row's line (rows start on line 7), at its condition (the opening quote)
    assert [(e.location.line, e.location.column) for e in errs if e.location] == [(8, 22), (9, 22), (10, 22)]
    assert all("'>' needs numbers or dates" in e.message for e in errs)


def test_a_shape_that_passed_still_fails_where_its_text_constant_is_not_a_value() -> None:
    # a segment's value compared with text: the constant decides, so 'hi' passing says nothing of 'hii'
    same = "segments.big == "
    text = tiers("x: {type: number}", [same + "'hi'", same + "'hii'", same + "'hi'", same + "'lo'", same + "'hii'"]) + (
        "segments:\n  big:\n    values: {hi: H, lo: L}\n    rows:\n"
        "      - {id: a, when: \"extra.x >= 1\", then: hi}\n")
    errs = errors_of(text)
    # at each failing row (rows start on line 7), at its constant
    assert [(e.location.line, e.location.column) for e in errs if e.location] == [(8, 38), (11, 38)]
    assert all("'hii' is not a segment:big" in e.message for e in errs)


def test_a_passing_row_does_not_hide_a_failing_one_of_another_type() -> None:
    text = tiers("x: {type: number}", ["extra.x >= 1", "extra.x >= 'a'", "extra.x >= 2", "extra.x >= 'b'"])
    errs = errors_of(text)
    assert [(e.location.line, e.location.column) for e in errs if e.location] == [(8, 33), (10, 33)]
    assert all("'>=' needs numbers or dates, but this is string" in e.message for e in errs)


def test_two_policies_never_share_what_was_learnt() -> None:
    # the same condition passes in one policy and fails in the next, whose field has another type
    passing = tiers("x: {type: number}", ["extra.x >= 1", "extra.x >= 2"])
    failing = tiers("x: {type: string}", ["extra.x >= 1", "extra.x >= 2"])
    decision = accountrules.load_policy_text(passing, name="p.yaml").decide({"id": "a", "extra": {"x": 5}})
    assert decision.tier is not None and decision.tier.code == "gold"
    errs = errors_of(failing)
    assert [e.location.line for e in errs if e.location] == [7, 8]
    # and back: the first policy loads as before
    accountrules.load_policy_text(passing, name="p.yaml")


def test_a_reused_check_builds_the_tree_the_full_check_builds_with_each_rows_places() -> None:
    scope = Scope({"extra.x": NUMBER, "extra.s": STRING, "tier": Type("enum", "tier", ("gold", "iron"))}, {"k": 3})
    conditions = ConditionChecker(scope, BOOL, "a condition")
    for line, text in enumerate(["extra.x >= 10", "extra.x >= 20", "extra.x < 5", "tier == 'gold'",
                                 "tier == 'gold'", "extra.s == 'a'", "extra.x >= params.k", "extra.x >= 30"],
                                start=1):
        e = parse_expression(text, SourceLocation("p.yaml", line, 11))
        got = conditions.check(e)
        want, _ = ExprChecker(scope).check(e, BOOL, "a condition")
        assert got == want
        # equality leaves locations out: compare them too, node by node
        assert isinstance(got, Binary) and isinstance(want, Binary)
        assert (got.loc, got.left.loc, got.right.loc) == (want.loc, want.left.loc, want.right.loc)
        assert got.left.loc.line == line
        if isinstance(want.left, Ref):
            assert isinstance(got.left, Ref) and (got.left.kind, got.left.key, got.left.type) == (
                want.left.kind, want.left.key, want.left.type)
    # a failure is raised as the full check raises it, at this row's place, and is not kept
    for line in (20, 21):
        e = parse_expression("tier == 'gld'", SourceLocation("p.yaml", line, 11))
        with pytest.raises(PolicyTypeError) as info:
            conditions.check(e)
        assert info.value.location == SourceLocation("p.yaml", line, 19)
