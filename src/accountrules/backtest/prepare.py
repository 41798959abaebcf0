"""The shared first half of a backtest and of a sweep: read the log, cut it at T, derive the
account fields at T and the outcomes after T.

Only :func:`accountrules.features.derive_features` (which ignores every order after ``as_of``)
sees the orders for the decision at T; the outcomes are computed from the purchase days in
``(T, T + horizon]``. Nothing else crosses T.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from accountrules.backtest.history import Bools, History, day_number, history_of
from accountrules.backtest.log import ACCOUNT_REASONS, BacktestInputError, OrderLog, check_dates, read_log
from accountrules.backtest.outcomes import Outcomes, outcomes
from accountrules.backtest.result import Exclusions
from accountrules.features import ColumnMap, InputFormat, derive_features
from accountrules.io.tables import Progress
from accountrules.policy import Policy, load_policy

__all__ = ["Prepared", "as_policy", "parse_horizon", "prepare"]

_HORIZON = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$")


def parse_horizon(horizon: int | str | timedelta) -> int:
    """Days in a horizon: an int (days), a timedelta, or text ``26w`` / ``182d`` / ``182``."""
    if isinstance(horizon, timedelta):
        days = horizon.days
    elif isinstance(horizon, bool):
        raise BacktestInputError(f"not a horizon: {horizon!r}")
    elif isinstance(horizon, int):
        days = horizon
    elif isinstance(horizon, str):
        m = _HORIZON.match(horizon)
        if m is None:
            raise BacktestInputError(f"not a horizon: {horizon!r} (write days or weeks, e.g. 182d or 26w)")
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    else:
        raise BacktestInputError(f"not a horizon: {horizon!r}")
    if days < 1:
        raise BacktestInputError(f"the horizon must be at least one day, got {horizon!r}")
    return days


def as_policy(policy: Policy | str | os.PathLike[str]) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(os.fspath(policy))


@dataclass(frozen=True)
class Prepared:
    log: OrderLog
    history: History
    included: Bools  # over history.ids: first purchase on or before T
    ids: list[str]  # the backtest's accounts, sorted
    features: Any  # pyarrow Table at T, one row per account of ``ids``
    outcomes: Outcomes
    as_of: date
    horizon_days: int  # observed: the requested horizon, or less when clipped at the log's end
    horizon_requested: int
    window_days: int

    @property
    def as_of_day(self) -> int:
        return day_number(self.as_of)

    def exclusions(self, decision_errors: int = 0) -> Exclusions:
        late = int(np.count_nonzero(self.history.day > self.as_of_day + self.horizon_days))
        accounts = {ACCOUNT_REASONS[0]: self.log.excluded_accounts,
                    # an account whose every order is past the log's end first ordered after it, so after T
                    ACCOUNT_REASONS[1]: int(np.count_nonzero(~self.included)) + self.log.accounts_after_end}
        if decision_errors:
            accounts["decision_error"] = decision_errors
        return Exclusions(rows_read=self.log.rows_read, rows_excluded=dict(self.log.excluded_rows),
                          first_bad_rows=dict(self.log.first_bad_rows), accounts_in_log=self.log.accounts_read,
                          accounts_excluded=accounts,
                          accounts_included=int(np.count_nonzero(self.included)) - decision_errors,
                          orders_after_horizon=late)


def prepare(orders: Any, *, as_of: date, horizon: int | str | timedelta, columns: ColumnMap | None = None,
            format: InputFormat | None = None, log_end: date | None = None, window_days: int | None = None,
            decline_share: float = 0.5, clip_horizon: bool = False, progress: Progress | None = None) -> Prepared:
    """Read and check ``orders``, derive the fields at T (``window_days``, default the horizon) and
    the outcomes in ``(T, T + horizon]``; ``progress`` is told of the reading and grouping (as by
    :func:`~accountrules.features.derive_features`)."""
    requested = parse_horizon(horizon)
    log = read_log(orders, columns, format=format, log_end=log_end, progress=progress)
    days = check_dates(log, as_of, requested, clip=clip_horizon)
    window = requested if window_days is None else window_days
    history = history_of(log)
    t = day_number(as_of)
    included = history.first_day() <= t
    if not included.any():
        raise BacktestInputError(f"no account has an order on or before {as_of}")
    features = derive_features(log.table, as_of=as_of, window_days=window, columns=log.columns, progress=progress)
    ids = [str(a) for a in history.ids[included]]
    if features["id"].to_pylist() != ids:  # one account set on both sides of T, in one order
        raise RuntimeError("features and history disagree on the accounts at T")
    out = outcomes(history, included, t, days, decline_share)
    return Prepared(log=log, history=history, included=included, ids=ids, features=features, outcomes=out,
                    as_of=as_of, horizon_days=days, horizon_requested=requested, window_days=window)
