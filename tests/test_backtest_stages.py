"""Backtest stages, each against hand-computed values: purchase days, outcomes, flags, rules, revenue
at stake, stability, the paired AUC comparison, the sweep's parameter override."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from accountrules.backtest import BacktestInputError, parse_sweep, with_params
from accountrules.backtest.flags import flag_masks, flag_row, revenue_at_stake, rule_rows
from accountrules.backtest.history import day_number, history_of
from accountrules.backtest.log import read_log
from accountrules.backtest.outcomes import outcomes
from accountrules.backtest.scores import compare
from accountrules.backtest.stability import stability
from accountrules.policy import load_policy

np: Any = pytest.importorskip("numpy")
pa: Any = pytest.importorskip("pyarrow")

T = date(2024, 3, 31)
H = 30  # outcome window (2024-03-31, 2024-04-30]; the window before T is (2024-03-01, 2024-03-31]


def _log(rows: list[tuple[str, str, float]]) -> Any:
    ids, days, amounts = zip(*rows, strict=True)
    return read_log(pa.table({"account_id": list(ids), "date": list(days), "amount": list(amounts)}))


LOG = [
    ("A", "2024-03-10", 100.0), ("A", "2024-03-10", 50.0), ("A", "2024-04-10", 60.0),  # two rows one day
    ("B", "2024-01-05", 10.0), ("B", "2024-03-20", 40.0),                              # B stops: churned
    ("C", "2024-02-01", 30.0), ("C", "2024-04-30", 30.0),                              # on the last day: not churned
    ("D", "2024-04-05", 5.0),                                                          # first order after T
    ("E", "2024-03-15", 80.0), ("E", "2024-04-02", 40.0),                              # exactly half: decline
]


def test_history_collapses_a_day_and_cuts_windows_open_closed() -> None:
    h = history_of(_log(LOG))
    assert list(h.ids) == ["A", "B", "C", "D", "E"]
    assert h.day.size == 9  # A's two rows of 2024-03-10 are one purchase
    t = day_number(T)
    assert list(h.count(h.between(None, t))) == [1, 2, 1, 0, 1]
    assert list(h.revenue(h.between(t, t + H))) == [60.0, 0.0, 30.0, 5.0, 40.0]
    assert list(h.first_day() <= t) == [True, True, True, False, True]


def test_outcomes_churn_and_value_decline() -> None:
    h = history_of(_log(LOG))
    t = day_number(T)
    keep = h.first_day() <= t
    out = outcomes(h, keep, t, H, 0.5)
    # A B C E
    assert list(out.churned) == [False, True, False, False]
    assert list(out.prior_revenue) == [150.0, 40.0, 0.0, 80.0]
    assert list(out.horizon_revenue) == [60.0, 0.0, 30.0, 40.0]
    # A: 60 <= 75 yes; B: churned with revenue before: yes; C: nothing before to fall from; E: 40 <= 40 yes
    assert list(out.value_decline) == [True, True, False, True]
    with pytest.raises(ValueError):
        outcomes(h, keep, t, H, 1.0)


def _out() -> Any:
    h = history_of(_log(LOG))
    t = day_number(T)
    return outcomes(h, h.first_day() <= t, t, H, 0.5)


COLS = {
    "churn_kind": ["none", "competitor", "none", "none"],
    "churn_risk": ["high", "high", "low", "medium"],
    "churn_rule": ["risk-high-recency", "competitor-moved", None, "risk-medium-recency"],
    "tier_rule": [None, None, None, None],
}


def test_flags_measure_precision_recall_lift() -> None:
    out = _out()
    masks = flag_masks(COLS, ["none", "competitor", "expelled"])
    assert set(masks) == {"kind:competitor", "kind:expelled", "kind:any", "risk:high", "risk:medium", "risk:low",
                          "risk:high+medium"}
    row = flag_row("risk:high", masks["risk:high"], out)
    # flagged A, B; churned: B only. base rate 1/4
    assert row.accounts == 2 and row.churn_rate == 0.5
    assert (row.churned.precision, row.churned.recall, row.churned.lift) == (0.5, 1.0, 2.0)
    assert row.decline_rate == 1.0 and row.declined.recall == pytest.approx(2 / 3)
    empty = flag_row("kind:expelled", masks["kind:expelled"], out)
    assert empty.accounts == 0 and empty.churn_rate is None and empty.churned.precision is None
    assert flag_masks({"tier": ["iron"]}, ["none"]) == {}


def test_rule_rows_count_what_each_rule_decided() -> None:
    rows = rule_rows(COLS, _out())
    churn = {r.rule: r for r in rows if r.section == "churn"}
    assert churn["competitor-moved"].accounts == 1 and churn["competitor-moved"].churn_rate == 1.0
    assert churn["competitor-moved"].churn_lift == 4.0
    assert churn["(default)"].accounts == 1 and churn["(default)"].churn_rate == 0.0
    assert sum(r.accounts for r in rows if r.section == "churn") == 4
    tier = [r for r in rows if r.section == "tier"]
    assert len(tier) == 1 and tier[0].rule == "(default)" and tier[0].accounts == 4


def test_revenue_at_stake() -> None:
    out = _out()
    flagged = np.array([True, False, False, True])  # A and E flagged; B churned unflagged
    r = revenue_at_stake("x", flagged, out)
    assert (r.flagged_accounts, r.prior_revenue_all, r.prior_revenue_flagged) == (2, 270.0, 230.0)
    assert (r.horizon_revenue_flagged, r.lost_flagged, r.lost_missed) == (100.0, 0.0, 40.0)


def test_stability_matrix() -> None:
    s = stability("tier", ["gold", "gold", "iron", None], ["gold", "iron", "iron", "iron"])
    assert (s.accounts, s.same, s.share_same) == (4, 2, 0.5)
    assert s.matrix == {"(none)": {"iron": 1}, "gold": {"gold": 1, "iron": 1}, "iron": {"iron": 1}}


def _brute_auc(y: Any, s: Any) -> float:
    pos, neg = s[y], s[~y]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_compare_difference_is_the_auc_difference_with_an_interval_around_it() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.4
    good = y * 1.0 + rng.normal(0, 0.7, 300)
    tied = np.round(good)  # heavy ties
    noise = rng.random(300)
    res = {c.baseline: c for c in compare("s", y, good, {"tied": tied, "noise": noise, "self": good}, level=0.95)}
    assert res["noise"].difference == pytest.approx(_brute_auc(y, good) - _brute_auc(y, noise))
    assert res["tied"].difference == pytest.approx(_brute_auc(y, good) - _brute_auc(y, tied))
    lo, hi = res["noise"].ci  # type: ignore[misc]
    assert lo < res["noise"].difference < hi and res["noise"].verdict == "beats"
    assert res["self"].difference == 0.0 and res["self"].verdict == "ties"
    reverse = compare("noise", y, noise, {"good": good}, level=0.95)[0]
    assert reverse.verdict == "loses"
    one_class = compare("s", np.zeros(5, bool), np.arange(5.0), {"b": np.arange(5.0)}, level=0.95)[0]
    assert one_class.difference is None and one_class.verdict is None


@pytest.mark.parametrize(("text", "name", "values"), [
    ("params.risk_high_recency_days=30:180:15", "risk_high_recency_days", list(range(30, 181, 15))),
    ("risk_high_revenue_trend=0.3:0.6:0.1", "risk_high_revenue_trend", [0.3, 0.4, 0.5, 0.6]),
    ("params.x=5:5:1", "x", [5]),
])
def test_parse_sweep(text: str, name: str, values: list[float]) -> None:
    got_name, got = parse_sweep(text)
    assert got_name == name and got == pytest.approx(values)


@pytest.mark.parametrize("text", ["params.x=1:2", "x=a:b:c", "x=5:1:1", "x=1:2:0", "x=0:100000:1", "=1:2:1"])
def test_parse_sweep_refuses(text: str) -> None:
    with pytest.raises(BacktestInputError):
        parse_sweep(text)


def test_with_params_changes_the_decision_and_not_the_policy() -> None:
    policy = load_policy("express")
    account = {"id": "K", "transactions": {"recency_days": 45, "annual_revenue": 100.0, "annual_profit": 10.0,
                                           "marketing_cost": 1.0}}
    as_of = date(2026, 1, 1)
    base = policy.decide(account, as_of=as_of, portfolio=policy.portfolio_stats([account]))
    lower = with_params(policy, {"risk_high_recency_days": 40})
    changed = lower.decide(account, as_of=as_of, portfolio=lower.portfolio_stats([account]))
    assert base.churn is not None and changed.churn is not None
    assert (base.churn.risk, changed.churn.risk) == ("medium", "high")
    assert policy.spec.params["risk_high_recency_days"] == 60
    assert lower.spec.params["risk_high_recency_days"] == 40
    with pytest.raises(BacktestInputError, match="no parameter"):
        with_params(policy, {"risk_high_recency_dayz": 1})


def test_dates_are_day_numbers() -> None:
    assert day_number(date(1970, 1, 2)) == 1
    assert day_number(T + timedelta(days=H)) - day_number(T) == H

