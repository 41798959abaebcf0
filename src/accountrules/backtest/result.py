"""What a backtest returns: plain frozen dataclasses, ``to_dict()`` for JSON."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

__all__ = [
    "BacktestResult",
    "Comparison",
    "Exclusions",
    "FlagRow",
    "Measure",
    "RevenueAtStake",
    "RuleRow",
    "ScoreMeasures",
    "Stability",
    "SweepRow",
    "Verdict",
]

Verdict = Literal["beats", "ties", "loses"]


@dataclass(frozen=True)
class Measure:
    """Precision, recall and lift of one flag against one outcome (None where undefined)."""

    flagged: int
    positives: int
    true_positives: int
    precision: float | None
    recall: float | None
    lift: float | None
    base_rate: float | None


@dataclass(frozen=True)
class FlagRow:
    """One flag (a churn kind, a risk level, a baseline rule): accounts flagged and how they turned out."""

    flag: str
    accounts: int
    churn_rate: float | None
    churned: Measure
    decline_rate: float | None
    declined: Measure


@dataclass(frozen=True)
class RuleRow:
    """The accounts one rule decided (``(default)``: none matched) and their outcome rates."""

    section: str  # churn | tier | stage
    rule: str
    accounts: int
    churn_rate: float | None
    decline_rate: float | None
    churn_lift: float | None


@dataclass(frozen=True)
class ScoreMeasures:
    """A churn score (higher = more likely to churn) against the churned outcome."""

    name: str
    accounts: int
    roc_auc: float | None
    roc_ci: tuple[float, float] | None
    pr_auc: float | None
    pr_ci: tuple[float, float] | None
    calibration: list[dict[str, float | int | None]]
    roc_points: list[tuple[float, float]]
    gains: list[tuple[float, float]]  # (share of accounts flagged, share of churners among them), top scores first


@dataclass(frozen=True)
class Comparison:
    """Paired bootstrap of ``score`` ROC AUC minus ``baseline`` ROC AUC on the same resamples."""

    score: str
    baseline: str
    difference: float | None
    ci: tuple[float, float] | None
    verdict: Verdict | None  # beats / loses when the interval excludes 0, else ties


@dataclass(frozen=True)
class RevenueAtStake:
    """Revenue of the window before T, ``(T - horizon, T]``, by flag and outcome."""

    flag: str
    flagged_accounts: int
    prior_revenue_all: float
    prior_revenue_flagged: float
    horizon_revenue_flagged: float
    lost_flagged: float  # prior revenue of flagged accounts that churned
    lost_missed: float  # prior revenue of churned accounts that were not flagged


@dataclass(frozen=True)
class Stability:
    """Tier or stage at T against the same policy deciding again at T + horizon."""

    what: str  # tier | stage
    accounts: int
    same: int
    share_same: float | None
    matrix: dict[str, dict[str, int]]  # at T -> at T + horizon -> accounts


@dataclass(frozen=True)
class Exclusions:
    """Every row and every account of the log, and why some are not in the backtest."""

    rows_read: int
    rows_excluded: dict[str, int]
    first_bad_rows: dict[str, int]
    accounts_in_log: int
    accounts_excluded: dict[str, int]
    accounts_included: int
    orders_after_horizon: int


@dataclass(frozen=True)
class SweepRow:
    """One value (or pair of values) of the swept parameters and the measures of a flag."""

    values: dict[str, float]
    flag: str
    accounts: int
    churned: Measure


@dataclass(frozen=True)
class BacktestResult:
    policy: str
    as_of: date
    horizon_days: int
    horizon_requested_days: int
    window_days: int
    log_start: date
    log_end: date
    decline_share: float
    exclusions: Exclusions
    churn_rate: float | None
    decline_rate: float | None
    flags: list[FlagRow]
    rules: list[RuleRow]
    scores: list[ScoreMeasures]
    comparisons: list[Comparison]
    revenue: list[RevenueAtStake]
    stability: list[Stability]
    hiatus_days: int | None  # None: k could not be chosen before T (hiatus_validation['problem'])
    hiatus_validation: dict[str, Any]
    bgnbd_params: dict[str, float]  # empty when BG/NBD could not be fitted (bgnbd_problem says why)
    n_resamples: int
    level: float
    bgnbd_problem: str | None = None
    outcomes: Any = field(default=None, repr=False, compare=False)  # per-account pyarrow Table

    def score(self, name: str) -> ScoreMeasures:
        for s in self.scores:
            if s.name == name:
                return s
        raise KeyError(name)

    def flag(self, name: str) -> FlagRow:
        for f in self.flags:
            if f.flag == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready (dates as ISO text); the per-account table is left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "outcomes":
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
