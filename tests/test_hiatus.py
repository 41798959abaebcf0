"""The hiatus heuristic: the score is recency, and k is chosen by balanced accuracy, ties to the smallest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.backtest.hiatus import choose_hiatus_days, hiatus_score


def test_score_is_recency_and_a_copy() -> None:
    days = np.array([3.0, 400.0, 0.0])
    score = hiatus_score(days)
    np.testing.assert_array_equal(score, days)
    score[0] = 99
    assert days[0] == 3.0
    with pytest.raises(ValueError, match="≥ 0"):
        hiatus_score([-1])
    with pytest.raises(ValueError, match="finite"):
        hiatus_score([np.nan])


def test_hand_computed_choice() -> None:
    # lapsed accounts were silent 100+ days, active ones at most 60, but one active at 150
    recency = [10, 20, 60, 150, 100, 120, 200, 300]
    lapsed = [0, 0, 0, 0, 1, 1, 1, 1]
    got = choose_hiatus_days(recency, lapsed, [30, 90, 130, 250])
    by_k = {c.days: c for c in got.candidates}
    # k = 90 flags 100, 120, 150, 200, 300: all 4 lapsed, 1 of 4 active → (1 + 0.75) / 2
    assert (by_k[90].flagged, by_k[90].sensitivity, by_k[90].specificity) == (5, 1.0, 0.75)
    assert by_k[90].balanced_accuracy == 0.875
    # k = 130 flags 150, 200, 300: 2 of 4 lapsed, 1 active → (0.5 + 0.75) / 2
    assert by_k[130].balanced_accuracy == 0.625
    assert by_k[30].balanced_accuracy == (1.0 + 0.5) / 2
    assert (got.days, got.balanced_accuracy, got.accounts, got.inactive) == (90.0, 0.875, 8, 4)
    assert [c.days for c in got.candidates] == [30.0, 90.0, 130.0, 250.0]
    as_json = json.loads(json.dumps(got.to_dict()))
    assert as_json["days"] == 90.0 and len(as_json["candidates"]) == 4


def test_recency_equal_to_k_is_not_flagged() -> None:
    got = choose_hiatus_days([90, 91], [0, 1], [90])
    assert got.candidates[0].flagged == 1
    assert got.balanced_accuracy == 1.0


def test_ties_go_to_the_smallest_k() -> None:
    # every k from 20 to 99 separates perfectly
    got = choose_hiatus_days([10, 20, 100, 200], [False, False, True, True], [99, 50, 20, 10, 250])
    assert got.days == 20.0
    assert got.balanced_accuracy == 1.0


@pytest.mark.parametrize(("recency", "lapsed", "candidates", "message"), [
    ([], [], [30], "no accounts in the calibration split"),
    ([10, 20], [0, 0], [30], "both accounts that lapsed"),
    ([10, 20], [1, 1], [30], "both accounts that lapsed"),
    ([10, 20], [0, 1], [], "non-empty"),
    ([10, 20], [0, 1], [-5], "non-empty"),
    ([10, 20], [0, 2], [5], "bool or 0/1"),
    ([10, 20], [0], [5], "differ in shape"),
    ([10, -1], [0, 1], [5], "≥ 0"),
])
def test_bad_input_is_refused(recency: list[float], lapsed: list[int], candidates: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        choose_hiatus_days(recency, lapsed, candidates)


@st.composite
def splits(draw: st.DrawFn) -> tuple[list[int], list[bool], list[int]]:
    n = draw(st.integers(2, 60))
    recency = draw(st.lists(st.integers(0, 400), min_size=n, max_size=n))
    lapsed = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < len(v)))
    candidates = draw(st.lists(st.integers(0, 400), min_size=1, max_size=20))
    return recency, lapsed, candidates


@settings(max_examples=150, deadline=None)
@given(splits())
def test_choice_is_the_best_candidate_by_brute_force(case: tuple[list[int], list[bool], list[int]]) -> None:
    recency, lapsed, candidates = case
    r, y = np.array(recency), np.array(lapsed)

    def balanced(k: int) -> float:
        flagged = r > k
        return float(((flagged & y).sum() / y.sum() + (~flagged & ~y).sum() / (~y).sum()) / 2)

    got = choose_hiatus_days(recency, lapsed, candidates)
    best = max(balanced(k) for k in candidates)
    assert got.balanced_accuracy == pytest.approx(best)
    assert got.days == min(k for k in candidates if balanced(k) == pytest.approx(best))
    for c in got.candidates:
        assert c.balanced_accuracy == pytest.approx(balanced(int(c.days)))
        assert c.flagged == int((r > c.days).sum())
        assert 0.0 <= c.sensitivity <= 1.0 and 0.0 <= c.specificity <= 1.0
