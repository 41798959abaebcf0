"""Threshold sweep: precision, recall and lift of the policy's flags for each value of one or two
parameters, so a business owner sees the trade-off before choosing a number.

The policy is read again from its own texts with the parameter replaced, checked and compiled
like any policy; the features at T and the outcomes are computed once. Nothing is chosen and
nothing is written back: the caller gets every row.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, Final

import numpy as np

from accountrules.backtest.flags import AT_RISK, flag_masks, measure
from accountrules.backtest.log import BacktestInputError
from accountrules.backtest.prepare import Prepared, as_policy, prepare
from accountrules.backtest.result import SweepRow
from accountrules.backtest.run import decide_at
from accountrules.check.policy_check import check_policy
from accountrules.check.policy_files import PolicyFiles
from accountrules.check.policy_schema import read_policy_partial
from accountrules.features import ColumnMap, InputFormat
from accountrules.i18n import N_, Message
from accountrules.io.tables import Progress
from accountrules.model.enums import ChurnKind
from accountrules.policy import Policy

__all__ = ["DEFAULT_FLAGS", "MAX_VALUES", "parse_sweep", "sweep", "with_params"]

DEFAULT_FLAGS: Final = ("risk:high", AT_RISK, "kind:any")
MAX_VALUES: Final = 200  # per parameter: a typo'd step should not start ten thousand runs
_SPEC = re.compile(r"^\s*(?:params\.)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([^:]+):([^:]+):([^:]+)\s*$")


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``params.NAME=START:STOP:STEP`` (stop included) -> ``(NAME, values)``."""
    m = _SPEC.match(text)
    if m is None:
        raise BacktestInputError(Message(N_("not a sweep: {text!r} (write params.NAME=START:STOP:STEP)"),
                                         text=text))
    try:
        start, stop, step = (float(g) for g in m.group(2, 3, 4))
    except ValueError:
        raise BacktestInputError(Message(N_("not a sweep: {text!r}: START, STOP and STEP must be numbers"),
                                         text=text)) from None
    if not step > 0 or stop < start:
        raise BacktestInputError(Message(
            N_("not a sweep: {text!r}: STEP must be positive and STOP at least START"), text=text))
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_VALUES:
        raise BacktestInputError(Message(N_("sweep {text!r} has {count} values; at most {most}"), text=text,
                                         count=count, most=MAX_VALUES))
    values = [round(start + i * step, 10) for i in range(count)]
    return m.group(1), values


def with_params(policy: Policy, values: Mapping[str, float]) -> Policy:
    """``policy`` read again from its own texts with ``params`` replaced (a number for a number)."""
    if not policy.sources or policy.entry is None:
        raise BacktestInputError("a sweep needs a policy loaded from files or text, not one built from a spec")
    files = PolicyFiles(policy.sources)
    spec, problems = read_policy_partial(policy.entry, files=files)
    params = dict(spec.params)
    for name, value in values.items():
        if name not in params:
            known = ", ".join(sorted(params)) or "none"
            raise BacktestInputError(Message(N_("the policy has no parameter {name!r} (parameters: {known})"),
                                             name=name, known=known))
        old = params[name]
        if isinstance(old, bool) or not isinstance(old, int | float):
            raise BacktestInputError(Message(N_("parameter {name!r} is {old!r}, not a number: it cannot be swept"),
                                             name=name, old=old))
        params[name] = int(value) if isinstance(old, int) and float(value).is_integer() else float(value)
    return Policy(check_policy(replace(spec, params=params), problems))


def sweep(
    policy: Policy | str | os.PathLike[str],
    orders: Any,
    grid: Mapping[str, Sequence[float]],
    *,
    as_of: date,
    horizon: int | str | timedelta,
    flags: Sequence[str] = DEFAULT_FLAGS,
    columns: ColumnMap | None = None,
    format: InputFormat | None = None,
    log_end: date | None = None,
    window_days: int | None = None,
    clip_horizon: bool = False,
    engine: str = "auto",
    prepared: Prepared | None = None,
    progress: Progress | None = None,
) -> list[SweepRow]:
    """For every value (every pair, with two parameters) of ``grid``, the measures of each flag of
    ``flags`` against the churned outcome. The policy's own values are not changed.
    ``progress(phase, done, total)``: reading and grouping the log (unless ``prepared``), then
    ``"sweeping"`` counted in settings tried."""
    if not 1 <= len(grid) <= 2:
        raise BacktestInputError(f"sweep one or two parameters, not {len(grid)}")
    pol = as_policy(policy)
    prep = prepared or prepare(orders, as_of=as_of, horizon=horizon, columns=columns, format=format,
                               log_end=log_end, window_days=window_days, clip_horizon=clip_horizon,
                               progress=progress)
    names = list(grid)
    rows: list[SweepRow] = []
    combos = list(itertools.product(*(grid[n] for n in names)))
    if progress is not None:
        progress("sweeping", 0, len(combos))
    for done, combo in enumerate(combos, 1):
        values = dict(zip(names, combo, strict=True))
        cols, decided = decide_at(with_params(pol, values), prep, engine=engine, names=("churn_kind", "churn_risk"))
        y = prep.outcomes.churned[decided]
        masks = flag_masks(cols, [k.value for k in ChurnKind])
        for flag in flags:
            if flag not in masks:
                raise BacktestInputError(f"unknown flag {flag!r}: choose among {', '.join(masks)}")
            m = masks[flag]
            rows.append(SweepRow(values={k: float(v) for k, v in values.items()}, flag=flag,
                                 accounts=int(np.count_nonzero(m)), churned=measure(y, m)))
        if progress is not None:
            progress("sweeping", done, len(combos))
    return rows
