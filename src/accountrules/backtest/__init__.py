"""Backtest a policy on an order log: had it run on T, how well would it have matched what happened?

``backtest(policy, orders, as_of=T, horizon="26w")`` derives the account fields at T from the
orders up to T, decides, and measures the decisions against the outcomes in ``(T, T + horizon]``
and against two baselines (the hiatus rule and BG/NBD P(alive)). ``sweep(...)`` shows the
trade-off of a threshold. See ``docs/backtest.md``. Needs the ``backtest`` extra (numpy, scipy)
and pyarrow.
"""

from accountrules.backtest.log import BacktestInputError
from accountrules.backtest.result import (
    BacktestResult,
    Comparison,
    Exclusions,
    FlagRow,
    Measure,
    RevenueAtStake,
    RuleRow,
    ScoreMeasures,
    Stability,
    SweepRow,
)
from accountrules.backtest.run import backtest
from accountrules.backtest.sweep import parse_sweep, sweep, with_params
from accountrules.backtest.text import render_sweep, render_text

__all__ = [
    "BacktestInputError",
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
    "backtest",
    "parse_sweep",
    "render_sweep",
    "render_text",
    "sweep",
    "with_params",
]
