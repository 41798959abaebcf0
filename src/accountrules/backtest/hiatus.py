"""The hiatus heuristic (Wübben & von Wangenheim, Journal of Marketing 2008): a customer without a
purchase for more than k days is taken to be inactive. Managers' rule of thumb, and in their study as
good at telling active from inactive customers as Pareto/NBD and BG/NBD.

As a score, the hiatus rule ranks customers by recency (days since the last purchase): the longer
the silence, the likelier inactive. As a flag, it needs k, chosen here on a calibration split that
ends before the backtest date T, so the choice sees nothing after T.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _recency(recency_days: ArrayLike) -> FloatArray:
    days = np.asarray(recency_days, dtype=np.float64)
    if days.ndim != 1:
        raise ValueError(f"recency_days must be one-dimensional, not of shape {days.shape}")
    if not np.all(np.isfinite(days) & (days >= 0)):
        raise ValueError("recency_days must be finite and ≥ 0")
    return days


def hiatus_score(recency_days: ArrayLike) -> FloatArray:
    """The hiatus rule as a score, higher = more likely inactive: the days since the last purchase.

    Any increasing function of recency ranks the same, so this is the score whose ROC AUC the rule
    earns over every k at once."""
    return _recency(recency_days).copy()


@dataclass(frozen=True)
class HiatusCandidate:
    """One candidate k on the calibration split: accounts flagged inactive (recency > k), the share of
    the inactive it flags (sensitivity), the share of the active it leaves alone (specificity) and
    their mean, the balanced accuracy."""

    days: float
    flagged: int
    sensitivity: float
    specificity: float
    balanced_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HiatusChoice:
    """The chosen k (days) and the table of every candidate, in the order given."""

    days: float
    balanced_accuracy: float
    accounts: int
    inactive: int
    candidates: tuple[HiatusCandidate, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "balanced_accuracy": self.balanced_accuracy,
            "accounts": self.accounts,
            "inactive": self.inactive,
            "candidates": [c.to_dict() for c in self.candidates],
        }


def choose_hiatus_days(recency_days: ArrayLike, became_inactive: ArrayLike,
                       candidates: Sequence[float]) -> HiatusChoice:
    """The hiatus k (days) that best separated, on a calibration split, the accounts that went on
    buying from those that did not.

    The caller builds the split from data before T only: ``recency_days`` at T′ = T − horizon, and
    ``became_inactive`` true for the accounts with no order in (T′, T]. For each candidate k the
    rule flags ``recency_days > k``. The criterion is **balanced accuracy**, the mean of sensitivity
    (inactive accounts flagged) and specificity (active accounts not flagged): unlike plain accuracy
    it does not reward flagging everyone when most accounts lapse, nor no one when few do. Ties go to
    the smallest k. Raises ``ValueError`` when either class is missing (nothing to separate), on
    empty or negative candidates, and on malformed input.
    """
    days = _recency(recency_days)
    inactive = np.asarray(became_inactive)
    if inactive.shape != days.shape:
        raise ValueError(f"recency_days and became_inactive differ in shape: {days.shape}, {inactive.shape}")
    if inactive.dtype != np.bool_:
        if inactive.size and not np.all((inactive == 0) | (inactive == 1)):
            raise ValueError("became_inactive must be bool or 0/1")
        inactive = inactive.astype(np.bool_)
    ks = np.asarray(candidates, dtype=np.float64)
    if ks.ndim != 1 or ks.size == 0 or not np.all(np.isfinite(ks) & (ks >= 0)):
        raise ValueError("candidates must be a non-empty list of day counts ≥ 0")
    if days.size == 0:
        raise ValueError("no accounts in the calibration split (were any customers active by T − horizon?)")
    n_inactive = int(inactive.sum())
    n_active = int(inactive.size - n_inactive)
    if n_inactive == 0 or n_active == 0:
        raise ValueError("the calibration split needs both accounts that lapsed and accounts that bought again "
                         f"(lapsed {n_inactive}, bought again {n_active})")
    # accounts flagged at k: recency strictly above k, counted by binary search over sorted recencies
    lapsed_sorted, active_sorted = np.sort(days[inactive]), np.sort(days[~inactive])
    hit = n_inactive - np.searchsorted(lapsed_sorted, ks, side="right")
    false_alarm = n_active - np.searchsorted(active_sorted, ks, side="right")
    sensitivity = hit / n_inactive
    specificity = 1 - false_alarm / n_active
    balanced = (sensitivity + specificity) / 2
    table = tuple(
        HiatusCandidate(days=float(k), flagged=int(h + f), sensitivity=float(se), specificity=float(sp),
                        balanced_accuracy=float(ba))
        for k, h, f, se, sp, ba in zip(ks, hit, false_alarm, sensitivity, specificity, balanced, strict=True)
    )
    # the best balanced accuracy, and among equals the smallest k (lexsort: last key first). Ranked by
    # its numerator over the common denominator 2·inactive·active, a whole number, so that equal
    # accuracies compare equal (in floating point 1/3 + 1/3 need not equal 2/3 + 0)
    exact = hit.astype(np.int64) * n_active + (n_active - false_alarm).astype(np.int64) * n_inactive
    best = int(np.lexsort((ks, -exact))[0])
    return HiatusChoice(days=float(ks[best]), balanced_accuracy=float(balanced[best]), accounts=int(days.size),
                        inactive=n_inactive, candidates=table)


__all__ = ["HiatusCandidate", "HiatusChoice", "choose_hiatus_days", "hiatus_score"]
