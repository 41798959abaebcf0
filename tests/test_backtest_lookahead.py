"""No look-ahead: whatever happens after T, the decisions at T are the same.

Every order after T is shuffled (dates permuted among them, amounts permuted independently),
orders after T are added for old and new accounts, and the decisions at T, the features at T,
the baselines' scores at T and BG/NBD's fit are unchanged; only the outcomes move.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from accountrules.backtest import backtest
from accountrules.backtest.prepare import prepare
from accountrules.backtest.run import decide_at
from accountrules.features import ColumnMap
from accountrules.policy import load_policy

np: Any = pytest.importorskip("numpy")
pa: Any = pytest.importorskip("pyarrow")
pc: Any = pytest.importorskip("pyarrow.compute")
pytest.importorskip("scipy")

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cdnow" / "orders_sample.txt"
COLUMNS = ColumnMap(account_id="customer_id", date="date", amount="dollar_value", date_format="%Y%m%d")
T = date(1997, 9, 30)
HORIZON = "26w"
DECISION_COLUMNS = ("account_id", "tier", "stage", "churn_kind", "churn_risk", "churn_score", "churn_rule",
                    "recency_days", "hiatus_flag", "p_alive", "p_no_purchase")


def _table() -> Any:
    from accountrules.backtest.log import read_log

    log = read_log(SAMPLE, COLUMNS)
    return pa.table({"customer_id": log.ids, "date": log.dates, "dollar_value": log.amounts})


def _shuffled_after_t(table: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    after = np.asarray(pc.greater(table["date"], pa.scalar(T, pa.date32())).to_numpy(zero_copy_only=False))
    idx = np.flatnonzero(after)
    dates = table["date"].to_pylist()
    amounts = table["dollar_value"].to_pylist()
    for column, perm in ((dates, rng.permutation(idx)), (amounts, rng.permutation(idx))):
        moved = [column[i] for i in perm]
        for i, v in zip(idx, moved, strict=True):
            column[i] = v
    ids = table["customer_id"].to_pylist()
    # more after T: an old account buys again, a new one appears (its first order is after T)
    ids += [ids[0], "99999"]
    dates += [T + timedelta(days=3), T + timedelta(days=10)]
    amounts += [1_000_000.0, 12.0]
    return pa.table({"customer_id": pa.array(ids, pa.string()), "date": pa.array(dates, pa.date32()),
                     "dollar_value": pa.array(amounts, pa.float64())})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffling_every_order_after_t_changes_no_decision_at_t(seed: int) -> None:
    policy = load_policy("express")
    columns = ColumnMap(account_id="customer_id", date="date", amount="dollar_value")
    original = _table()
    shuffled = _shuffled_after_t(original, seed)
    assert shuffled.num_rows == original.num_rows + 2
    a = prepare(original, as_of=T, horizon=HORIZON, columns=columns)
    b = prepare(shuffled, as_of=T, horizon=HORIZON, columns=columns)
    assert a.ids == b.ids
    assert a.features.equals(b.features)
    assert decide_at(policy, a)[0] == decide_at(policy, b)[0]
    ra = backtest(policy, original, as_of=T, horizon=HORIZON, columns=columns, n_resamples=20)
    rb = backtest(policy, shuffled, as_of=T, horizon=HORIZON, columns=columns, n_resamples=20)
    assert ra.outcomes.select(DECISION_COLUMNS).equals(rb.outcomes.select(DECISION_COLUMNS))
    assert ra.bgnbd_params == rb.bgnbd_params and ra.hiatus_days == rb.hiatus_days
    # the new account is counted as excluded, not dropped
    assert rb.exclusions.accounts_excluded["first_order_after_as_of"] == (
        ra.exclusions.accounts_excluded["first_order_after_as_of"] + 1)
    # and the shuffle did reach the outcomes (the test would prove nothing otherwise)
    assert not ra.outcomes.column("horizon_revenue").equals(rb.outcomes.column("horizon_revenue"))
