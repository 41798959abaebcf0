"""Action merging over a batch equals the per-account merge (issue 8, "semantics once").

Seed concept: a retention plan gathers the measures every fired action rule asks for (the eight
prevention measures, care plans, dedicated account managers, executive visits), each once, in the
order they were first asked for; ``merge_actions`` says so per account, ``merge_action_masks`` for a
whole batch of fired-rule masks, and the vector evaluator uses the latter.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.evaluate.semantics import first_true, merge_action_masks, merge_actions
from accountrules.evaluate.vector.run import _pattern_bits, _pattern_keys

CODES = ["dedicated_manager", "executive_visit", "care_plan", "complaint_followup", "win_back", "credit_review"]


def _rules(actions: list[list[str]]) -> list[Any]:
    # merge_actions reads only row.id and row.actions of a compiled row
    return [SimpleNamespace(row=SimpleNamespace(id=f"A{i}", actions=tuple(a))) for i, a in enumerate(actions)]


@settings(max_examples=300, deadline=None)
@given(actions=st.lists(st.lists(st.sampled_from(CODES), max_size=4), min_size=0, max_size=12), data=st.data())
def test_batch_merge_equals_per_account_merge(actions: list[list[str]], data: st.DataObject) -> None:
    rules = _rules(actions)
    n = data.draw(st.integers(0, 20))
    fired = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=len(rules), max_size=len(rules)),
                                        min_size=n, max_size=n)), dtype=np.bool_).reshape(n, len(rules))
    merged = merge_action_masks(rules, fired)
    assert len(merged) == n
    for p in range(n):
        chosen = [r for i, r in enumerate(rules) if fired[p, i]]
        codes, fired_rules = merged.row(p)
        assert codes == tuple(merge_actions(chosen))
        assert fired_rules == tuple(i for i in range(len(rules)) if fired[p, i])


def test_a_code_asked_twice_comes_once_where_first_asked() -> None:
    rules = _rules([["care_plan"], ["executive_visit", "care_plan"], ["dedicated_manager", "executive_visit"]])
    merged = merge_action_masks(rules, np.array([[False, True, True], [True, False, True]]))
    assert merged.row(0) == (("executive_visit", "care_plan", "dedicated_manager"), (1, 2))
    assert merged.row(1) == (("care_plan", "dedicated_manager", "executive_visit"), (0, 2))


@settings(max_examples=50, deadline=None)
@given(width=st.sampled_from([1, 7, 8, 63, 64, 65, 130]), data=st.data())
def test_pattern_keys_round_trip_narrow_and_wide(width: int, data: st.DataObject) -> None:
    # up to 64 rules a row's fired set is one uint64; beyond, a fixed-width byte string
    n = data.draw(st.integers(1, 8))
    fired = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=width, max_size=width),
                                        min_size=n, max_size=n)), dtype=np.bool_)
    keys = _pattern_keys([fired[:, i] for i in range(width)], n)
    assert (_pattern_bits(keys, width) == fired).all()


@settings(max_examples=200, deadline=None)
@given(tables=st.integers(0, 150), data=st.data())
def test_first_true_is_the_first_matching_row_of_every_account(tables: int, data: st.DataObject) -> None:
    # first-hit over a batch (a tier table's "first" policy): per account, the first table row that
    # matched, -1 for none; tables past 64 rows cross the blocks first_true stacks its masks in
    n = data.draw(st.integers(0, 40))
    fires = [np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=np.bool_)
             for _ in range(tables)]
    want = [next((i for i, f in enumerate(fires) if f[p]), -1) for p in range(n)]
    assert first_true(fires, n).tolist() == want
