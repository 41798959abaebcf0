"""What each account did in ``(T, T + horizon]``, from the same log the decisions were made from.

* churned: no purchase in the horizon;
* value decline: horizon revenue at or below ``decline_share`` of the revenue of the
  same-length window before T, ``(T - horizon, T]``. Only an account that bought in that window
  can decline (from nothing there is nothing to fall), so a churned account with revenue before
  T is also a value decline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accountrules.backtest.history import Bools, Floats, History, Ints

__all__ = ["Outcomes", "outcomes"]


@dataclass(frozen=True)
class Outcomes:
    """Per account, in the order of the accounts given to :func:`outcomes`."""

    horizon_purchases: Ints
    horizon_revenue: Floats
    prior_revenue: Floats
    churned: Bools
    value_decline: Bools
    decline_share: float

    @property
    def n(self) -> int:
        return len(self.churned)

    def only(self, mask: Bools) -> Outcomes:
        """The outcomes of the accounts where ``mask`` is true."""
        return Outcomes(horizon_purchases=self.horizon_purchases[mask], horizon_revenue=self.horizon_revenue[mask],
                        prior_revenue=self.prior_revenue[mask], churned=self.churned[mask],
                        value_decline=self.value_decline[mask], decline_share=self.decline_share)


def outcomes(history: History, accounts: Bools, as_of_day: int, horizon_days: int,
             decline_share: float) -> Outcomes:
    """Outcomes of the accounts where ``accounts`` is true (a mask over ``history.ids``)."""
    if not 0.0 <= decline_share < 1.0:
        raise ValueError(f"decline_share must be in [0, 1), got {decline_share!r}")
    after = history.between(as_of_day, as_of_day + horizon_days)
    before = history.between(as_of_day - horizon_days, as_of_day)
    purchases = history.count(after)[accounts]
    revenue = history.revenue(after)[accounts]
    prior = history.revenue(before)[accounts]
    churned = purchases == 0
    decline = (prior > 0) & (revenue <= decline_share * prior)
    return Outcomes(horizon_purchases=purchases, horizon_revenue=revenue, prior_revenue=prior,
                    churned=np.asarray(churned, dtype=np.bool_), value_decline=np.asarray(decline, dtype=np.bool_),
                    decline_share=decline_share)
