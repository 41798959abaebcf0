"""LoadLimits: a policy past a limit is refused with a PolicyLimitError naming the file, line and limit."""

from __future__ import annotations

import pickle

import pytest

import accountrules
from accountrules import LoadLimits
from accountrules.errors import PolicyLimitError

HEAD = ['policy: {name: big, version: "1", label: {zh: 大, en: Big}}', "fields:", "  x: {type: number}",
        "tiers:", "  hit: first", "  values: {gold: {zh: G, en: G}, iron: {zh: I, en: I}}", "  default: iron",
        "  rows:"]
FIRST_ROW_LINE = len(HEAD) + 1


def table(rows: int, when: str = "extra.x >= {i}", hit: str = "first") -> str:
    head = [line.replace("hit: first", f"hit: {hit}") for line in HEAD]
    lines = [*head, *(f'    - {{id: r{i}, when: "{when.format(i=i)}", then: gold}}' for i in range(rows))]
    return "\n".join(lines) + "\n"


def refused(text: str, limits: LoadLimits) -> PolicyLimitError:
    with pytest.raises(PolicyLimitError) as info:
        accountrules.load_policy_text(text, name="big.yaml", limits=limits)
    return info.value


def test_a_table_past_max_table_rows_points_at_the_first_row_too_many() -> None:
    e = refused(table(12), LoadLimits(max_table_rows=10))
    assert e.location is not None and (e.location.file, e.location.line) == ("big.yaml", FIRST_ROW_LINE + 10)
    assert "12 rows" in e.message and "max_table_rows" in e.message
    assert accountrules.load_policy_text(table(10), name="big.yaml", limits=LoadLimits(max_table_rows=10))


def test_expression_nodes_are_counted_over_the_policy() -> None:
    e = refused(table(10), LoadLimits(max_expression_nodes=20))  # 3 nodes a row: the 7th row crosses 20
    assert e.location is not None and (e.location.file, e.location.line) == ("big.yaml", FIRST_ROW_LINE + 6)
    assert "max_expression_nodes" in e.message
    # a compound condition counts every node, not three
    e = refused(table(2, "extra.x >= {i} and extra.x < 100 and extra.x != 7"), LoadLimits(max_expression_nodes=12))
    assert e.location is not None and e.location.line == FIRST_ROW_LINE + 1


def test_rows_tested_per_decision_bound_an_unindexed_table_not_an_indexed_one() -> None:
    # 'extra.x * 2 > i' cannot be looked up: every decision tests every row
    e = refused(table(50, "extra.x * 2 > {i}"), LoadLimits(max_rows_per_decision=20))
    assert e.location is not None and (e.location.file, e.location.line) == ("big.yaml", 5)  # the tiers table
    assert "50" in e.message and "max_rows_per_decision" in e.message
    # the same number of range rows is found by lookup: few candidates per value
    ranges = table(500, "extra.x >= {i} and extra.x < {i}1")
    policy = accountrules.load_policy_text(ranges, name="big.yaml", limits=LoadLimits(max_rows_per_decision=20))
    assert policy.decide({"id": "A", "extra": {"x": 42}}).tier.code == "gold"


def test_a_cpu_time_budget_stops_the_load_where_it_ran_out() -> None:
    e = refused(table(3_000), LoadLimits(max_load_seconds=1e-9))
    assert e.location is not None and e.location.file == "big.yaml" and "max_load_seconds" in e.message
    assert accountrules.load_policy_text(table(3_000), name="big.yaml", limits=LoadLimits(max_load_seconds=60))


def test_the_limits_travel_with_a_pickled_policy() -> None:
    limits = LoadLimits(max_table_rows=5)
    policy = accountrules.load_policy_text(table(5), name="big.yaml", limits=limits)
    copy = pickle.loads(pickle.dumps(policy))
    assert copy == policy and copy.limits == limits
    assert accountrules.load_policy("express").limits == LoadLimits()


@pytest.mark.parametrize("bad", [{"max_table_rows": 0}, {"max_expression_nodes": -1}, {"max_rows_per_decision": 1.5},
                                 {"max_table_rows": True}, {"max_load_seconds": 0}, {"max_load_seconds": "1"}])
def test_nonsense_limits_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="LoadLimits"):
        LoadLimits(**bad)  # type: ignore[arg-type]


def test_an_index_for_first_hit_lookups_does_not_bound_a_table_that_collects_every_hit() -> None:
    # overlapping thresholds: the index keeps, per value, the rows up to the first that fires
    limits = LoadLimits(max_rows_per_decision=20)
    policy = accountrules.load_policy_text(table(500), name="big.yaml", limits=limits)
    assert policy.decide({"id": "A", "extra": {"x": 42}}).tier.code == "gold"
    e = refused(table(500, hit="any"), limits)  # every matching row is collected: all 500 are tested
    assert "500" in e.message and e.location is not None and e.location.file == "big.yaml"
