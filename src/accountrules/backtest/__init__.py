"""Backtest a policy on an order log: had it run on T, how well would it have matched what happened?

``backtest(policy, orders, as_of=T, horizon="26w")`` derives the account fields at T from the
orders up to T, decides, and measures the decisions against the outcomes in ``(T, T + horizon]``
and against two baselines (the hiatus rule and BG/NBD P(alive)). ``sweep(...)`` shows the
trade-off of a threshold. See ``docs/backtest.md``. Needs the ``backtest`` extra (numpy, scipy)
and pyarrow.
"""

import importlib
from typing import TYPE_CHECKING, Any

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
from accountrules.backtest.text import render_sweep, render_text

if TYPE_CHECKING:
    from accountrules.backtest.run import backtest
    from accountrules.backtest.sweeps import parse_sweep, sweep, with_params

# the parts that need numpy and scipy load on first use: the command line imports this package to
# build its parser, and a base install (no numpy) must still run every other command. (No submodule
# shares a name with these: importing one would set the package's attribute to the module.)
_LAZY = {"backtest": "accountrules.backtest.run", "parse_sweep": "accountrules.backtest.sweeps",
         "sweep": "accountrules.backtest.sweeps", "with_params": "accountrules.backtest.sweeps"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accountrules.backtest' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

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
