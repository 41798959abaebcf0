"""Backtest invariants over generated order logs (hypothesis): every account and every row is
accounted for, outcomes partition the accounts, measures stay in range."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from accountrules.backtest import BacktestInputError
from accountrules.backtest.flags import flag_row, revenue_at_stake
from accountrules.backtest.prepare import prepare
from accountrules.backtest.scores import compare

hypothesis = pytest.importorskip("hypothesis")
np: Any = pytest.importorskip("numpy")
pa: Any = pytest.importorskip("pyarrow")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

START = date(2024, 1, 1)
T = date(2024, 3, 1)

good_date = st.integers(0, 180).map(lambda d: (START + timedelta(days=d)).isoformat())
any_date = st.one_of(good_date, good_date, good_date, st.sampled_from(["2024-02-30", "someday", "", "2024-13-01"]))
amount = st.one_of(st.floats(0, 1000, allow_nan=False).map(lambda v: f"{v:.2f}"),
                   st.sampled_from(["-5", "abc", "", "1e3", "nan"]))
row = st.tuples(st.sampled_from(["A", "B", "C", "D", "E", "F", "G", ""]), any_date, amount)


def _table(rows: list[tuple[str, str, str]]) -> Any:
    ids, dates, amounts = (list(c) for c in zip(*rows, strict=True))
    return pa.table({"account_id": ids, "date": dates, "amount": amounts})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=40), horizon=st.integers(1, 60),
       log_end=st.one_of(st.none(), st.just(date(2024, 6, 1))))
def test_every_account_and_row_is_accounted_for(rows: list[tuple[str, str, str]], horizon: int,
                                                log_end: date | None) -> None:
    try:
        prep = prepare(_table(rows), as_of=T, horizon=horizon, log_end=log_end)
    except BacktestInputError:
        return  # T outside what is left of the log, or nothing left: refused, with a reason
    ex = prep.exclusions()
    named = {r[0] for r in rows if r[0]}
    assert ex.accounts_in_log == len(named)
    assert ex.accounts_included + sum(ex.accounts_excluded.values()) == ex.accounts_in_log
    assert ex.accounts_included == len(prep.ids) == prep.features.num_rows
    assert prep.log.table.num_rows + sum(ex.rows_excluded.values()) <= ex.rows_read == len(rows)
    out = prep.outcomes
    assert out.n == len(prep.ids)
    assert int(out.churned.sum()) + int((~out.churned).sum()) == out.n
    assert np.all(out.churned == (out.horizon_purchases == 0))
    assert np.all(out.horizon_revenue >= 0) and np.all(out.prior_revenue >= 0)
    flagged = np.asarray([i % 2 == 0 for i in range(out.n)])
    for m in (flag_row("x", flagged, out).churned, flag_row("x", flagged, out).declined):
        for v in (m.precision, m.recall):
            assert v is None or 0.0 <= v <= 1.0
        assert m.true_positives <= min(m.flagged, m.positives)
    stake = revenue_at_stake("x", flagged, out)
    assert stake.lost_flagged <= stake.prior_revenue_flagged + 1e-6
    assert stake.lost_flagged + stake.lost_missed <= stake.prior_revenue_all + 1e-6


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.floats(0, 1)), min_size=2, max_size=80))
def test_auc_difference_is_bounded_and_its_interval_holds_it(data: list[tuple[bool, int, float]]) -> None:
    y = np.asarray([d[0] for d in data])
    a = np.asarray([float(d[1]) for d in data])
    b = np.asarray([d[2] for d in data])
    c = compare("a", y, a, {"b": b}, level=0.95)[0]
    if c.difference is None:
        assert y.all() or not y.any()
        return
    assert -1.0 <= c.difference <= 1.0
    assert c.ci is not None and c.ci[0] <= c.difference + 1e-12 and c.difference - 1e-12 <= c.ci[1]


clean_row = st.tuples(st.sampled_from(["A", "B", "C", "D", "E", "F", "G"]), good_date,
                      st.floats(0, 1000, allow_nan=False).map(lambda v: f"{v:.2f}"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(clean_row, min_size=1, max_size=40), horizon=st.integers(1, 60), extra=st.integers(0, 90))
def test_cutting_the_log_after_the_horizon_changes_no_account_and_no_outcome(
        rows: list[tuple[str, str, str]], horizon: int, extra: int) -> None:
    # an observation window: a backtest at T over (T, T + H] reads nothing after T + H, so where the log
    # is cut past that day must not matter. Dropping the accounts that order after the cut (what
    # --log-end did) kept exactly the ones still active and inflated the churn measured
    cut = T + timedelta(days=horizon + extra)
    try:
        a = prepare(_table(rows), as_of=T, horizon=horizon, log_end=cut)
    except BacktestInputError:
        return  # T before the first order, no account left: the longer log is refused or differs for that reason
    b = prepare(_table(rows), as_of=T, horizon=horizon, log_end=date(2030, 1, 1))
    assert a.ids == b.ids
    assert a.features.equals(b.features)
    assert np.array_equal(a.outcomes.churned, b.outcomes.churned)
    assert np.array_equal(a.outcomes.horizon_revenue, b.outcomes.horizon_revenue)
    assert np.array_equal(a.outcomes.value_decline, b.outcomes.value_decline)
    # an account whose every order is past the cut is not in the cut log at all: only the broken-row count compares
    assert a.exclusions().accounts_excluded["bad_rows"] == b.exclusions().accounts_excluded["bad_rows"] == 0
