"""The two baselines every backtest is run against, from data up to T only.

* Hiatus (Wübben & von Wangenheim 2008): an account is inactive when its last purchase is more
  than ``k`` days ago. ``k`` is chosen before T: at ``T0 = T - h'`` the rule is scored against who
  then bought nothing in ``(T0, T0 + h']``, where ``h'`` is the horizon, shortened to half the
  time between the log's first day and T when the log is too short for a whole horizon before T
  (the 39-week CDNOW split). The score for ROC is the recency at T itself.
* BG/NBD (Fader, Hardie & Lee 2005) fitted on the purchases up to T, in weeks: frequency = repeat
  purchase days, recency = weeks from the first to the last purchase, T = weeks from the first
  purchase to T. The churn score is 1 - P(alive); beside it, the model's own probability of no
  purchase in the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np

from accountrules.backtest.bgnbd import BGNBDParams, fit_bgnbd, p_alive, p_no_purchase
from accountrules.backtest.hiatus import HiatusChoice, choose_hiatus_days, hiatus_score
from accountrules.backtest.history import Bools, Floats, History

__all__ = ["BGNBDBaseline", "HiatusBaseline", "bgnbd_baseline", "hiatus_baseline"]

# hiatus lengths tried, in days: weekly steps up to a year
HIATUS_CANDIDATES: Final = tuple(range(7, 365, 7))


@dataclass(frozen=True)
class HiatusBaseline:
    choice: HiatusChoice | None  # None: k could not be chosen (``problem`` says why); the score stands
    problem: str | None
    days: int | None  # the chosen k
    chosen_at: int  # T0 as a day number
    validation_days: int  # h'
    accounts_used: int  # accounts with a purchase by T0
    score: Floats  # recency at T, per account in the backtest
    flagged: Bools | None  # recency at T > k


@dataclass(frozen=True)
class BGNBDBaseline:
    params: BGNBDParams
    frequency: Floats
    recency_weeks: Floats
    age_weeks: Floats
    p_alive: Floats
    score: Floats  # 1 - P(alive)
    quiet: Floats  # P(no purchase in (T, T + horizon]): the model's own answer to "churned"


def hiatus_baseline(history: History, accounts: Bools, as_of_day: int, horizon_days: int,
                    candidates: Sequence[int] = HIATUS_CANDIDATES) -> HiatusBaseline:
    """Choose ``k`` on data before T; score and flag the ``accounts`` at T. When no ``k`` can be chosen
    (nobody bought by T0, or everyone lapsed, or no one did) the score stands and the flag is None."""
    first = history.first_day()
    start = int(first.min())
    span = max(1, min(horizon_days, (as_of_day - start) // 2))
    t0 = as_of_day - span
    known = first <= t0
    last0 = history.last_day(history.between(None, t0))
    inactive = history.count(history.between(t0, t0 + span)) == 0
    recency = (as_of_day - history.last_day(history.between(None, as_of_day)))[accounts]
    score = np.asarray(hiatus_score(recency), dtype=np.float64)
    choice: HiatusChoice | None = None
    problem: str | None = None
    if known.any():
        try:
            choice = choose_hiatus_days((t0 - last0)[known], inactive[known], list(candidates))
        except ValueError as e:
            problem = str(e)
    else:
        problem = f"no account bought by {_iso(t0)}"
    k = None if choice is None else int(choice.days)
    return HiatusBaseline(choice=choice, problem=problem, days=k, chosen_at=t0, validation_days=span,
                          accounts_used=int(known.sum()), score=score,
                          flagged=None if k is None else np.asarray(recency > k))


def bgnbd_baseline(history: History, accounts: Bools, as_of_day: int,
                   horizon_days: int) -> BGNBDBaseline | str:
    """Fit BG/NBD on every purchase up to T of the ``accounts``; P(alive) at T for each, and P(no
    purchase in the horizon) (its length is known at T; nothing after T is read). When the orders
    up to T cannot be fitted (no repeat purchase yet, say), why, as text: the backtest goes on
    without this baseline and says so."""
    upto = history.between(None, as_of_day)
    first = history.first_day()[accounts]
    x = (history.count(upto)[accounts] - 1).astype(np.float64)
    t_x = (history.last_day(upto)[accounts] - first) / 7.0
    age = (as_of_day - first) / 7.0
    try:
        params = fit_bgnbd(x, t_x, age)
    except ValueError as e:
        return f"BG/NBD cannot be fitted on the orders up to T: {e}"
    alive = np.asarray(p_alive(params, x, t_x, age), dtype=np.float64)
    quiet = np.asarray(p_no_purchase(params, horizon_days / 7.0, x, t_x, age), dtype=np.float64)
    return BGNBDBaseline(params=params, frequency=x, recency_weeks=np.asarray(t_x, dtype=np.float64),
                         age_weeks=np.asarray(age, dtype=np.float64), p_alive=alive, score=1.0 - alive, quiet=quiet)


def _iso(day: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()
