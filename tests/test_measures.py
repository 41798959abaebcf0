"""Measures of a score or a flag against an outcome: hand-computed cases, brute-force references
(every positive–negative pair for ROC AUC, every threshold for average precision) and properties."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from accountrules.backtest.measures import (
    CalibrationBin,
    bootstrap_ci,
    bootstrap_cis,
    calibration_table,
    flag_measures,
    pr_auc,
    roc_auc,
)


def pairwise_auc(y: np.ndarray, s: np.ndarray) -> float:
    """The definition: over every (positive, negative) pair, 1 if the positive scores higher, ½ if tied."""
    pos, neg = s[y.astype(bool)], s[~y.astype(bool)]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def threshold_ap(y: np.ndarray, s: np.ndarray) -> float:
    """The definition: flag score ≥ τ for every distinct τ from the highest down; Σ (Rₙ − Rₙ₋₁) Pₙ."""
    y = y.astype(bool)
    total, previous_recall, ap = y.sum(), 0.0, 0.0
    for tau in np.unique(s)[::-1]:
        flagged = s >= tau
        recall = (flagged & y).sum() / total
        ap += (recall - previous_recall) * (flagged & y).sum() / flagged.sum()
        previous_recall = recall
    return float(ap)


def test_hand_computed_case() -> None:
    # scikit-learn's documentation example: AUC 0.75, average precision 0.8333
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    assert roc_auc(y, s) == 0.75
    assert pr_auc(y, s) == pytest.approx(5 / 6)


def test_ties_count_half() -> None:
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert pr_auc([0, 1], [0.5, 0.5]) == 0.5
    # positives 0.5 and 0.9 against negatives 0.5 and 0.1: pairs 0.5, 1, 1, 1
    assert roc_auc([True, True, False, False], [0.5, 0.9, 0.5, 0.1]) == 0.875


def test_one_class_only_is_undefined() -> None:
    with pytest.raises(ValueError, match="one positive and one negative"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="at least one positive"):
        pr_auc([0, 0], [0.2, 0.3])
    assert pr_auc([1, 1], [0.2, 0.3]) == 1.0


@pytest.mark.parametrize(("y", "s", "message"), [
    ([0, 2], [0.1, 0.2], "bool or 0/1"),
    ([0, 1], [0.1], "differ in shape"),
    ([0, 1], [0.1, float("nan")], "not finite"),
    ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
])
def test_bad_input_is_refused(y: ArrayLike, s: ArrayLike, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        roc_auc(y, s)


labelled = st.integers(2, 60).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda y: 0 < sum(y) < len(y)),
    # small whole numbers: many ties, and transforms below stay exact
    st.lists(st.integers(-20, 20), min_size=n, max_size=n),
))


@settings(max_examples=150, deadline=None)
@given(labelled)
def test_auc_and_ap_match_their_definitions(case: tuple[list[bool], list[int]]) -> None:
    y, s = np.array(case[0]), np.array(case[1], dtype=float)
    assert roc_auc(y, s) == pytest.approx(pairwise_auc(y, s), abs=1e-12)
    assert pr_auc(y, s) == pytest.approx(threshold_ap(y, s), abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(labelled)
def test_auc_flips_with_the_score_and_ignores_monotone_transforms(case: tuple[list[bool], list[int]]) -> None:
    y, s = np.array(case[0]), np.array(case[1], dtype=float)
    auc = roc_auc(y, s)
    assert roc_auc(y, -s) == pytest.approx(1 - auc, abs=1e-12)
    assert roc_auc(y, s**3 + 2 * s + 7) == auc
    assert roc_auc(y, np.exp(s / 10)) == auc
    assert pr_auc(y, 3 * s - 1) == pr_auc(y, s)
    # the order of the accounts does not matter
    order = np.random.default_rng(0).permutation(len(y))
    assert roc_auc(y[order], s[order]) == pytest.approx(auc, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(labelled)
def test_a_perfect_score_has_both_areas_one(case: tuple[list[bool], list[int]]) -> None:
    y = np.array(case[0])
    s = y + np.random.default_rng(1).random(len(y)) * 0.5
    assert roc_auc(y, s) == 1.0
    assert pr_auc(y, s) == 1.0


def noisy_sample(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.round(rng.normal(size=n), 2)
    return rng.random(n) < 1 / (1 + np.exp(-2 * s)), s


@pytest.mark.parametrize("metric", [roc_auc, pr_auc])
def test_bootstrap_interval_brackets_the_estimate_and_is_seeded(metric: object) -> None:
    y, s = noisy_sample(2000)
    point = metric(y, s)  # type: ignore[operator]
    low, high = bootstrap_ci(metric, y, s, n_resamples=400)  # type: ignore[arg-type]
    assert low < point < high
    assert 0.005 < high - low < 0.15
    assert bootstrap_ci(metric, y, s, n_resamples=400) == (low, high)  # type: ignore[arg-type]
    assert bootstrap_ci(metric, y, s, n_resamples=400, seed=1) != (low, high)  # type: ignore[arg-type]
    # a narrower level gives a narrower interval inside it
    inner = bootstrap_ci(metric, y, s, n_resamples=400, level=0.5)  # type: ignore[arg-type]
    assert low <= inner[0] <= inner[1] <= high


@pytest.mark.parametrize("metric", [roc_auc, pr_auc])
def test_batched_bootstrap_equals_one_call_per_resample(metric: object) -> None:
    """The all-at-once path gives what calling the metric on each resample gives (same draws)."""
    y, s = noisy_sample(500)
    batched = bootstrap_ci(metric, y, s, n_resamples=200)  # type: ignore[arg-type]
    one_by_one = bootstrap_ci(lambda a, b: metric(a, b), y, s, n_resamples=200)  # type: ignore[operator]
    assert batched == pytest.approx(one_by_one, abs=1e-12)


def test_several_metrics_share_the_resamples() -> None:
    y, s = noisy_sample(800)
    both = bootstrap_cis([roc_auc, pr_auc, lambda a, b: roc_auc(a, b)], y, s, n_resamples=150, seed=4)
    assert both[0] == bootstrap_ci(roc_auc, y, s, n_resamples=150, seed=4)
    assert both[1] == bootstrap_ci(pr_auc, y, s, n_resamples=150, seed=4)
    assert both[2] == pytest.approx(both[0], abs=1e-12)
    assert bootstrap_cis([], y, s) == ()


def test_bootstrap_drops_resamples_where_the_metric_is_undefined() -> None:
    # one positive in 20: about a third of resamples lack it, and are left out rather than failing
    y = np.zeros(20, dtype=bool)
    y[0] = True
    s = np.linspace(1, 0, 20)
    assert bootstrap_ci(roc_auc, y, s, n_resamples=300) == (1.0, 1.0)
    with pytest.raises(ValueError, match="undefined on every resample"):
        bootstrap_ci(roc_auc, np.zeros(5, dtype=bool), np.arange(5.0))
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(roc_auc, y, s, n_resamples=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(roc_auc, y, s, level=1.0)


def test_bootstrap_memory_is_chunked() -> None:
    """More resamples than one chunk holds: still every resample, still deterministic."""
    y, s = noisy_sample(40_000, seed=5)
    first = bootstrap_ci(roc_auc, y, s, n_resamples=250)
    assert first == bootstrap_ci(roc_auc, y, s, n_resamples=250)
    assert first[0] < roc_auc(y, s) < first[1]


def test_calibration_deciles_by_rank() -> None:
    s = np.arange(100, dtype=float)
    y = s >= 70
    table = calibration_table(y, s)
    assert [b.bin for b in table] == list(range(1, 11))
    assert all(b.n == 10 for b in table)
    assert [b.observed_rate for b in table] == [0.0] * 7 + [1.0] * 3
    assert (table[0].lower, table[0].upper, table[0].mean_score) == (0.0, 9.0, 4.5)
    assert json.loads(json.dumps([b.to_dict() for b in table]))[9] == {
        "bin": 10, "lower": 90.0, "upper": 99.0, "n": 10, "mean_score": 94.5, "observed_rate": 1.0}


def test_calibration_keeps_ties_in_one_bin() -> None:
    # 60 accounts score 0 and share the lowest bin; the rest fill later ranks
    s = np.concatenate([np.zeros(60), np.arange(1, 41, dtype=float)])
    y = np.arange(100) % 2 == 0
    table = calibration_table(y, s)
    assert table[0] == CalibrationBin(bin=1, lower=0.0, upper=0.0, n=60, mean_score=0.0, observed_rate=0.5)
    assert [b.bin for b in table] == [1, 7, 8, 9, 10]
    assert sum(b.n for b in table) == 100
    assert calibration_table([], []) == []
    with pytest.raises(ValueError, match="bins"):
        calibration_table(y, s, bins=0)


@settings(max_examples=100, deadline=None)
@given(labelled, st.integers(1, 12))
def test_calibration_partitions_the_accounts_in_score_order(case: tuple[list[bool], list[int]], bins: int) -> None:
    y, s = np.array(case[0]), np.array(case[1], dtype=float)
    table = calibration_table(y, s, bins=bins)
    assert sum(b.n for b in table) == len(y)
    assert sum(b.observed_rate * b.n for b in table) == pytest.approx(y.sum())
    assert all(b.lower <= b.mean_score <= b.upper for b in table)
    assert all(a.upper < b.lower for a, b in zip(table, table[1:], strict=False))
    assert all(1 <= b.bin <= bins for b in table)


def test_flag_measures_hand_computed() -> None:
    y = [1, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    flagged = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    got = flag_measures(y, flagged)
    assert (got.accounts, got.flagged, got.positives, got.flagged_positives) == (10, 3, 3, 2)
    assert got.precision == pytest.approx(2 / 3)
    assert got.recall == pytest.approx(2 / 3)
    assert got.base_rate == pytest.approx(0.3)
    assert got.lift == pytest.approx((2 / 3) / 0.3)
    assert json.loads(json.dumps(got.to_dict()))["flagged_positives"] == 2


def test_flag_measures_zero_denominators_give_none() -> None:
    nobody = flag_measures([1, 0, 1], [False, False, False])
    assert (nobody.precision, nobody.lift, nobody.recall) == (None, None, pytest.approx(0.0))
    no_positive = flag_measures([0, 0], [True, False])
    assert (no_positive.precision, no_positive.recall, no_positive.base_rate, no_positive.lift) == (0.0, None, 0.0,
                                                                                                   None)
    empty = flag_measures([], [])
    assert (empty.accounts, empty.precision, empty.recall, empty.base_rate, empty.lift) == (0, None, None, None, None)
    with pytest.raises(ValueError, match="flagged must be bool"):
        flag_measures([0, 1], [0, 3])
    with pytest.raises(ValueError, match="differ in shape"):
        flag_measures([0, 1], [True])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=50))
def test_flag_measures_are_consistent(rows: list[tuple[bool, bool]]) -> None:
    y, f = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    got = flag_measures(y, f)
    assert got.flagged_positives <= min(got.flagged, got.positives)
    for value in (got.precision, got.recall, got.base_rate):
        assert value is None or 0.0 <= value <= 1.0
    if got.lift is not None:
        assert got.precision is not None and got.base_rate
        assert got.lift == pytest.approx(got.precision / got.base_rate)
    # flagging everyone: precision is the base rate, lift 1
    everyone = flag_measures(y, np.ones_like(f))
    assert everyone.precision == everyone.base_rate
    assert everyone.lift in (None, pytest.approx(1.0))


def test_matches_scikit_learn_where_installed() -> None:
    """A cross-check when scikit-learn happens to be installed (it is not a test dependency)."""
    metrics = pytest.importorskip("sklearn.metrics")
    for decimals in (0, 1, 3):
        y, s = noisy_sample(3000, seed=decimals)
        s = np.round(s, decimals)
        assert roc_auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
        assert pr_auc(y, s) == pytest.approx(metrics.average_precision_score(y, s), abs=1e-12)
