"""The policy's flags (churn kinds, risk levels) and rules against what happened.

Each flag is measured against both outcomes: churned and value decline. Per rule, the accounts
a rule decided come from the batch's flat output columns (``churn_rule``, ``tier_rule``,
``stage_transition``): no Decision is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np

from accountrules.backtest.history import Bools, Floats
from accountrules.backtest.measures import flag_measures
from accountrules.backtest.outcomes import Outcomes
from accountrules.backtest.result import FlagRow, Measure, RevenueAtStake, RuleRow

__all__ = ["AT_RISK", "DEFAULT_RULE", "NO_MOVE", "RULE_COLUMNS", "flag_masks", "flag_row", "measure",
           "revenue_at_stake", "rule_rows"]

DEFAULT_RULE: Final = "(default)"
AT_RISK: Final = "risk:high+medium"
_RISKS: Final = ("high", "medium", "low")
RULE_COLUMNS: Final = (("churn", "churn_rule"), ("tier", "tier_rule"), ("stage", "stage_transition"))
NO_MOVE: Final = "(no move)"  # no stage transition fired: the account stayed


def measure(y_true: Bools, flagged: Bools) -> Measure:
    """:func:`~accountrules.backtest.measures.flag_measures` as a plain record."""
    m = flag_measures(y_true, flagged)
    return Measure(flagged=m.flagged, positives=m.positives, true_positives=m.flagged_positives,
                   precision=m.precision, recall=m.recall, lift=m.lift, base_rate=m.base_rate)


def flag_row(name: str, flagged: Bools, out: Outcomes) -> FlagRow:
    n = int(np.count_nonzero(flagged))
    return FlagRow(flag=name, accounts=n,
                   churn_rate=_rate(out.churned, flagged), churned=measure(out.churned, flagged),
                   decline_rate=_rate(out.value_decline, flagged), declined=measure(out.value_decline, flagged))


def flag_masks(columns: Mapping[str, Sequence[Any]], kinds: Iterable[str]) -> dict[str, Bools]:
    """``kind:<k>`` for every churn kind of the policy but ``none``, ``kind:any``, ``risk:<level>``
    for each level, and ``risk:high+medium`` (at risk). Empty without a churn section."""
    if "churn_kind" not in columns:
        return {}
    kind = np.asarray(columns["churn_kind"], dtype=object)
    risk = np.asarray(columns["churn_risk"], dtype=object)
    masks: dict[str, Bools] = {}
    churn_kinds = [k for k in kinds if k != "none"]
    for k in churn_kinds:
        masks[f"kind:{k}"] = np.asarray(kind == k, dtype=np.bool_)
    masks["kind:any"] = np.asarray((kind != "none") & (kind != None), dtype=np.bool_)  # noqa: E711
    for level in _RISKS:
        masks[f"risk:{level}"] = np.asarray(risk == level, dtype=np.bool_)
    masks[AT_RISK] = masks["risk:high"] | masks["risk:medium"]
    return masks


def rule_rows(columns: Mapping[str, Sequence[Any]], out: Outcomes) -> list[RuleRow]:
    """Per rule that decided the churn kind, the tier or the stage move: accounts and outcome rates,
    largest first within each section (``(default)``: no row matched; ``(no move)``: no transition)."""
    base = float(out.churned.mean()) if out.n else None
    rows: list[RuleRow] = []
    for section, column in RULE_COLUMNS:
        if column not in columns:
            continue
        none = NO_MOVE if section == "stage" else DEFAULT_RULE
        rule = np.asarray([none if r is None else str(r) for r in columns[column]], dtype=object)
        names, inverse, counts = np.unique(rule, return_inverse=True, return_counts=True)
        churned = np.bincount(inverse, weights=out.churned.astype(np.float64), minlength=len(names))
        declined = np.bincount(inverse, weights=out.value_decline.astype(np.float64), minlength=len(names))
        for i in np.argsort(-counts, kind="stable"):
            rate = float(churned[i] / counts[i])
            rows.append(RuleRow(section=section, rule=str(names[i]), accounts=int(counts[i]), churn_rate=rate,
                                decline_rate=float(declined[i] / counts[i]),
                                churn_lift=rate / base if base else None))
    return rows


def revenue_at_stake(name: str, flagged: Bools, out: Outcomes) -> RevenueAtStake:
    prior: Floats = out.prior_revenue
    return RevenueAtStake(
        flag=name,
        flagged_accounts=int(np.count_nonzero(flagged)),
        prior_revenue_all=_money(prior.sum()),
        prior_revenue_flagged=_money(prior[flagged].sum()),
        horizon_revenue_flagged=_money(out.horizon_revenue[flagged].sum()),
        lost_flagged=_money(prior[flagged & out.churned].sum()),
        lost_missed=_money(prior[~flagged & out.churned].sum()),
    )


def _rate(y: Bools, mask: Bools) -> float | None:
    n = int(np.count_nonzero(mask))
    return float(np.count_nonzero(y & mask) / n) if n else None


def _money(v: Any) -> float:
    return round(float(v), 2)
