"""Tier and stage stability: the same policy decides again at T + horizon.

At T + horizon the account file carries what the run at T decided, as it would in production:
``relationship.stage`` is the stage reached at T (stages move one step per run) and
``relationship.previous_tier`` the tier at T (value-decline rules compare with it). Features
come from the log up to T + horizon, and the portfolio then is every account with an order by
that day (ranks are portfolio-relative); stability is measured on the accounts of the backtest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from accountrules.backtest.result import Stability
from accountrules.features import derive_features
from accountrules.features.orders import arrow
from accountrules.io.schema import output_columns
from accountrules.policy import Policy

__all__ = ["decide_again", "stability"]

_NONE = "(none)"


def decide_again(policy: Policy, orders: Any, columns: Any, ids: Sequence[str], at_t: Mapping[str, Sequence[Any]],
                 *, as_of: date, window_days: int, engine: str) -> dict[str, list[Any]]:
    """Tier and stage at ``as_of`` (= T + horizon) for ``ids`` (the backtest's accounts, sorted),
    carrying the stage and tier decided at T."""
    pa = arrow().pa
    table = derive_features(orders, as_of=as_of, window_days=window_days, columns=columns)
    later_ids = table["id"].to_pylist()
    where = {a: i for i, a in enumerate(later_ids)}
    stage = [None] * len(later_ids)
    tier = [None] * len(later_ids)
    stage_t = at_t.get("stage")
    tier_t = at_t.get("tier")
    for j, a in enumerate(ids):
        i = where[a]
        if stage_t is not None:
            stage[i] = stage_t[j]
        if tier_t is not None:
            tier[i] = tier_t[j]
    if stage_t is not None:
        table = table.append_column("relationship.stage", pa.array(stage, pa.string()))
    if tier_t is not None:
        table = table.append_column("relationship.previous_tier", pa.array(tier, pa.string()))
    result = policy.decide_many(table, as_of=as_of, engine=engine, trace=False)
    cols = result.columns(names=[n for n in ("tier", "stage") if n in output_columns(policy.plan)])
    pick = np.asarray([where[a] for a in ids], dtype=np.int64)
    out: dict[str, list[Any]] = {}
    for name in ("tier", "stage"):
        if name in cols:
            values = cols[name]
            out[name] = [values[i] for i in pick]
    return out


def stability(what: str, before: Sequence[Any], after: Sequence[Any]) -> Stability:
    matrix: dict[str, dict[str, int]] = {}
    same = 0
    for a, b in zip(before, after, strict=True):
        ka, kb = _NONE if a is None else str(a), _NONE if b is None else str(b)
        row = matrix.setdefault(ka, {})
        row[kb] = row.get(kb, 0) + 1
        same += ka == kb
    n = len(before)
    ordered = {k: dict(sorted(v.items())) for k, v in sorted(matrix.items())}
    return Stability(what=what, accounts=n, same=same, share_same=same / n if n else None, matrix=ordered)
