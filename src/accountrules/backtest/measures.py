"""How well a score or a flag foretells a binary outcome: ROC AUC, PR AUC (average precision), bootstrap
intervals, a calibration table and the precision, recall and lift of a flag. numpy only.

``y_true`` is the outcome per account (bool, or 0/1), ``score`` a finite number per account (higher =
more likely positive), ``flagged`` a bool per account. Both AUCs count tied scores as the literature
and scikit-learn do: ROC AUC by average ranks (the Mann–Whitney U statistic), PR AUC with one step per
distinct score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Metric = Callable[[ArrayLike, ArrayLike], float]

# index cells drawn at once by the bootstrap (resamples × rows): bounds its memory to ~ 12 bytes × this
_CHUNK_CELLS = 4_000_000


def _outcomes(y_true: ArrayLike) -> BoolArray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be one-dimensional, not of shape {y.shape}")
    if y.dtype != np.bool_:
        if y.size and not np.all((y == 0) | (y == 1)):
            raise ValueError("y_true must be bool or 0/1")
        y = y.astype(np.bool_)
    return y


def _pair(y_true: ArrayLike, score: ArrayLike) -> tuple[BoolArray, FloatArray]:
    y = _outcomes(y_true)
    s = np.asarray(score, dtype=np.float64)
    if s.shape != y.shape:
        raise ValueError(f"y_true and score differ in shape: {y.shape}, {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"score is not finite for {int(np.sum(~np.isfinite(s)))} account(s)")
    return y, s


def _tallies(y: BoolArray, s: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Per distinct score (ascending): group index of each row, then negatives and positives per group."""
    _, group = np.unique(s, return_inverse=True)
    group = group.ravel().astype(np.int64)
    groups = int(group.max()) + 1 if group.size else 0
    negatives = np.bincount(group[~y], minlength=groups).astype(np.int64)
    positives = np.bincount(group[y], minlength=groups).astype(np.int64)
    return group, negatives, positives


def _auc_from_tallies(negatives: NDArray[Any], positives: NDArray[Any]) -> FloatArray:
    """ROC AUC from per-group counts (last axis: groups by ascending score), NaN where a class is absent.
    Each positive beats the negatives in lower groups and ties half of those in its own."""
    below = np.cumsum(negatives, axis=-1) - negatives
    wins = np.sum(positives * (below + 0.5 * negatives), axis=-1, dtype=np.float64)
    pairs = np.sum(positives, axis=-1, dtype=np.float64) * np.sum(negatives, axis=-1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc: FloatArray = np.where(pairs > 0, wins / np.where(pairs > 0, pairs, 1.0), np.nan)
    return auc


def _ap_from_tallies(negatives: NDArray[Any], positives: NDArray[Any]) -> FloatArray:
    """Average precision from per-group counts (groups by ascending score), NaN without positives:
    Σ over thresholds, from the highest score down, of (recall gained) × (precision there)."""
    neg = np.flip(negatives, axis=-1).astype(np.float64)
    pos = np.flip(positives, axis=-1).astype(np.float64)
    hits = np.cumsum(pos, axis=-1)
    taken = hits + np.cumsum(neg, axis=-1)
    total = hits[..., -1] if hits.shape[-1] else np.zeros(hits.shape[:-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(taken > 0, hits / np.where(taken > 0, taken, 1.0), 0.0)
        ap: FloatArray = np.where(total > 0, np.sum(pos * precision, axis=-1) / np.where(total > 0, total, 1.0),
                                  np.nan)
    return ap


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random negative, ties
    counting one half (Mann–Whitney). Raises ``ValueError`` unless both classes occur."""
    y, s = _pair(y_true, score)
    _, negatives, positives = _tallies(y, s)
    auc = float(_auc_from_tallies(negatives, positives))
    if np.isnan(auc):
        raise ValueError("ROC AUC needs at least one positive and one negative")
    return auc


def pr_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the precision–recall curve as average precision, step-wise (scikit-learn's
    ``average_precision_score``): Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct scores from the highest down.
    Raises ``ValueError`` without a positive."""
    y, s = _pair(y_true, score)
    _, negatives, positives = _tallies(y, s)
    ap = float(_ap_from_tallies(negatives, positives))
    if np.isnan(ap):
        raise ValueError("PR AUC needs at least one positive")
    return ap


# metrics whose bootstrap is computed from resampled per-score counts, all resamples at once
_FROM_TALLIES: dict[Metric, Callable[[NDArray[Any], NDArray[Any]], FloatArray]] = {
    roc_auc: _auc_from_tallies,
    pr_auc: _ap_from_tallies,
}


def _resamples(n: int, resamples: int, rng: np.random.Generator) -> Iterator[NDArray[np.int32]]:
    """Row indices of ``resamples`` bootstrap resamples of ``n`` rows (drawn with replacement), a chunk
    of resamples at a time as an array of shape (chunk, n); the same draws for every metric."""
    chunk = max(1, min(resamples, _CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        yield rng.integers(0, n, size=(size, n), dtype=np.int32)
        done += size


def _tallies_of(rows: NDArray[np.int32], code: IntArray, groups: int) -> tuple[IntArray, IntArray]:
    """Negatives and positives per score group in each resample of ``rows``: arrays (resamples, groups).
    ``code`` is each row's group × 2 + class, so one bincount counts both."""
    size = rows.shape[0]
    drawn = code[rows]
    drawn += (np.arange(size, dtype=np.int64) * 2 * groups)[:, None]
    counts = np.bincount(drawn.ravel(), minlength=size * 2 * groups).reshape(size, groups, 2)
    return counts[:, :, 0], counts[:, :, 1]


def bootstrap_ci(metric: Metric, y_true: ArrayLike, score: ArrayLike, *, n_resamples: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y_true, score)``: accounts drawn with replacement
    ``n_resamples`` times from ``numpy.random.default_rng(seed)``, the interval the middle ``level``
    of the results (so the same seed gives the same interval).

    :func:`roc_auc` and :func:`pr_auc` are computed for all resamples at once from per-score counts;
    any other metric is called once per resample, on the same resamples. Resamples where the metric is
    undefined (one class only: it raises ``ValueError`` or returns NaN) are left out; if none remains,
    ``ValueError``.
    """
    return bootstrap_cis((metric,), y_true, score, n_resamples=n_resamples, level=level, seed=seed)[0]


def bootstrap_cis(metrics: Sequence[Metric], y_true: ArrayLike, score: ArrayLike, *, n_resamples: int = 1000,
                  level: float = 0.95, seed: int = 0) -> tuple[tuple[float, float], ...]:
    """:func:`bootstrap_ci` of several metrics over one set of resamples, in the order given: each
    interval is the one :func:`bootstrap_ci` gives with the same seed, and drawing and counting the
    resamples (most of the work) is done once."""
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    y, s = _pair(y_true, score)
    if y.size == 0:
        raise ValueError("no accounts to resample")
    if not metrics:
        return ()
    batched = [_FROM_TALLIES.get(metric) for metric in metrics]
    group, negatives, _ = _tallies(y, s)
    code = group * 2 + y.astype(np.int64)
    parts: list[list[FloatArray]] = [[] for _ in metrics]
    for rows in _resamples(y.size, n_resamples, np.random.default_rng(seed)):
        tallies = _tallies_of(rows, code, negatives.size) if any(f is not None for f in batched) else None
        for metric, from_tallies, part in zip(metrics, batched, parts, strict=True):
            if from_tallies is not None and tallies is not None:
                part.append(from_tallies(*tallies))
            else:
                part.append(np.array([_defined_or_nan(metric, y[one], s[one]) for one in rows]))
    tail = (1 - level) / 2
    intervals = []
    for part in parts:
        values = np.concatenate(part)
        values = values[~np.isnan(values)]
        if values.size == 0:
            raise ValueError("the metric is undefined on every resample")
        low, high = np.quantile(values, [tail, 1 - tail])
        intervals.append((float(low), float(high)))
    return tuple(intervals)


def _defined_or_nan(metric: Metric, y: BoolArray, s: FloatArray) -> float:
    try:
        return float(metric(y, s))
    except ValueError:
        return float("nan")


@dataclass(frozen=True)
class CalibrationBin:
    """One score bin: its score range, accounts, mean score and the outcome rate observed in it."""

    bin: int
    lower: float
    upper: float
    n: int
    mean_score: float
    observed_rate: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def calibration_table(y_true: ArrayLike, score: ArrayLike, bins: int = 10) -> list[CalibrationBin]:
    """Accounts in ``bins`` score bins by rank (deciles by default), lowest scores first, each with its
    observed outcome rate.

    An account's bin is 1 + ⌊bins × (accounts scoring strictly lower) / n⌋, so tied scores share a bin
    (as the portfolio's ``quantile`` does) and the result does not depend on the input's order. With
    many ties some bins stay empty: they are left out, and ``bin`` keeps its rank position.
    """
    if bins < 1:
        raise ValueError("bins must be at least 1")
    y, s = _pair(y_true, score)
    n = y.size
    if n == 0:
        return []
    lower_count = np.searchsorted(np.sort(s), s, side="left")
    which = (bins * lower_count) // n
    table = []
    for b in np.unique(which):
        members = which == b
        scores = s[members]
        table.append(CalibrationBin(
            bin=int(b) + 1, lower=float(scores.min()), upper=float(scores.max()), n=int(members.sum()),
            mean_score=float(scores.mean()), observed_rate=float(y[members].mean()),
        ))
    return table


@dataclass(frozen=True)
class FlagMeasures:
    """How a flag (e.g. "high churn risk") matches the outcome. ``precision`` = flagged_positives /
    flagged, ``recall`` = flagged_positives / positives, ``base_rate`` = positives / accounts,
    ``lift`` = precision / base_rate; each is ``None`` when its denominator is 0."""

    accounts: int
    flagged: int
    positives: int
    flagged_positives: int
    precision: float | None
    recall: float | None
    base_rate: float | None
    lift: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def flag_measures(y_true: ArrayLike, flagged: ArrayLike) -> FlagMeasures:
    """Precision, recall and lift over the base rate of a flag against the outcome."""
    y = _outcomes(y_true)
    f = np.asarray(flagged)
    if f.shape != y.shape:
        raise ValueError(f"y_true and flagged differ in shape: {y.shape}, {f.shape}")
    if f.dtype != np.bool_:
        if f.size and not np.all((f == 0) | (f == 1)):
            raise ValueError("flagged must be bool or 0/1")
        f = f.astype(np.bool_)
    accounts, n_flagged, positives = int(y.size), int(f.sum()), int(y.sum())
    hits = int((f & y).sum())
    precision = _ratio(hits, n_flagged)
    base_rate = _ratio(positives, accounts)
    lift = _ratio(precision, base_rate) if precision is not None and base_rate is not None else None
    return FlagMeasures(accounts=accounts, flagged=n_flagged, positives=positives, flagged_positives=hits,
                        precision=precision, recall=_ratio(hits, positives), base_rate=base_rate, lift=lift)


__all__ = [
    "CalibrationBin",
    "FlagMeasures",
    "bootstrap_ci",
    "bootstrap_cis",
    "calibration_table",
    "flag_measures",
    "pr_auc",
    "roc_auc",
]
