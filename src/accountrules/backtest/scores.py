"""A churn score against the churned outcome: ROC and PR AUC with intervals, calibration, the
points of the ROC and cumulative-gains charts, and the paired comparison of two scores.

The comparison of two scores uses DeLong's variance of the difference of two AUCs measured on
the same accounts (DeLong, DeLong & Clarke-Pearson, Biometrics 1988): it accounts for the
pairing, and costs one sort instead of a thousand resamples of both scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import Final

import numpy as np

from accountrules.backtest.history import Bools, Floats
from accountrules.backtest.measures import CalibrationBin, bootstrap_cis, calibration_table, pr_auc, roc_auc
from accountrules.backtest.result import Comparison, ScoreMeasures, Verdict

__all__ = ["compare", "score_measures"]

_CHART_POINTS: Final = 200


def score_measures(name: str, y_true: Bools, score: Floats, *, n_resamples: int, level: float,
                   seed: int) -> ScoreMeasures:
    """Measures of ``score`` (higher = more likely to churn); undefined (None) with one class only."""
    n = len(y_true)
    both = 0 < int(np.count_nonzero(y_true)) < n
    if not both:
        return ScoreMeasures(name=name, accounts=n, roc_auc=None, roc_ci=None, pr_auc=None, pr_ci=None,
                             calibration=[], roc_points=[], gains=[])
    roc_ci, pr_ci = bootstrap_cis((roc_auc, pr_auc), y_true, score, n_resamples=n_resamples, level=level,
                                  seed=seed)
    return ScoreMeasures(
        name=name, accounts=n,
        roc_auc=float(roc_auc(y_true, score)), roc_ci=_interval(roc_ci),
        pr_auc=float(pr_auc(y_true, score)), pr_ci=_interval(pr_ci),
        calibration=[_row(r) for r in calibration_table(y_true, score, bins=10)],
        roc_points=_thin(_roc_points(y_true, score)), gains=_thin(_gains(y_true, score)),
    )


def compare(name: str, y_true: Bools, score: Floats, baselines: Mapping[str, Floats], *,
            level: float) -> list[Comparison]:
    """ROC AUC of ``score`` minus that of each baseline, with DeLong's interval for two AUCs measured
    on the same accounts; the verdict is ``beats``/``loses`` when the interval excludes 0, else ``ties``."""
    y = np.asarray(y_true, dtype=np.bool_)
    m, n = int(np.count_nonzero(y)), int(np.count_nonzero(~y))
    if m == 0 or n == 0:
        return [Comparison(score=name, baseline=b, difference=None, ci=None, verdict=None) for b in baselines]
    z = float(_normal_quantile(0.5 + level / 2.0))
    a_pos, a_neg = _placements(y, score)
    out = []
    for b in baselines:
        b_pos, b_neg = _placements(y, baselines[b])
        diff = float(a_pos.mean() - b_pos.mean())
        # var(AUC_a - AUC_b) from the structural components of each AUC (DeLong et al. 1988)
        var = float(np.var(a_pos - b_pos, ddof=1) / m + np.var(a_neg - b_neg, ddof=1) / n) if m > 1 and n > 1 else 0.0
        half = z * var**0.5
        lo, hi = diff - half, diff + half
        verdict: Verdict = "beats" if lo > 0 else "loses" if hi < 0 else "ties"
        out.append(Comparison(score=name, baseline=b, difference=diff, ci=(lo, hi), verdict=verdict))
    return out


def _placements(y: Bools, score: Floats) -> tuple[Floats, Floats]:
    """DeLong's structural components: for each churner, the share of stayers it outscores (ties
    half); for each stayer, the share of churners that outscore it (ties half). Their means are the AUC."""
    values, level = np.unique(np.asarray(score, dtype=np.float64), return_inverse=True)
    k = len(values)
    pos = np.bincount(level[y], minlength=k).astype(np.float64)
    neg = np.bincount(level[~y], minlength=k).astype(np.float64)
    neg_below = np.cumsum(neg) - neg
    pos_above = pos.sum() - np.cumsum(pos)
    v10 = (neg_below + 0.5 * neg) / neg.sum()
    v01 = (pos_above + 0.5 * pos) / pos.sum()
    return v10[level[y]], v01[level[~y]]


def _normal_quantile(p: float) -> float:
    return NormalDist().inv_cdf(p)


def _sorted_counts(y: Bools, score: Floats) -> tuple[Floats, Floats]:
    """Cumulative churners and accounts at each distinct score, highest first."""
    values, level = np.unique(-np.asarray(score, dtype=np.float64), return_inverse=True)
    pos = np.bincount(level, weights=y.astype(np.float64), minlength=len(values))
    cnt = np.bincount(level, minlength=len(values)).astype(np.float64)
    return np.cumsum(pos), np.cumsum(cnt)


def _roc_points(y: Bools, score: Floats) -> tuple[Floats, Floats]:
    tp, k = _sorted_counts(y, score)
    return (k - tp) / (k[-1] - tp[-1]), tp / tp[-1]


def _gains(y: Bools, score: Floats) -> tuple[Floats, Floats]:
    tp, k = _sorted_counts(y, score)
    return k / k[-1], tp / tp[-1]


def _thin(points: tuple[Floats, Floats]) -> list[tuple[float, float]]:
    """From (0, 0), at most about 200 points of a curve for a chart, the last kept."""
    x, yv = points
    if len(x) > _CHART_POINTS:
        pick = np.unique(np.r_[np.linspace(0, len(x) - 1, _CHART_POINTS).astype(np.int64), len(x) - 1])
        x, yv = x[pick], yv[pick]
    return [(0.0, 0.0)] + [(round(float(a), 4), round(float(b), 4)) for a, b in zip(x, yv, strict=True)]


def _interval(ci: tuple[float, float]) -> tuple[float, float]:
    lo, hi = ci
    return float(lo), float(hi)


def _row(row: CalibrationBin) -> dict[str, float | int | None]:
    return {str(k): v if isinstance(v, int) else float(v) for k, v in row.to_dict().items()}
